"""The operator's state for one run: settings, Kubernetes access, array connections, reconciler, pollers.

Created by ``replica-operator run`` and handed to every kopf handler as ``memo.runtime``;
nothing here is global.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from replica_operator import metrics, sharding
from replica_operator.api import (
    CONSISTENCY_GROUP_REPLICA,
    INFINIBOX,
    REPLICA,
    ConditionStatus,
    ConditionType,
    InfiniBoxSpec,
    InfiniBoxStatus,
    LinkStatus,
)
from replica_operator.array import RetryPolicy, user_agent
from replica_operator.kube import Kube, KubeError
from replica_operator.reconcile import Verdict, array_progress, merge
from replica_operator.settings import OperatorSettings

from .connections import ArrayConnection, Arrays, infinibox_client
from .memory import Backoff
from .ports import KubeSide
from .reconciler import Reconciler
from .relist import PrunableIndex, discard, entries, gone
from .shards import owner_exists

log = logging.getLogger(__name__)
MAX_PARALLEL_PASSES = 64
MAX_LISTED_USERS = 10


Index = PrunableIndex
"""What the runtime uses of a kopf index: key -> a collection of values, and dropping an object."""


@dataclass
class Indexes:
    """The kopf indexes (live views), as received by the startup handler."""

    infiniboxes: Index
    replicas: Index
    groups: Index

    def infinibox(self, name: str) -> Mapping[str, Any] | None:
        return next(iter(self.infiniboxes.get(name) or ()), None)

    def newest(self, body: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """The object as the index holds it now (kopf updates it before calling handlers)."""
        uid = body["metadata"]["uid"]
        index = self.groups if body["kind"] == "ConsistencyGroupReplica" else self.replicas
        for array in (body["spec"]["source"]["array"], body["spec"]["target"]["array"]):
            for candidate in index.get(array) or ():
                if candidate["metadata"]["uid"] == uid:
                    return dict(candidate)
        return None

    def has_object(self, uid: str) -> bool:
        """Whether a replication object with this uid exists (e.g. the owner a replica is marked with)."""
        return any(
            body["metadata"]["uid"] == uid
            for index in (self.replicas, self.groups)
            for key in list(index)
            for body in index.get(key) or ()
        )

    def users(self, array: str) -> list[Mapping[str, Any]]:
        """Every replication object that names ``array`` as source or target."""
        seen: dict[str, Mapping[str, Any]] = {}
        for index in (self.replicas, self.groups):
            for body in index.get(array) or ():
                seen[body["metadata"]["uid"]] = body
        return list(seen.values())


@dataclass
class Runtime:
    settings: OperatorSettings
    kube: KubeSide
    arrays: Arrays
    reconciler: Reconciler
    indexes: Indexes | None = None
    _pollers: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    _supervisor: asyncio.Task[None] | None = None
    _relister: asyncio.Task[None] | None = None
    _passed: dict[str, float] = field(default_factory=dict)
    """When each array's poller last finished a pass (monotonic seconds)."""
    _pass_limit: dict[str, float] = field(default_factory=dict)
    _announced: dict[str, tuple[ConditionStatus, str]] = field(default_factory=dict)
    _passes: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(MAX_PARALLEL_PASSES))
    forgetters: list[Callable[[str], None]] = field(default_factory=list)
    """More per-object stores to drop a gone object's uid from (kopf's diff base in memory)."""

    @classmethod
    def create(cls, settings: OperatorSettings) -> Runtime:
        kube = Kube.from_environment(settings.kube_request_timeout.total_seconds())
        arrays = Arrays(kube, functools.partial(infinibox_client, user_agent=user_agent(settings.shard)))
        backoff = Backoff(settings.retry_base, settings.retry_max)
        reconciler = Reconciler(
            arrays, kube, backoff, target_claim_namespaces=settings.target_claim_namespaces
        )
        return cls(settings, kube, arrays, reconciler)

    def lookup(self, name: str) -> Mapping[str, Any] | None:
        return self.indexes.infinibox(name) if self.indexes is not None else None

    # -- polling ------------------------------------------------------------------------------------
    def start(self, indexes: Indexes) -> None:
        """Start polling: one loop per InfiniBox, kept in line with the index by a supervisor."""
        self.indexes = indexes
        self.reconciler.newest_known = indexes.newest
        self.reconciler.owner_exists = functools.partial(owner_exists, indexes, self.kube, self.settings)
        self._supervisor = asyncio.create_task(self._supervise(), name="poll-supervisor")
        self._relister = asyncio.create_task(self._relist_forever(), name="relist")

    async def stop(self) -> None:
        tasks = [t for t in (self._supervisor, self._relister, *self._pollers.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._pollers.clear()
        await self.arrays.close()

    async def _supervise(self) -> None:
        """Follow the InfiniBox index: start a poll loop per new array, stop those that are gone."""
        assert self.indexes is not None
        while True:
            names = set(self.indexes.infiniboxes)
            for name in names - set(self._pollers):
                self._pollers[name] = asyncio.create_task(self._poll_forever(name), name=f"poll-{name}")
            for name in set(self._pollers) - names:
                self._pollers.pop(name).cancel()
                self._passed.pop(name, None)
                self._announced.pop(name, None)
                await self.arrays.remove(name)
            await asyncio.sleep(0.5)

    # -- relisting: what the watch missed -----------------------------------------------------------
    async def _relist_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.relist_interval.total_seconds())
            try:
                await self.relist_once()
            except Exception:  # a failed relist is tried again at the next interval
                log.exception("relist failed")

    async def relist_once(self) -> int:
        """List every kind once and drop the index entries of objects that are gone (see ``relist``).

        One paged LIST per kind (per watched namespace), each page bounded by the Kubernetes
        request timeout; an object dropped here costs nothing more (no poll reconciles it, its
        memory and metrics go). Returns how many were dropped.
        """
        assert self.indexes is not None
        shard = sharding.label_selector(self.settings.shard)  # what the watches select
        kinds = (
            (INFINIBOX, self.indexes.infiniboxes, (), None),
            (REPLICA, self.indexes.replicas, self.settings.namespaces, shard),
            (CONSISTENCY_GROUP_REPLICA, self.indexes.groups, self.settings.namespaces, shard),
        )
        dropped = 0
        for resource, index, namespaces, selector in kinds:
            try:
                listing = await self.kube.list_uids(resource, namespaces, selector)
            except KubeError as error:
                log.warning("cannot relist %s: %s", resource.plural, error)
                continue
            for body in gone(entries(index), listing):
                meta = body["metadata"]
                where = f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else meta["name"]
                log.info("%s %s was deleted while the watch was away: forgotten", resource.kind, where)
                discard(index, body)
                if resource is not INFINIBOX:
                    self.forget(body)
                dropped += 1
        return dropped

    def forget(self, body: Mapping[str, Any]) -> None:
        """The replication object is gone: drop its memory and its metrics."""
        meta = body["metadata"]
        self.reconciler.forget(meta["uid"])
        for forget in self.forgetters:
            forget(meta["uid"])
        metrics.forget_object(body["kind"], meta["namespace"], meta["name"])

    async def _poll_forever(self, name: str) -> None:
        self._passed[name] = time.monotonic()
        while (body := self.lookup(name)) is not None:
            started = time.monotonic()
            spec = InfiniBoxSpec.model_validate(dict(body["spec"]))
            self._pass_limit[name] = self._stall_limit(spec)
            try:
                await self.poll_once(name, body)
            except Exception:  # one bad poll must not end polling of the array
                log.exception("array %s: poll failed", name)
            self._passed[name] = time.monotonic()
            metrics.POLL_PASSES.labels(name).inc()
            await asyncio.sleep(max(0.2, spec.poll_interval.total_seconds() - (time.monotonic() - started)))

    def _stall_limit(self, spec: InfiniBoxSpec) -> float:
        """How long a poller may go without finishing a pass before liveness fails.

        Three poll intervals, plus two array calls that each use up their whole retry budget
        (the listing, then the objects' calls) and one Kubernetes call that runs into its
        timeout: a pass that takes longer is waiting on something unbounded, and a restart
        is the way out. Slow but answering arrays stay well inside this.
        """
        retry_budget = RetryPolicy().timeout + spec.request_timeout.total_seconds()
        return (
            3 * spec.poll_interval.total_seconds()
            + 2 * retry_budget
            + self.settings.kube_request_timeout.total_seconds()
        )

    def stalled_pollers(self) -> dict[str, float]:
        """Arrays whose poller has not finished a pass within its limit: name -> seconds since."""
        now = time.monotonic()
        stalled: dict[str, float] = {}
        for name, task in self._pollers.items():
            since = now - self._passed.get(name, now)
            if task.done() or since > self._pass_limit.get(name, float("inf")):
                stalled[name] = round(since, 1)
        return stalled

    async def poll_once(self, name: str, body: Mapping[str, Any]) -> None:
        """List the array, write its status, and bring every object that uses it in line."""
        assert self.indexes is not None
        connection = await self.arrays.poll(name, body)
        users = self.indexes.users(name)
        if not self.settings.sharded:  # one writer of the shared InfiniBox status: the default shard
            await self.write_array_status(body, connection, users)
        await self.reconcile_all([user for user in users if self._follows(user, name)])

    def _follows(self, body: Mapping[str, Any], array: str) -> bool:
        """Whether a poll of ``array`` is the one that brings this object up to date.

        Every object names two arrays; the side that is the source now has the state that
        matters, so its poll reconciles the object. The other array's poll does it only while
        that source cannot be listed (then the target side is all there is to go by).
        """
        current = ((body.get("status") or {}).get("currentSource") or {}).get("array")
        source = current or body["spec"]["source"]["array"]
        if source == array:
            return True
        connection = self.arrays.get(source)
        return connection is None or not connection.ready or connection.replicas is None

    async def reconcile_all(self, bodies: Iterable[Mapping[str, Any]]) -> None:
        async def one(body: Mapping[str, Any]) -> None:
            async with self._passes:
                try:
                    await self.reconciler.on_poll(body, self.lookup)
                except Exception:
                    meta = body["metadata"]
                    log.exception("%s %s/%s: reconcile failed", body["kind"], meta["namespace"], meta["name"])

        await asyncio.gather(*(one(body) for body in bodies))
        self._export_object_gauges()

    def _export_object_gauges(self) -> None:
        if self.indexes is None:
            return
        counts: dict[tuple[str, str, str], int] = {}
        pending = 0
        seen: set[str] = set()
        for index in (self.indexes.replicas, self.indexes.groups):
            for key in list(index):
                for body in index.get(key) or ():
                    uid = body["metadata"]["uid"]
                    if uid in seen:
                        continue
                    seen.add(uid)
                    status = body.get("status") or {}
                    label = (
                        body["kind"],
                        status.get("state") or "Unknown",
                        status.get("replicationType") or "Unknown",
                    )
                    counts[label] = counts.get(label, 0) + 1
                    pending += bool(status.get("pendingReplicationType"))
        metrics.OBJECTS.clear()
        for (kind, state, kind_type), count in counts.items():
            metrics.OBJECTS.labels(kind, state, kind_type).set(count)
        metrics.PENDING_TYPE_CHANGES.set(pending)

    # -- the InfiniBox's own status -----------------------------------------------------------------
    async def write_array_status(
        self, body: Mapping[str, Any], connection: ArrayConnection, users: list[Mapping[str, Any]]
    ) -> None:
        """Connected, InUse, the system's identity, features and links; written when it changes
        (plus a slow heartbeat)."""
        now = datetime.now(UTC)
        previous = InfiniBoxStatus.model_validate(dict(body.get("status") or {}))
        status = previous.model_copy(deep=True)
        status.observed_generation = int(body["metadata"].get("generation") or 0)
        if connection.problem is None and connection.system is not None:
            system = connection.system
            connected = Verdict(
                ConditionType.CONNECTED,
                ConditionStatus.TRUE,
                "Connected",
                f"logged in to {system.name} (serial {system.serial}, version {system.version})",
            )
            status.system_name, status.serial, status.version = system.name, system.serial, system.version
            status.replica_count = len(connection.replicas or {})
            if connection.capabilities is not None:
                status.features = list(connection.capabilities.enabled_features)
            status.links = [
                LinkStatus(
                    name=link.name,
                    remote_system=link.remote_system_name,
                    state=str(link.link_state) if link.link_state is not None else None,
                )
                for link in sorted(connection.links.values(), key=lambda link: link.name)
            ]
        else:
            problem = connection.problem
            reason, message = (
                (problem.reason, problem.message) if problem else ("Connecting", "not connected yet")
            )
            connected = Verdict(ConditionType.CONNECTED, ConditionStatus.FALSE, reason, message)
        status.conditions = merge(
            previous.conditions,
            [
                connected,
                in_use_verdict(users),
                *array_progress(connection.problem, connected.status is ConditionStatus.TRUE),
            ],
            generation=status.observed_generation,
            now=now,
        )
        await self._announce_connection(body, previous, connected)
        material = status.model_dump(mode="json", exclude={"last_polled"})
        stale = previous.last_polled is None or now - previous.last_polled >= self.settings.status_heartbeat
        if material == previous.model_dump(mode="json", exclude={"last_polled"}) and not stale:
            return
        status.last_polled = now
        try:
            await self.kube.patch_status(INFINIBOX, None, body["metadata"]["name"], status.to_cr())
        except KubeError as error:
            log.warning("InfiniBox %s: status not written: %s", body["metadata"]["name"], error)

    async def _announce_connection(
        self, body: Mapping[str, Any], previous: InfiniBoxStatus, connected: Verdict
    ) -> None:
        """One Event when Connected changes status or reason (not one per poll).

        What was announced is remembered here, not read back from the body: the index may
        not have seen the last status patch yet when the next poll comes.
        """
        name = body["metadata"]["name"]
        now = (connected.status, connected.reason)
        before = self._announced.get(name)
        if before is None:
            written = next((c for c in previous.conditions if c.type == ConditionType.CONNECTED), None)
            before = (written.status, written.reason) if written is not None else None
        self._announced[name] = now
        if before == now or connected.reason == "Connecting":
            return
        if before is None and connected.status is ConditionStatus.TRUE:
            return  # the first connection of a new InfiniBox is not news
        kind = "Normal" if connected.status is ConditionStatus.TRUE else "Warning"
        await self.kube.post_event(dict(body), type=kind, reason=connected.reason, message=connected.message)


def in_use_verdict(users: list[Mapping[str, Any]]) -> Verdict:
    """InUse: which replication objects still name this array (deletion waits for them)."""
    if not users:
        return Verdict(
            ConditionType.IN_USE, ConditionStatus.FALSE, "NotInUse", "no replication object uses it"
        )
    names = sorted(f"{b['kind']} {b['metadata']['namespace']}/{b['metadata']['name']}" for b in users)
    listed = ", ".join(names[:MAX_LISTED_USERS])
    more = f" and {len(names) - MAX_LISTED_USERS} more" if len(names) > MAX_LISTED_USERS else ""
    return Verdict(ConditionType.IN_USE, ConditionStatus.TRUE, "InUse", f"used by {listed}{more}")
