"""A recording HTTP proxy on loopback: forwards every request to one array and notes what was sent.

It stands between a client (infinisdk, or the operator's) and the simulator, so both are
seen on the same wire. A :class:`Wire` keeps what the differential test compares: method,
path, query parameters, the ``X-INFINIDAT-RAW-RESPONSE`` header and the JSON body.
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx
import uvicorn

__all__ = ["RecordingProxy", "Wire"]

_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "host"}
)
#: Sentinel for "no body at all" (as opposed to a JSON ``null``).
NO_BODY = "<no body>"

Scope = dict[str, Any]
Receive = Any
Send = Any


@dataclass(frozen=True)
class Wire:
    """One request as it crossed the proxy."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    body: Any
    raw_response: bool


def _body(content: bytes) -> Any:
    if not content:
        return NO_BODY
    try:
        return json.loads(content)
    except ValueError:
        return content.decode(errors="replace")


class RecordingProxy:
    """``async with RecordingProxy(upstream_url) as proxy``: ``proxy.url`` forwards to ``upstream_url``."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.records: list[Wire] = []
        self.url = ""
        self._http = httpx.AsyncClient(timeout=30.0, trust_env=False)
        self._server: uvicorn.Server | None = None
        self._socket: socket.socket | None = None

    def take(self) -> list[Wire]:
        """The requests since the last ``take``."""
        taken, self.records = self.records, []
        return taken

    async def __aenter__(self) -> RecordingProxy:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(
            self._app, interface="asgi3", lifespan="off", log_config=None, access_log=False
        )
        config.load()
        server = uvicorn.Server(config)
        server.lifespan = config.lifespan_class(config)
        await server.startup(sockets=[sock])
        self._server, self._socket = server, sock
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None and self._socket is not None:
            self._server.should_exit = True
            await self._server.shutdown(sockets=[self._socket])
            self._socket.close()
        await self._http.aclose()

    async def _app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        content = await _read_body(receive)
        headers = [
            (k.decode(), v.decode()) for k, v in scope["headers"] if k.decode().lower() not in _HOP_BY_HOP
        ]
        query = scope.get("query_string", b"").decode()
        url = self.upstream + scope["path"] + (f"?{query}" if query else "")
        self.records.append(
            Wire(
                method=scope["method"],
                path=scope["path"],
                query=tuple(httpx.QueryParams(query).multi_items()),
                body=_body(content),
                raw_response=any(k.lower() == "x-infinidat-raw-response" for k, _ in headers),
            )
        )
        answer = await self._http.request(scope["method"], url, headers=headers, content=content)
        reply_headers = [
            (k.encode(), v.encode()) for k, v in answer.headers.multi_items() if k.lower() not in _HOP_BY_HOP
        ]
        reply_headers.append((b"content-length", str(len(answer.content)).encode()))
        await send({"type": "http.response.start", "status": answer.status_code, "headers": reply_headers})
        await send({"type": "http.response.body", "body": answer.content})


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)
