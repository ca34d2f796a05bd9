"""``InfiniBoxClient``: the operator's only way to talk to an InfiniBox array.

One client per array, one ``httpx.AsyncClient`` underneath::

    async with InfiniBoxClient("https://ibox-1.example", username="admin", password=secret,
                               ca_pem=ca) as array:
        replica = await array.get_replica(1000005)

Each call is authenticated with the array's session cookie (logging in on first use and
again when the session expires), capped in concurrency, retried with backoff when that is
safe (:mod:`.retry`), and turned into a typed result or an :class:`~.errors.ArrayError`.
Credentials stay inside: the password is a ``SecretStr``, no URL carries them, and no
log line, ``repr`` or exception shows headers or request bodies.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import json
import logging
import math
import os
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from types import TracebackType
from typing import Any, NamedTuple, Protocol, Self, TypeVar

import httpx
import stamina
from pydantic import BaseModel, SecretStr, ValidationError

from replica_operator import __version__
from replica_operator.array.errors import (
    ArrayError,
    OutcomeUnknown,
    Unavailable,
    error_from_response,
    error_from_transport,
)
from replica_operator.array.models import (
    ConsistencyGroup,
    EntityType,
    Filesystem,
    Link,
    Page,
    Pool,
    Replica,
    ReplicaPage,
    ReplicationType,
    SystemInfo,
    Volume,
)
from replica_operator.array.observe import Observer, RequestRecord
from replica_operator.array.query import MAX_PAGE_SIZE, Filters, eq, filter_params, page_params
from replica_operator.array.requests import CreateReplicaRequest, to_ms
from replica_operator.array.retry import RetryPolicy, is_idempotent, should_retry
from replica_operator.array.tls import ssl_context

__all__ = ["API_PREFIX", "DEFAULT_TIMEOUT", "InfiniBoxClient"]

log = logging.getLogger("replica_operator.array")

API_PREFIX = "/api/rest"
SESSION_COOKIE = "JSESSIONID"
#: Connect fast, give the array time to answer, never wait long for a free connection.
DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=10.0, pool=10.0)

_LOGIN = "/users/login"
_JSON = "application/json"
_NO_BODY: Any = object()

T = TypeVar("T", bound="_Identified")
M = TypeVar("M", bound=BaseModel)


class _Identified(Protocol):
    @property
    def id(self) -> int: ...


@dataclass(frozen=True, slots=True)
class _Call:
    """One API call, prepared; its ``repr`` (which retry logs show) leaves the body out."""

    method: str
    endpoint: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    content: bytes | None = field(default=None, repr=False)
    headers: tuple[tuple[str, str], ...] = ()
    idempotent: bool = True


class _Reply(NamedTuple):
    result: Any
    metadata: Mapping[str, Any]
    response: httpx.Response


class InfiniBoxClient:
    """An async client of one InfiniBox array's REST API.

    ``url`` is the array's management address (``https://host[:port]``); ``name`` labels
    logs, metrics and errors (default: the host). TLS is verified against ``ca_pem`` (PEM
    text) or ``ca_file``, else the default CAs; ``insecure=True`` turns checks off. At most
    ``max_concurrent_requests`` requests are in flight at once, however many callers wait.
    ``transport`` replaces the network (tests). Use a client from one event loop.
    """

    def __init__(
        self,
        url: str,
        *,
        username: str,
        password: SecretStr | str,
        name: str | None = None,
        ca_pem: str | None = None,
        ca_file: str | os.PathLike[str] | None = None,
        insecure: bool = False,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        max_concurrent_requests: int = 8,
        retry: RetryPolicy | None = None,
        observer: Observer | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        base = httpx.URL(url)
        if base.userinfo:
            raise ValueError("the array URL must not carry credentials; pass username and password")
        if base.scheme not in ("http", "https") or not base.host:
            raise ValueError("the array URL must look like https://host[:port]")
        if max_concurrent_requests < 1:
            raise ValueError("max_concurrent_requests must be at least 1")
        if transport is not None and (ca_pem is not None or ca_file is not None or insecure):
            raise ValueError("TLS options apply to the client's own transport, not to a given one")
        self.url = base.copy_with(path="/", query=None, fragment=None)
        self.name = name or (f"{base.host}:{base.port}" if base.port else base.host)
        self._username = username
        self._password = password if isinstance(password, SecretStr) else SecretStr(password)
        self._observer = observer
        policy = retry or RetryPolicy()
        self._retrying = stamina.AsyncRetryingCaller(
            attempts=policy.attempts,
            timeout=policy.timeout,
            wait_initial=policy.wait_initial,
            wait_max=policy.wait_max,
            wait_jitter=policy.wait_jitter,
            wait_exp_base=policy.wait_exp_base,
        ).on(should_retry)
        self._slots = asyncio.Semaphore(max_concurrent_requests)
        self._login_lock = asyncio.Lock()
        self._token: str | None = None  # the JSESSIONID of the current session
        if transport is None:
            limits = httpx.Limits(
                max_connections=max_concurrent_requests, max_keepalive_connections=max_concurrent_requests
            )
            verify = ssl_context(ca_pem=ca_pem, ca_file=ca_file, insecure=insecure)
            transport = httpx.AsyncHTTPTransport(verify=verify, limits=limits)
        self._http = httpx.AsyncClient(
            base_url=self.url,
            transport=transport,
            timeout=timeout,
            headers={"Accept": _JSON, "User-Agent": f"infinibox-replica-operator/{__version__}"},
            # The session cookie is sent by hand (see _exchange), so nothing else ever is.
            cookies=http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[])),
            follow_redirects=False,
            trust_env=False,
        )

    def __repr__(self) -> str:
        return f"<InfiniBoxClient {self.name!r} {self.url}>"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections (the array's session simply expires)."""
        await self._http.aclose()

    # -- session

    async def login(self) -> None:
        """Open a new session now; calls log in by themselves, so this is only needed to check credentials."""

        async def login_once() -> None:
            async with self._login_lock:
                await self._login()

        await self._retrying(login_once)

    async def get_system(self) -> SystemInfo:
        reply = await self._call("GET", "/system")
        return self._parse(SystemInfo, reply.result)

    # -- pools, datasets, consistency groups, links

    async def find_pool(self, name: str) -> Pool | None:
        return await self._find("/pools", self._parser(Pool), name)

    async def get_pool(self, pool_id: int) -> Pool:
        return self._parse(Pool, (await self._call("GET", "/pools/{id}", ident=pool_id)).result)

    async def find_volume(self, name: str) -> Volume | None:
        return await self._find("/volumes", self._parser(Volume), name)

    async def get_volume(self, volume_id: int) -> Volume:
        return self._parse(Volume, (await self._call("GET", "/volumes/{id}", ident=volume_id)).result)

    async def find_filesystem(self, name: str) -> Filesystem | None:
        return await self._find("/filesystems", self._parser(Filesystem), name)

    async def get_filesystem(self, filesystem_id: int) -> Filesystem:
        return self._parse(
            Filesystem, (await self._call("GET", "/filesystems/{id}", ident=filesystem_id)).result
        )

    async def find_snapshot(
        self, name: str, *, entity_type: EntityType = EntityType.VOLUME
    ) -> Volume | Filesystem | None:
        """A snapshot of a volume or filesystem by name (None if absent, or if ``name`` is not a snapshot)."""
        if entity_type is EntityType.VOLUME:
            found: Volume | Filesystem | None = await self.find_volume(name)
        elif entity_type is EntityType.FILESYSTEM:
            found = await self.find_filesystem(name)
        else:
            raise ValueError(f"snapshots are of volumes or filesystems, not {entity_type}")
        return found if found is not None and found.is_snapshot else None

    async def find_consistency_group(self, name: str) -> ConsistencyGroup | None:
        return await self._find("/cgs", self._parser(ConsistencyGroup), name)

    async def get_consistency_group(self, cg_id: int) -> ConsistencyGroup:
        return self._parse(ConsistencyGroup, (await self._call("GET", "/cgs/{id}", ident=cg_id)).result)

    async def list_cg_members(self, cg_id: int) -> list[Volume | Filesystem]:
        return [item async for item in self._iterate("/cgs/{id}/members", self._dataset, ident=cg_id)]

    async def find_link(self, name: str) -> Link | None:
        return await self._find("/links", self._parser(Link), name)

    async def get_link(self, link_id: int) -> Link:
        return self._parse(Link, (await self._call("GET", "/links/{id}", ident=link_id)).result)

    async def list_links(self) -> list[Link]:
        return [link async for link in self._iterate("/links", self._parser(Link))]

    # -- replicas: reading

    async def get_replica(self, replica_id: int) -> Replica:
        return self._parse(Replica, (await self._call("GET", "/replicas/{id}", ident=replica_id)).result)

    async def list_replicas(
        self, *, filters: Filters | None = None, page: int = 1, page_size: int = MAX_PAGE_SIZE
    ) -> ReplicaPage:
        """One page of replicas, sorted by id; ``filters`` maps field names to values (see :mod:`.query`)."""
        return await self._page(
            "/replicas", self._parser(Replica), filters=filters, page=page, page_size=page_size
        )

    async def iter_replicas(
        self, *, filters: Filters | None = None, page_size: int = MAX_PAGE_SIZE
    ) -> AsyncIterator[Replica]:
        """Every replica matching ``filters``, page by page (each replica once, even if pages shift)."""
        async for replica in self._iterate(
            "/replicas", self._parser(Replica), filters=filters, page_size=page_size
        ):
            yield replica

    async def list_all_replicas(
        self, filters: Filters | None = None, *, page_size: int = MAX_PAGE_SIZE
    ) -> list[Replica]:
        return [replica async for replica in self.iter_replicas(filters=filters, page_size=page_size)]

    async def find_replicas(
        self,
        *,
        local_entity_id: int | None = None,
        link_id: int | None = None,
        description: str | None = None,
        local_cg_id: int | None = None,
    ) -> list[Replica]:
        """Replicas matching every criterion given (all replicas if none is)."""
        criteria = {
            "local_entity_id": local_entity_id,
            "link_id": link_id,
            "description": description,
            "local_cg_id": local_cg_id,
        }
        return await self.list_all_replicas(
            {key: eq(value) for key, value in criteria.items() if value is not None}
        )

    # -- replicas: changing

    async def create_replica(self, request: CreateReplicaRequest) -> Replica:
        """Create a replica (and its peer on the remote array).

        Never repeated once it may have reached the array: if the answer is lost this
        raises :class:`~.errors.OutcomeUnknown`; look for the replica (e.g. with
        ``find_replicas(description=...)``) before creating it again.
        """
        reply = await self._call("POST", "/replicas", body=request.to_body())
        return await self._replica_from(reply.result, None)

    async def update_replica(
        self,
        replica_id: int,
        *,
        rpo: timedelta | None = None,
        sync_interval: timedelta | None = None,
        description: str | None = None,
    ) -> Replica:
        """Change the RPO, the sync interval (ASYNC only) and/or the description."""
        changes = {"rpo_value": to_ms(rpo), "sync_interval": to_ms(sync_interval), "description": description}
        body = {key: value for key, value in changes.items() if value is not None}
        if not body:
            raise ValueError("nothing to update: give rpo, sync_interval or description")
        reply = await self._call("PUT", "/replicas/{id}", ident=replica_id, body=body)
        return await self._replica_from(reply.result, replica_id)

    async def change_type(
        self,
        replica_id: int,
        to: ReplicationType,
        *,
        rpo: timedelta | None = None,
        sync_interval: timedelta | None = None,
    ) -> None:
        """Turn an ASYNC replica SYNC, or a SYNC one ASYNC (optionally with its RPO and interval).

        The array refuses while the replica is INITIALIZING (:class:`~.errors.InvalidState`).
        """
        if to is ReplicationType.SYNC:
            if rpo is not None or sync_interval is not None:
                raise ValueError("rpo and sync_interval apply to ASYNC replicas only")
            body: dict[str, Any] = {}
        elif to is ReplicationType.ASYNC:
            values = {"rpo_value": to_ms(rpo), "sync_interval": to_ms(sync_interval)}
            body = {key: value for key, value in values.items() if value is not None}
        else:
            raise ValueError(f"a replica's type can change to ASYNC or SYNC, not {to}")
        await self._call(
            "POST", f"/replicas/{{id}}/change_type_to_{to.value.lower()}", ident=replica_id, body=body
        )

    async def suspend(self, replica_id: int) -> None:
        await self._call("POST", "/replicas/{id}/suspend", ident=replica_id)

    async def resume(self, replica_id: int) -> None:
        await self._call("POST", "/replicas/{id}/resume", ident=replica_id)

    async def sync_now(self, replica_id: int) -> None:
        """Start an ASYNC replication job now instead of at the next interval."""
        await self._call(
            "POST", "/replicas/{id}/sync", ident=replica_id, headers=(("X-INFINIDAT-RAW-RESPONSE", "true"),)
        )

    async def switch_role(self, replica_id: int) -> None:
        """Swap SOURCE and TARGET on both arrays (SYNC replicas; call it on the SOURCE)."""
        await self._call("POST", "/replicas/{id}/switch_role", ident=replica_id)

    async def change_role(self, replica_id: int) -> None:
        """Flip this side's role only (failover); the replica must be suspended or its link down."""
        await self._call("POST", "/replicas/{id}/change_role", ident=replica_id, body=None)

    async def delete_replica(
        self,
        replica_id: int,
        *,
        force_on_target: bool = False,
        force_if_remote_error: bool = False,
        force_if_no_remote_credentials: bool = False,
        retain_staging_area: bool | None = None,
        keep_serial_on_local: bool | None = None,
    ) -> Replica | None:
        """Delete a replica (from the SOURCE: its peer too); datasets are never deleted.

        Returns the replica as last seen when the array answers with it (with the ids of
        the snapshots kept by ``retain_staging_area``). A replica that is already gone
        raises :class:`~.errors.NotFound`, also when a repeated delete finds its own work done.
        """
        flags: dict[str, bool | None] = {
            "force_if_remote_error": force_if_remote_error or None,
            "force_on_target": force_on_target or None,
            "force_if_no_remote_credentials": force_if_no_remote_credentials or None,
            "keep_serial_on_local": keep_serial_on_local,
            "retain_staging_area": retain_staging_area,
        }
        params = tuple(
            (key, "true" if value else "false") for key, value in flags.items() if value is not None
        )
        reply = await self._call("DELETE", "/replicas/{id}", ident=replica_id, params=params)
        if isinstance(reply.result, Mapping):
            return self._parse(Replica, reply.result)
        return None

    # -- collections

    async def _find(self, endpoint: str, parse: Callable[[Any], T], name: str) -> T | None:
        found = await self._page(endpoint, parse, filters={"name": eq(name)}, page=1, page_size=1)
        return found.items[0] if found.items else None

    async def _page(
        self,
        endpoint: str,
        parse: Callable[[Any], T],
        *,
        ident: int | None = None,
        filters: Filters | None = None,
        page: int = 1,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Page[T]:
        params = (*filter_params(filters), *page_params(page, page_size))
        reply = await self._call("GET", endpoint, ident=ident, params=params)
        if not isinstance(reply.result, list):
            raise self._invalid(f"expected a list from {endpoint}")
        items = [parse(item) for item in reply.result]
        meta = reply.metadata
        size = _int(meta.get("page_size"), page_size) or page_size
        total = _int(meta.get("number_of_objects"), len(items))
        return Page(
            items=items,
            page=_int(meta.get("page"), page),
            page_size=size,
            pages_total=_int(meta.get("pages_total"), math.ceil(total / size)),
            number_of_objects=total,
        )

    async def _iterate(
        self,
        endpoint: str,
        parse: Callable[[Any], T],
        *,
        ident: int | None = None,
        filters: Filters | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> AsyncIterator[T]:
        """All pages in turn. Objects deleted meanwhile shift later ones forward; ids seen are skipped."""
        seen: set[int] = set()
        page = 1
        while True:
            current = await self._page(
                endpoint, parse, ident=ident, filters=filters, page=page, page_size=page_size
            )
            for item in current.items:
                if item.id not in seen:
                    seen.add(item.id)
                    yield item
            if not current.items or not current.has_next:
                return
            page += 1

    # -- parsing

    def _parse(self, model: type[M], data: Any) -> M:
        try:
            return model.model_validate(data)
        except ValidationError as error:
            where = ", ".join(
                ".".join(str(part) for part in e["loc"]) or "(root)" for e in error.errors()[:5]
            )
            raise self._invalid(f"unexpected {model.__name__} from the array (invalid: {where})") from None

    def _parser(self, model: type[M]) -> Callable[[Any], M]:
        return lambda data: self._parse(model, data)

    def _dataset(self, data: Any) -> Volume | Filesystem:
        kind = data.get("dataset_type") if isinstance(data, Mapping) else None
        if kind == EntityType.FILESYSTEM:
            return self._parse(Filesystem, data)
        return self._parse(Volume, data)

    async def _replica_from(self, result: Any, replica_id: int | None) -> Replica:
        """The replica a POST or PUT answered with, or read back when the answer is not the whole object."""
        if isinstance(result, Mapping):
            try:
                return Replica.model_validate(result)
            except ValidationError:
                replica_id = result.get("id") if isinstance(result.get("id"), int) else replica_id
        if replica_id is None:
            raise self._invalid("the array did not say which replica it created")
        return await self.get_replica(replica_id)

    def _invalid(self, message: str) -> ArrayError:
        return ArrayError(self.name, message, code="INVALID_RESPONSE")

    # -- requests

    async def _call(
        self,
        method: str,
        template: str,
        *,
        ident: int | None = None,
        params: Sequence[tuple[str, str]] = (),
        body: Any = _NO_BODY,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> _Reply:
        """One API call: authenticated, repeated when safe, answered or mapped to an ``ArrayError``.

        ``body`` is sent as JSON when given (``None`` sends JSON ``null``).
        """
        path = API_PREFIX + (template.format(id=int(ident)) if ident is not None else template)
        if method != "GET":
            params = (*params, ("approved", "true"))  # infinisdk's convention for every change (§8)
        call = _Call(
            method=method,
            endpoint=API_PREFIX + template,
            path=path,
            params=tuple(params),
            content=None if body is _NO_BODY else json.dumps(body).encode(),
            headers=headers,
            idempotent=is_idempotent(method),
        )
        return await self._retrying(self._attempt, call)

    async def _attempt(self, call: _Call) -> _Reply:
        """One try: with the current session, and once more with a new one if the array says it expired."""
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
            raise self._invalid("the array accepted the login but set no session cookie")
        self._token = token
        log.debug("%s: logged in", self.name, extra={"array": self.name})
        return token

    async def _exchange(self, call: _Call, session: str | None) -> _Reply:
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
            async with self._slots:
                response = await self._http.send(request)
            status = response.status_code
            return self._reply(call, response)
        except httpx.HTTPError as error:
            mapped = error_from_transport(self.name, error, idempotent=call.idempotent)
            failure = type(mapped).__name__
            raise mapped from error
        except BaseException as error:
            failure = type(error).__name__
            raise
        finally:
            self._report(call, status, failure, time.perf_counter() - started)

    def _reply(self, call: _Call, response: httpx.Response) -> _Reply:
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
        return _Reply(body["result"], metadata if isinstance(metadata, Mapping) else {}, response)

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


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default
