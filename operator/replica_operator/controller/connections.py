"""One connection per InfiniBox object: its client, its credentials, and the last listing.

The listing is the observation every replication object reads from: each array is
listed once per poll interval (one paged call) and the result is fanned out, instead
of one GET per object. Name look-ups that never change (links, pools) are cached too.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import SecretStr

from replica_operator import metrics
from replica_operator.api import InfiniBoxSpec
from replica_operator.array import (
    ArrayError,
    Capabilities,
    InfiniBoxClient,
    Link,
    RemoteCredentials,
    Replica,
    SystemInfo,
)
from replica_operator.kube import KubeError
from replica_operator.reconcile import ArrayReplica, Problem

from .adapter import problem_from, to_array_replica
from .configuration import INVALID_CONFIGURATION, configuration_problem
from .peers import PeerLogins
from .ports import ArrayClient, ClientFactory, KubeSide

log = logging.getLogger(__name__)
REFUSED_RETRY_SECONDS = 300.0


@dataclass
class ArrayConnection:
    """Everything the operator keeps about one array between polls."""

    name: str
    spec: InfiniBoxSpec | None = None
    client: ArrayClient | None = None
    fingerprint: str = ""
    system: SystemInfo | None = None
    capabilities: Capabilities | None = None
    """Version and features, read at connect (as infinisdk's ``compat`` reads them)."""
    replicas: dict[int, ArrayReplica] | None = None
    """The last listing, already in the rules' terms (converted once per poll, not once per object)."""
    problem: Problem | None = None
    problem_since: float = 0.0
    polled_at: datetime | None = None
    links: dict[str, Link] = field(default_factory=dict)
    """Every link by name: listed at each poll (for status and link health) and by look-ups."""
    links_to: dict[str, Link] = field(default_factory=dict)
    """The one link leading to a system (by its name), for specs that name no link."""
    pools: dict[str, int] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    lookups: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Serialises cache misses of links and pools, so a burst of creates lists them once."""

    @property
    def ready(self) -> bool:
        return self.client is not None and self.problem is None

    def require_client(self) -> ArrayClient:
        """The client at the moment of the call. A pass checks ``ready`` before it starts, but
        while it awaits, a refresh may drop the client (its Secret unreadable while the API
        server restarts, say): then the step reports why and the next pass tries again."""
        if self.client is None:
            why = self.problem or Problem("ArrayUnreachable", f"the connection to {self.name} was dropped")
            raise LookupProblem(why)
        return self.client

    sequence: int = 0
    """Counts what passes remembered or forgot, so a listing knows what is newer than itself."""
    changes: dict[int, tuple[int, ArrayReplica | None]] = field(default_factory=dict)
    """Replica id -> (sequence, what was remembered, None: forgotten) since the oldest listing under way."""

    def remember(self, replica: Replica) -> ArrayReplica:
        """Keep what the array just answered, until a listing that started after this replaces it."""
        view = to_array_replica(replica, self.name)
        self._note(replica.id, view)
        return view

    def forget(self, replica_id: int) -> None:
        self._note(replica_id, None)

    def _note(self, replica_id: int, view: ArrayReplica | None) -> None:
        self.sequence += 1
        self.changes[replica_id] = (self.sequence, view)
        if self.replicas is None:
            return
        if view is None:
            self.replicas.pop(replica_id, None)
        else:
            self.replicas[replica_id] = view

    def take_listing(self, started: int, listed: dict[int, ArrayReplica]) -> None:
        """A listing that began at sequence ``started``: it never undoes what was seen after it began."""
        for replica_id, (sequence, view) in self.changes.items():
            if sequence <= started:
                continue
            if view is None:
                listed.pop(replica_id, None)
            else:
                listed[replica_id] = view
        self.changes = {key: value for key, value in self.changes.items() if value[0] > started}
        self.replicas = listed

    def link_by_id(self, link_id: int) -> Link | None:
        return next((link for link in self.links.values() if link.id == link_id), None)

    @property
    def link_states(self) -> tuple[tuple[str, str | None], ...]:
        """Each link's name and state (what a quiet pass depends on besides the replica)."""
        return tuple(sorted((name, link.link_state) for name, link in self.links.items()))

    def keep_links(self, links: list[Link]) -> None:
        """The links as just listed; the one link to each remote system is remembered too."""
        self.links = {link.name: link for link in links}
        self.links_to.clear()
        by_system: dict[str, list[Link]] = {}
        for link in links:
            if link.remote_system_name is not None:
                by_system.setdefault(link.remote_system_name, []).append(link)
        self.links_to.update({system: found[0] for system, found in by_system.items() if len(found) == 1})


def infinibox_client(
    name: str,
    spec: InfiniBoxSpec,
    username: str,
    password: SecretStr,
    ca_pem: str | None,
    *,
    remote_credentials: RemoteCredentials | None = None,
    user_agent: str | None = None,
) -> InfiniBoxClient:
    """The real client of one array, configured from its InfiniBox spec (the default factory)."""
    timeout = spec.request_timeout.total_seconds()
    return InfiniBoxClient(
        spec.url,
        username=username,
        password=password,
        name=name,
        ca_pem=ca_pem,
        insecure=bool(spec.tls and spec.tls.insecure_skip_verify),
        timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
        max_concurrent_requests=spec.max_concurrent_requests,
        observer=metrics.observe_request,
        remote_credentials=remote_credentials,
        on_parse_issue=metrics.observe_parse_issue,
        user_agent=user_agent,
    )


class Arrays:
    """The registry of array connections, keyed by InfiniBox name."""

    def __init__(self, kube: KubeSide, client_factory: ClientFactory = infinibox_client) -> None:
        self._kube = kube
        self._client_factory = client_factory
        self._connections: dict[str, ArrayConnection] = {}
        self._peers = PeerLogins(kube, self._connections)

    def get(self, name: str) -> ArrayConnection | None:
        return self._connections.get(name)

    def names(self) -> list[str]:
        return list(self._connections)

    async def connect(self, name: str, body: Mapping[str, Any]) -> ArrayConnection:
        """Bring the connection in line with the InfiniBox object and its Secret (re-read every time)."""
        connection = self._connections.setdefault(name, ArrayConnection(name))
        async with connection.lock:
            await self._refresh_client(connection, InfiniBoxSpec.model_validate(dict(body["spec"])))
        return connection

    async def ensure_polled(self, name: str, body: Mapping[str, Any]) -> ArrayConnection:
        """Connect and list once, unless a listing is already there (first use after start-up).

        A connection that could not be made (no Secret, bad configuration) is not tried again
        here, once per object: the array's poller retries it, one Secret read per array per poll.
        """
        connection = self._connections.get(name)
        if connection is None or (connection.client is None and connection.problem is None):
            connection = await self.connect(name, body)
        if connection.replicas is None and connection.client is not None:
            async with connection.lock:
                if connection.replicas is None and connection.problem is None:
                    await self._list(connection)
        return connection

    async def poll(self, name: str, body: Mapping[str, Any]) -> ArrayConnection:
        """Reconnect if needed and list every replica of the array (one paged call).

        Refused credentials are not retried on every poll (arrays lock users out, admins
        read the failures): only when the Secret changes, or after ``REFUSED_RETRY_SECONDS``.
        """
        connection = await self.connect(name, body)
        async with connection.lock:
            problem = connection.problem
            waiting = problem is not None and not problem.retryable
            if waiting and time.monotonic() - connection.problem_since < REFUSED_RETRY_SECONDS:
                return connection
            if connection.client is not None:
                await self._list(connection)
        return connection

    async def remove(self, name: str) -> None:
        connection = self._connections.pop(name, None)
        if connection is not None and connection.client is not None:
            await connection.client.aclose()
        with contextlib.suppress(KeyError):
            metrics.ARRAY_CONNECTED.remove(name)

    async def close(self) -> None:
        for name in list(self._connections):
            await self.remove(name)

    async def link(
        self, connection: ArrayConnection, name: str | None, remote: ArrayConnection | None
    ) -> Link:
        """The link by name, or the only one that leads to ``remote``; raise Problem-bearing errors.

        Links are cached per connection (they change rarely); :meth:`forget_lookups` drops the
        cache when the array refuses a create, so a re-created link is found again.
        """
        wanted = remote.system.name if remote is not None and remote.system is not None else None
        cached = self._cached_link(connection, name, wanted)
        if cached is not None:
            return cached
        client = connection.require_client()
        async with connection.lookups:
            cached = self._cached_link(connection, name, wanted)
            if cached is not None:
                return cached
            links = await client.list_links()
            connection.keep_links(links)
            if name is not None:
                if name not in connection.links:
                    raise LookupProblem(
                        Problem("LinkNotFound", f"link {name} does not exist on {connection.name}")
                    )
                return connection.links[name]
            leading = [link for link in links if wanted is None or link.remote_system_name == wanted]
            if len(leading) == 1:
                if wanted is not None:
                    connection.links_to[wanted] = leading[0]
                return leading[0]
        if not leading:
            why = f"no link on {connection.name} leads to {remote.name if remote else 'the target array'}"
            raise LookupProblem(Problem("LinkNotFound", why))
        names = ", ".join(sorted(link.name for link in leading))
        raise LookupProblem(
            Problem("LinkAmbiguous", f"several links lead to the target ({names}); set spec.target.link")
        )

    @staticmethod
    def _cached_link(connection: ArrayConnection, name: str | None, wanted: str | None) -> Link | None:
        if name is not None:
            return connection.links.get(name)
        return connection.links_to.get(wanted) if wanted is not None else None

    @staticmethod
    def forget_lookups(connection: ArrayConnection) -> None:
        """Drop cached links and pools (the array refused a create that used them)."""
        connection.links.clear()
        connection.links_to.clear()
        connection.pools.clear()

    async def pool_id(self, connection: ArrayConnection, name: str) -> int:
        client = connection.require_client()
        if name in connection.pools:
            return connection.pools[name]
        async with connection.lookups:
            if name not in connection.pools:
                pool = await client.find_pool(name)
                if pool is None:
                    raise LookupProblem(
                        Problem("PoolNotFound", f"pool {name} does not exist on {connection.name}")
                    )
                connection.pools[name] = pool.id
        return connection.pools[name]

    # -- internals -----------------------------------------------------------------------------
    async def _refresh_client(self, connection: ArrayConnection, spec: InfiniBoxSpec) -> None:
        connection.spec = spec
        try:
            credentials = await self._kube.read_secret(
                spec.credentials_secret_ref.namespace, spec.credentials_secret_ref.name
            )
            ca_pem, ca_version = await self._read_ca(spec)
        except KubeError as error:
            await self._drop_client(connection, Problem("SecretUnreadable", str(error)))
            return
        ref = spec.credentials_secret_ref
        if credentials is None:
            await self._drop_client(
                connection, Problem("SecretNotFound", f"Secret {ref.namespace}/{ref.name} does not exist")
            )
            return
        username, password = credentials.get("username"), credentials.get("password")
        if username is None or password is None:
            await self._drop_client(
                connection,
                Problem(
                    "SecretInvalid", f"Secret {ref.namespace}/{ref.name} needs the keys username and password"
                ),
            )
            return
        invalid = configuration_problem(spec, ca_pem)
        if invalid is not None:
            await self._drop_client(connection, invalid)
            return
        fingerprint = hashlib.sha256(
            f"{spec.model_dump_json()}|{credentials.resource_version}|{ca_version}".encode()
        ).hexdigest()
        if connection.client is not None and fingerprint == connection.fingerprint:
            return
        await self._drop_client(connection, None)
        connection.fingerprint = fingerprint
        try:
            connection.client = self._client_factory(
                connection.name,
                spec,
                username.get_secret_value(),
                password,
                ca_pem,
                remote_credentials=self._peers.for_array(connection.name),
            )
        except ValueError as error:  # what configuration_problem missed; the client's words are safe
            await self._drop_client(connection, Problem(INVALID_CONFIGURATION, str(error), retryable=False))
            return
        self.forget_lookups(connection)
        # A new client may lead to another system (a changed url): what was read of the old one
        # goes, so that a failed first read leaves the serial unknown, never the old one (kept,
        # it let a chaos run take ibox-2's replicas for ibox-1's); the next listing reads it first.
        connection.capabilities, connection.system = None, None
        log.info("array %s: connecting to %s", connection.name, spec.url)
        try:
            await connection.client.login()
            connection.capabilities = await connection.client.read_capabilities()
            connection.system = connection.capabilities.system
        except ArrayError as error:
            _set_problem(connection, problem_from(error))
            return
        _set_problem(connection, None)

    async def _read_ca(self, spec: InfiniBoxSpec) -> tuple[str | None, str]:
        if spec.tls is None or spec.tls.ca_secret_ref is None:
            return None, ""
        ref = spec.tls.ca_secret_ref
        secret = await self._kube.read_secret(ref.namespace, ref.name)
        if secret is None or secret.get(ref.key) is None:
            raise KubeError(404, f"CA Secret {ref.namespace}/{ref.name} has no key {ref.key}")
        value = secret.get(ref.key)
        assert value is not None
        return value.get_secret_value(), secret.resource_version

    async def _drop_client(self, connection: ArrayConnection, problem: Problem | None) -> None:
        if connection.client is not None:
            await connection.client.aclose()
        connection.client = None
        connection.fingerprint = ""
        _set_problem(connection, problem)
        if problem is not None:
            metrics.ARRAY_CONNECTED.labels(connection.name).set(0)

    async def _list(self, connection: ArrayConnection) -> None:
        assert connection.client is not None
        started = time.monotonic()
        try:
            if connection.capabilities is None:
                connection.capabilities = await connection.client.read_capabilities()
                connection.system = connection.capabilities.system
            started_at = connection.sequence
            replicas = await connection.client.list_all_replicas()
            links = await connection.client.list_links()
        except ArrayError as error:
            _set_problem(connection, problem_from(error))
            metrics.ARRAY_POLLS.labels(connection.name, "error").inc()
            metrics.ARRAY_CONNECTED.labels(connection.name).set(0)
            log.warning("array %s: listing failed: %s", connection.name, error)
            return
        connection.take_listing(
            started_at, {replica.id: to_array_replica(replica, connection.name) for replica in replicas}
        )
        connection.keep_links(links)
        _set_problem(connection, None)
        connection.polled_at = datetime.now(UTC)
        metrics.ARRAY_POLLS.labels(connection.name, "ok").inc()
        metrics.ARRAY_POLL_SECONDS.labels(connection.name).observe(time.monotonic() - started)
        metrics.ARRAY_CONNECTED.labels(connection.name).set(1)


def _set_problem(connection: ArrayConnection, problem: Problem | None) -> None:
    if problem != connection.problem:
        connection.problem_since = time.monotonic()
    connection.problem = problem


class LookupProblem(Exception):
    """A name on the array could not be resolved; carries the condition to report."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem
