"""One array's HTTP session: login, the session cookie, the concurrency cap, retries, error mapping.

Each call is authenticated with the array's session cookie (logging in on first use and
again when the session expires, as infinisdk does on a 401), capped in concurrency,
retried with backoff when that is safe (:mod:`.retry`), and turned into a :class:`Reply`
or an :class:`~.errors.ArrayError`. On ``403 REMOTE_PERMISSION_REQUIRED`` it is repeated
once with the peer's credentials, if the client was given a way to find them
(:mod:`.remote`). Credentials stay inside: no log line, ``repr`` or exception shows
headers or request bodies.
"""

from __future__ import annotations

import asyncio
import dataclasses
import http.cookiejar
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import httpx
import stamina
from pydantic import SecretStr

from replica_operator import __version__
from replica_operator.array.errors import (
    CLIENT_CLOSED,
    ArrayError,
    OutcomeUnknown,
    RemoteAuthorizationRequired,
    Unavailable,
    error_from_response,
    error_from_transport,
)
from replica_operator.array.observe import Observer, RequestRecord
from replica_operator.array.remote import REMOTE_AUTHORIZATION_HEADER
from replica_operator.array.retry import RetryPolicy, is_idempotent, should_retry

__all__ = ["API_PREFIX", "NO_BODY", "SESSION_COOKIE", "ArraySession", "Reply"]

log = logging.getLogger("replica_operator.array")

API_PREFIX = "/api/rest"
SESSION_COOKIE = "JSESSIONID"
NO_BODY: Any = object()

_LOGIN = "/users/login"
_JSON = "application/json"

#: Given the path of a refused request, the ``X-Remote-Authorization`` value to repeat it with, or None.
RemoteAuthorizer = Callable[[str], Awaitable[str | None]]


def user_agent(shard: str | None = None) -> str:
    """``infinibox-replica-operator/<version> [shard/<shard>] (<pod>)``: the pod (POD_NAME) in an
    array's audit log tells which of the operator's pods sent a request (the standby must send
    none), the shard which shard it works for (none: the default shard)."""
    pod = os.environ.get("POD_NAME")
    shard_part = f" shard/{shard}" if shard else ""
    return f"infinibox-replica-operator/{__version__}{shard_part}" + (f" ({pod})" if pod else "")


@dataclass(frozen=True, slots=True)
class _Call:
    """One API call, prepared; its ``repr`` (which retry logs show) leaves the body and headers out."""

    method: str
    endpoint: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    content: bytes | None = field(default=None, repr=False)
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    idempotent: bool = True


class Reply(NamedTuple):
    result: Any
    metadata: Mapping[str, Any]
    response: httpx.Response


class ArraySession:
    """The HTTP side of :class:`~.client.InfiniBoxClient` (see there for the options)."""

    def __init__(
        self,
        name: str,
        http_client: httpx.AsyncClient,
        *,
        username: str,
        password: SecretStr,
        retry: RetryPolicy,
        max_concurrent_requests: int,
        observer: Observer | None,
    ) -> None:
        self.name = name
        self._http = http_client
        self._username = username
        self._password = password
        self._observer = observer
        self._retrying = stamina.AsyncRetryingCaller(
            attempts=retry.attempts,
            timeout=retry.timeout,
            wait_initial=retry.wait_initial,
            wait_max=retry.wait_max,
            wait_jitter=retry.wait_jitter,
            wait_exp_base=retry.wait_exp_base,
        ).on(should_retry)
        self._slots = asyncio.Semaphore(max_concurrent_requests)
        self._login_lock = asyncio.Lock()
        self._token: str | None = None  # the JSESSIONID of the current session
        self.remote_authorizer: RemoteAuthorizer | None = None

    @staticmethod
    def build_http(
        base_url: httpx.URL,
        *,
        transport: httpx.AsyncBaseTransport,
        timeout: httpx.Timeout,
        agent: str | None = None,
    ) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=base_url,
            transport=transport,
            timeout=timeout,
            headers={"Accept": _JSON, "User-Agent": agent or user_agent()},
            # The session cookie is sent by hand (see _exchange), so nothing else ever is.
            cookies=http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[])),
            follow_redirects=False,
            trust_env=False,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def login(self) -> None:
        async def login_once() -> None:
            async with self._login_lock:
                await self._login()

        await self._retrying(login_once)

    async def call(
        self,
        method: str,
        template: str,
        *,
        ident: int | None = None,
        params: Sequence[tuple[str, str]] = (),
        body: Any = NO_BODY,
        headers: tuple[tuple[str, str], ...] = (),
        member: int | None = None,
    ) -> Reply:
        """One API call: authenticated, repeated when safe, answered or mapped to an ``ArrayError``.

        ``body`` is sent as JSON when given (``None`` sends JSON ``null``). ``member`` fills a
        ``{member}`` in the template (``/cgs/{id}/members/{member}``; the endpoint label keeps it).
        """
        ids = {"id": int(ident)} if ident is not None else {}
        if member is not None:
            ids["member"] = int(member)
        path = API_PREFIX + (template.format(**ids) if ids else template)
        if method != "GET":
            params = (*params, ("approved", "true"))  # infinisdk's convention for every change (§8)
        call = _Call(
            method=method,
            endpoint=API_PREFIX + template,
            path=path,
            params=tuple(params),
            content=None if body is NO_BODY else json.dumps(body).encode(),
            headers=headers,
            idempotent=is_idempotent(method),
        )
        return await self._retrying(self._attempt, call)

    async def _attempt(self, call: _Call) -> Reply:
        """One try; repeated once with the peer's credentials if the array asks for them."""
        try:
            return await self._authenticated(call)
        except RemoteAuthorizationRequired as refusal:
            header = await self.remote_authorizer(call.path) if self.remote_authorizer else None
            if header is None:
                raise RemoteAuthorizationRequired(
                    self.name,
                    "the operation needs the peer array's credentials and none are available for it",
                    status_code=refusal.status_code,
                    code=refusal.code,
                    reasons=refusal.reasons,
                ) from None
        log.info("%s: repeating with the peer's credentials", self.name, extra={"array": self.name})
        authorized = dataclasses.replace(call, headers=(*call.headers, (REMOTE_AUTHORIZATION_HEADER, header)))
        try:
            return await self._authenticated(authorized)
        except RemoteAuthorizationRequired as refusal:
            raise RemoteAuthorizationRequired(
                self.name,
                "the peer array refused the credentials sent for it",
                status_code=refusal.status_code,
                code=refusal.code,
                reasons=refusal.reasons,
            ) from None

    async def _authenticated(self, call: _Call) -> Reply:
        """With the current session, and once more with a new one if the array says it expired."""
        token = await self._session_token()
        try:
            return await self._exchange(call, token)
        except ArrayError as error:
            if error.status_code != 401:
                raise
        log.info("%s: the session expired; logging in again", self.name, extra={"array": self.name})
        return await self._exchange(call, await self._renew_session(token))

    async def _session_token(self) -> str:
        token = self._token
        if token is None:
            async with self._login_lock:
                token = self._token or await self._login()
        return token

    async def _renew_session(self, stale: str) -> str:
        """Log in again unless a concurrent caller already did since ``stale`` was refused."""
        async with self._login_lock:
            if self._token is None or self._token == stale:
                self._token = None
                return await self._login()
            return self._token

    async def _login(self) -> str:
        """``POST users/login`` with the credentials in the body; the array answers with a session cookie."""
        call = _Call(
            method="POST",
            endpoint=API_PREFIX + _LOGIN,
            path=API_PREFIX + _LOGIN,
            params=(("approved", "true"),),
            content=json.dumps(
                {"username": self._username, "password": self._password.get_secret_value()}
            ).encode(),
            idempotent=True,  # a second session does no harm
        )
        reply = await self._exchange(call, None)
        token = reply.response.cookies.get(SESSION_COOKIE)
        if not token:
            raise ArrayError(
                self.name, "the array accepted the login but set no session cookie", code="INVALID_RESPONSE"
            )
        self._token = token
        log.debug("%s: logged in", self.name, extra={"array": self.name})
        return token

    async def _exchange(self, call: _Call, session: str | None) -> Reply:
        """Send one HTTP request within the concurrency cap; report it; map failures to ``ArrayError``."""
        headers = dict(call.headers)
        if session is not None:
            headers["Cookie"] = f"{SESSION_COOKIE}={session}"
        if call.content is not None:
            headers["Content-Type"] = _JSON
        request = self._http.build_request(
            call.method, call.path, params=call.params, content=call.content, headers=headers
        )
        started = time.perf_counter()
        status: int | None = None
        failure: str | None = None
        try:
            if self._http.is_closed:  # the operator replaced this client while a pass still held it
                raise Unavailable(
                    self.name, "the connection was closed; it is being replaced", code=CLIENT_CLOSED
                )
            async with self._slots:
                response = await self._http.send(request)
            status = response.status_code
            return self._reply(call, response)
        except httpx.HTTPError as error:
            mapped = error_from_transport(self.name, error, idempotent=call.idempotent)
            failure = type(mapped).__name__
            raise mapped from error
        except RuntimeError as error:
            if not self._http.is_closed:
                raise
            failure = CLIENT_CLOSED  # closed while the request was in flight
            closed = Unavailable(
                self.name, "the connection was closed; it is being replaced", code=CLIENT_CLOSED
            )
            raise closed from error
        except BaseException as error:
            failure = type(error).__name__
            raise
        finally:
            self._report(call, status, failure, time.perf_counter() - started)

    def _reply(self, call: _Call, response: httpx.Response) -> Reply:
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = None
        if not response.is_success:
            raise error_from_response(self.name, response.status_code, body, idempotent=call.idempotent)
        if not isinstance(body, Mapping) or "result" not in body:
            cls = Unavailable if call.idempotent else OutcomeUnknown
            raise cls(
                self.name,
                "the answer is not an InfiniBox envelope"
                + ("" if call.idempotent else "; the request may or may not have been carried out"),
                status_code=response.status_code,
                code="INVALID_RESPONSE",
            )
        metadata = body.get("metadata")
        return Reply(body["result"], metadata if isinstance(metadata, Mapping) else {}, response)

    def _report(self, call: _Call, status: int | None, failure: str | None, seconds: float) -> None:
        log.debug(
            "%s: %s %s -> %s in %.1f ms",
            self.name,
            call.method,
            call.endpoint,
            status if status is not None else failure,
            seconds * 1000,
            extra={"array": self.name},
        )
        if self._observer is None:
            return
        record = RequestRecord(self.name, call.method, call.endpoint, status, failure, seconds)
        try:
            self._observer(record)
        except Exception:
            log.warning(
                "%s: the request observer failed", self.name, exc_info=True, extra={"array": self.name}
            )
