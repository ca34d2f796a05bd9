"""``InfiniBoxClient``: the operator's only way to talk to an InfiniBox array.

One client per array, one ``httpx.AsyncClient`` underneath::

    async with InfiniBoxClient("https://ibox-1.example", username="admin", password=secret,
                               ca_pem=ca) as array:
        capabilities = await array.read_capabilities()
        replica = await array.get_replica(1000005)

The parts: :mod:`.session` (HTTP, login, retries, errors), :mod:`.lookups` (system, pools,
datasets, links), :mod:`.replicas` (replica reads and changes), :mod:`.remote` (the peer's
credentials when an array asks for them). Credentials stay inside: passwords are
``SecretStr``, no URL carries them, and no log line, ``repr`` or exception shows headers or
request bodies.
"""

from __future__ import annotations

import os
from types import TracebackType
from typing import Self

import httpx
from pydantic import SecretStr

from replica_operator.array.capabilities import Capabilities
from replica_operator.array.errors import NotFound
from replica_operator.array.groups import GroupsMixin
from replica_operator.array.listing import IssueObserver
from replica_operator.array.lookups import LookupsMixin
from replica_operator.array.models import Link
from replica_operator.array.nas import NasMixin
from replica_operator.array.observe import Observer
from replica_operator.array.remote import (
    PeerCredentials,
    RemoteCredentials,
    linked_object,
    multi_peer_header,
    resolve_credentials,
    single_peer_header,
)
from replica_operator.array.replicas import ReplicasMixin
from replica_operator.array.retry import RetryPolicy
from replica_operator.array.session import API_PREFIX, ArraySession
from replica_operator.array.snapshots import SnapshotsMixin
from replica_operator.array.tls import ssl_context

__all__ = ["API_PREFIX", "DEFAULT_TIMEOUT", "InfiniBoxClient"]

#: Connect fast, give the array time to answer, never wait long for a free connection.
DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=10.0, pool=10.0)


class InfiniBoxClient(LookupsMixin, ReplicasMixin, SnapshotsMixin, GroupsMixin, NasMixin):
    """An async client of one InfiniBox array's REST API.

    ``url`` is the array's management address (``https://host[:port]``); ``name`` labels
    logs, metrics and errors (default: the host). TLS is verified against ``ca_pem`` (PEM
    text) or ``ca_file``, else the default CAs; ``insecure=True`` turns checks off. At most
    ``max_concurrent_requests`` requests are in flight at once, however many callers wait.
    ``remote_credentials`` finds the peer array's credentials for a link; they are sent only
    when this array answers ``403 REMOTE_PERMISSION_REQUIRED`` (:mod:`.remote`).
    ``on_parse_issue`` hears of each object read incompletely (for a metric).
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
        remote_credentials: RemoteCredentials | None = None,
        on_parse_issue: IssueObserver | None = None,
        user_agent: str | None = None,
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
        if transport is None:
            limits = httpx.Limits(
                max_connections=max_concurrent_requests, max_keepalive_connections=max_concurrent_requests
            )
            verify = ssl_context(ca_pem=ca_pem, ca_file=ca_file, insecure=insecure)
            transport = httpx.AsyncHTTPTransport(verify=verify, limits=limits)
        self._session = ArraySession(
            self.name,
            ArraySession.build_http(self.url, transport=transport, timeout=timeout, agent=user_agent),
            username=username,
            password=password if isinstance(password, SecretStr) else SecretStr(password),
            retry=retry or RetryPolicy(),
            max_concurrent_requests=max_concurrent_requests,
            observer=observer,
        )
        self._remote_credentials = remote_credentials
        if remote_credentials is not None:
            self._session.remote_authorizer = self._remote_authorization
        self._on_parse_issue = on_parse_issue
        self._capabilities: Capabilities | None = None

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
        await self._session.aclose()

    async def login(self) -> None:
        """Open a new session now; calls log in by themselves, so this is only needed to check credentials."""
        await self._session.login()

    # -- remote authorization (see .remote)

    async def _remote_authorization(self, path: str) -> str | None:
        """The ``X-Remote-Authorization`` value for a request to ``path``, as infinisdk builds it."""
        lookup = self._remote_credentials
        if lookup is None:
            return None
        capabilities = self._capabilities or await self.read_capabilities()
        if capabilities.has_multi_target_async_replication:
            peers = await self._all_peer_credentials(lookup)
            return multi_peer_header(peers) if peers else None
        link = await self._link_of(path)
        credentials = await resolve_credentials(lookup, link) if link is not None else None
        if credentials is None:  # infinisdk: else the first related system
            found = await self._all_peer_credentials(lookup)
            credentials = found[0] if found else None
        return single_peer_header(credentials) if credentials is not None else None

    async def _all_peer_credentials(self, lookup: RemoteCredentials) -> list[PeerCredentials]:
        """The credentials of every peer this array has a link to (each peer once)."""
        peers: dict[str, PeerCredentials] = {}
        for link in await self.list_links():
            credentials = await resolve_credentials(lookup, link)
            if credentials is not None:
                peers.setdefault(credentials.address, credentials)
        return list(peers.values())

    async def _link_of(self, path: str) -> Link | None:
        """The link of the object ``path`` names (``/links/<id>``, ``/replicas/<id>``), if it still exists."""
        named = linked_object(path)
        try:
            if named is None:
                return None
            collection, ident = named
            if collection == "links":
                return await self.get_link(ident)
            if collection == "replicas":
                link_id = (await self.get_replica(ident)).link_id
                return await self.get_link(link_id) if link_id is not None else None
        except NotFound:
            return None
        return None
