"""The ASGI application of one simulated system's port.

It carries out what the other modules decide: counts requests (in flight and their
high-water mark), logs them, applies injected faults (latency, 5xx answers, dropped
connections), parses the request, calls :class:`~ibox_sim.api.RestApi` under the
simulator lock and encodes the JSON answer. ``/_sim/`` goes to the admin API.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import cookie_parser

from ibox_sim.api import API_PREFIX, ApiRequest, Reply, RestApi
from ibox_sim.config import Latency
from ibox_sim.errors import ApiError, error_body
from ibox_sim.faults import Decision
from ibox_sim.simulator import Simulator

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger(__name__)

_NO_LATENCY = Latency()

#: How long a dropped request waits for the server to notice the closed socket.
_DROP_GRACE_SECONDS = 5.0


def encode(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


async def send_json(send: Send, status: int, body: Any) -> None:
    await send_payload(send, status, encode(body))


async def send_payload(
    send: Send,
    status: int,
    payload: bytes,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
    version: str | None = None,
) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    if version:
        headers.append((b"x-infinidat-version", version.encode()))
    headers.extend(extra_headers or [])
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def drop_connection(receive: Receive, send: Send) -> None:
    """Close the client's socket without answering.

    ASGI has no verb for this, so the server's transport is reached through the ``send``
    callable (uvicorn binds it to the request cycle, which holds the transport). Without one
    the exception makes the server answer 500, which is still a failure the client sees.
    """
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise RuntimeError("cannot drop the connection: no transport")
    transport.close()

    async def _until_disconnected() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(_until_disconnected(), _DROP_GRACE_SECONDS)


class SystemApp:
    """One system's API and the shared admin API, as an ASGI app."""

    def __init__(
        self, sim: Simulator, api: RestApi, system: str, admin: ASGIApp, *, secure: bool = False
    ) -> None:
        self.sim = sim
        self.api = api
        self.system = system
        self.admin = admin
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if path == "/_sim" or path.startswith("/_sim/"):
            client = scope.get("client")
            if client is not None and client[0] not in ("127.0.0.1", "::1", "localhost"):
                await send_json(
                    send, 403, error_body("FORBIDDEN", "the admin API answers loopback clients only")
                )
                return
            await self.admin(scope, receive, send)
            return
        await self._api(scope, receive, send)

    async def _api(self, scope: Scope, receive: Receive, send: Send) -> None:
        sim, system = self.sim, self.system
        method: str = scope["method"]
        path: str = scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        started, t0 = sim.clock.now(), time.perf_counter()
        status, code, entities = 0, None, None
        request: ApiRequest | Reply | None = None
        reply: Reply | None = None  # the array's own answer, when the request reached it
        client = _header(scope, b"user-agent")
        sim.stats.begin(system)
        try:
            request = await _parse(scope, receive, method, path, query)
            entities = _create_entities(request)
            await asyncio.sleep(self.profile_delay(method, path))
            decision: Decision = sim.faults.decide(system, path, method)
            if decision.after:
                reply = self._answer(request, method, path)
            if decision.latency_seconds > 0:
                await asyncio.sleep(decision.latency_seconds)
            if decision.action == "drop":
                await drop_connection(receive, send)
                return
            if decision.action == "error" and decision.status is not None:
                status, code = decision.status, decision.code or "INTERNAL_ERROR"
                await send_json(send, status, error_body(code, "injected fault"))
                return
            if reply is None:
                reply = self._answer(request, method, path)
            status, code = reply.status, reply.error_code
            headers = [(b"set-cookie", self._cookie(k, v)) for k, v in reply.set_cookies.items()]
            await send_payload(send, status, reply.encoded(), headers, version=sim.system(system).version)
        finally:
            sim.stats.end(system)
            sim.log.add(
                system=system,
                method=method,
                path=path,
                query=query,
                status=status,
                started=started,
                duration_ms=(time.perf_counter() - t0) * 1000,
                error_code=code,
                entities=entities,
                client=client,
                array_status=reply.status if reply is not None and isinstance(request, ApiRequest) else 0,
            )

    def profile_delay(self, method: str, path: str) -> float:
        """The latency profile's delay for this request's endpoint class, in seconds."""
        latency = self.sim.world.config.latency
        if path.startswith(API_PREFIX + "/") and latency != _NO_LATENCY:
            kind = self.api.latency_class(method, path[len(API_PREFIX) :])
            return float(getattr(latency, kind)) / 1000.0
        return 0.0

    def _answer(self, request: ApiRequest | Reply, method: str, path: str) -> Reply:
        if isinstance(request, Reply):  # the request could not be parsed
            return request
        try:
            with self.sim.lock:
                return self.api.handle(self.system, request)
        except ApiError as error:  # raised outside handle's own try, e.g. unknown system
            return Reply(error.status, error.body())
        except Exception:  # a simulator bug: answer like an array would, keep serving
            log.exception("%s %s on %s failed", method, path, self.system)
            return Reply(500, error_body("INTERNAL_ERROR", "the simulator failed; see its log"))

    def _cookie(self, name: str, value: str | None) -> bytes:
        secure = "; Secure" if self.secure else ""
        if value is None:
            return f"{name}=; Path=/; Max-Age=0; HttpOnly{secure}".encode()
        return f"{name}={value}; Path=/; HttpOnly{secure}".encode()


def _header(scope: Scope, name: bytes) -> str:
    """One request header's value (empty when absent)."""
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return ""


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _parse(scope: Scope, receive: Receive, method: str, path: str, query: str) -> ApiRequest | Reply:
    """The request as the API sees it, or the error reply when it is not an API request or not JSON."""
    if path != API_PREFIX and not path.startswith(API_PREFIX + "/"):
        return Reply(404, error_body("ROUTE_NOT_FOUND", f"no route for {method} {path}"))
    raw = await _read_body(receive)
    try:
        body = json.loads(raw) if raw.strip() else None
    except ValueError:
        return Reply(400, error_body("BAD_REQUEST", "the request body is not valid JSON"))
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    return ApiRequest(
        method=method,
        path=path[len(API_PREFIX) :] or "/",
        params=parse_qsl(query, keep_blank_values=True),
        body=body,
        headers=headers,
        cookies=cookie_parser(headers.get("cookie", "")),
    )


def _create_entities(request: ApiRequest | Reply) -> list[int] | None:
    """The local entities a ``POST /replicas`` names (for counting creates per entity in the log)."""
    if (
        not isinstance(request, ApiRequest)
        or request.method != "POST"
        or request.path.rstrip("/") != "/replicas"
    ):
        return None
    body = request.body if isinstance(request.body, dict) else {}
    found = [body.get("local_cg_id"), body.get("local_entity_id")]
    if body.get("local_cg_id") is None:
        pairs = body.get("entity_pairs")
        found += (
            [p.get("local_entity_id") for p in pairs if isinstance(p, dict)]
            if isinstance(pairs, list)
            else []
        )
    return sorted({int(i) for i in found if isinstance(i, int) and not isinstance(i, bool)})
