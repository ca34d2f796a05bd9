"""One pass over one replication object: observe, decide, execute, write down.

Both the kopf handlers (an object changed) and the pollers (an array was listed) call
:meth:`Engine.reconcile`; a per-object lock makes them take turns. The rules are in
:mod:`replica_operator.reconcile`; this module only does the I/O around them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from replica_operator import metrics
from replica_operator.api import (
    API_VERSION,
    CONSISTENCY_GROUP_REPLICA,
    REPLICA,
    ActionResult,
    ActionType,
    ConsistencyGroupReplicaSpec,
    CustomResource,
    LastAction,
    ReplicaSpec,
    ReplicationType,
    TargetMode,
)
from replica_operator.array import (
    ArrayError,
    BadRequest,
    Conflict,
    ConsistencyGroup,
    CreateReplicaRequest,
    Dataset,
    EntityType,
    InfiniBoxClient,
    InvalidState,
    NotFound,
    OutcomeUnknown,
    Replica,
    ReplicationOptions,
    SnapshotBase,
)
from replica_operator.array import ReplicationType as ArrayReplicationType
from replica_operator.kube import Kube, KubeError
from replica_operator.reconcile import (
    ArrayReplica,
    ChangeType,
    Create,
    Delete,
    Desired,
    EntityKind,
    Event,
    Observation,
    Plan,
    Problem,
    Resume,
    RunAction,
    Side,
    SideName,
    Step,
    StepResult,
    Suspend,
    UpdateSchedule,
    adoptable,
    decide,
    owner_mark,
    summarize,
)
from replica_operator.reconcile.status import StatusUpdate, sync_state
from replica_operator.settings import OperatorSettings

from .arrays import ArrayConnection, Arrays, LookupProblem, problem_from, to_array_replica


class _CreateCommon(ReplicationOptions):
    """What every create of one object shares: the link, the type, the schedule and the owner mark."""

    link_id: int


log = logging.getLogger(__name__)

InfiniBoxLookup = Callable[[str], Mapping[str, Any] | None]
"""Find an InfiniBox object's body by name (the kopf index), or None when there is none."""


class Trigger(StrEnum):
    EVENT = "event"
    POLL = "poll"
    DELETE = "delete"


@dataclass
class _Memory:
    """What the engine remembers of one object between passes."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    failures: int = 0
    retry_at: float = 0.0
    last_results: tuple[StepResult, ...] = ()
    stale_version: str | None = None
    written_status: dict[str, Any] | None = None
    source_entity: Dataset | ConsistencyGroup | None = None
    """The replicated entity as this pass's search found it, so that a create needs no second look-up."""
    fingerprint: Hashable = None
    """What the last quiet pass saw; a poll that sees the same skips the object entirely."""


@dataclass(frozen=True)
class Outcome:
    plan: Plan
    results: tuple[StepResult, ...]
    update: StatusUpdate


def resource_of(kind: str) -> CustomResource:
    return CONSISTENCY_GROUP_REPLICA if kind == CONSISTENCY_GROUP_REPLICA.kind else REPLICA


class Engine:
    """Reconciles replication objects against the arrays."""

    def __init__(self, arrays: Arrays, kube: Kube, settings: OperatorSettings) -> None:
        self.arrays = arrays
        self.kube = kube
        self.settings = settings
        self._memory: dict[str, _Memory] = {}

    def forget(self, uid: str) -> None:
        self._memory.pop(uid, None)

    async def on_poll(self, body: Mapping[str, Any], infiniboxes: InfiniBoxLookup) -> None:
        """An array was listed: reconcile the object, unless nothing it depends on has changed.

        At a thousand quiet replicas that skips nearly all of them, nearly all the time.
        """
        memory = self._memory.setdefault(str(body["metadata"]["uid"]), _Memory())
        fingerprint = self._fingerprint(body, infiniboxes)
        if fingerprint is not None and fingerprint == memory.fingerprint and not memory.lock.locked():
            self._export_quiet(body)
            metrics.RECONCILES.labels(str(body["kind"]), Trigger.POLL, "unchanged").inc()
            return
        outcome = await self.reconcile(body, Trigger.POLL, infiniboxes)
        plan = outcome.plan
        settled = not plan.steps and not outcome.results and plan.blocked is None and plan.action_wait is None
        if settled and outcome.update.status.replica_id is not None:
            # Only a settled object may be skipped: a blocked one waits for things (a volume, a
            # link, a pool to appear) that the fingerprint does not see.
            memory.fingerprint = fingerprint

    async def reconcile(
        self, body: Mapping[str, Any], trigger: Trigger, infiniboxes: InfiniBoxLookup
    ) -> Outcome:
        """One pass: observe both arrays, decide, execute the steps, write status and Events."""
        memory = self._memory.setdefault(str(body["metadata"]["uid"]), _Memory())
        started = time.monotonic()
        kind = str(body["kind"])
        async with memory.lock:
            memory.fingerprint = None
            try:
                outcome = await self._pass(self._latest(body, memory), trigger, infiniboxes, memory)
            except Exception:
                metrics.RECONCILES.labels(kind, trigger, "error").inc()
                raise
        failed = any(r.problem is not None for r in outcome.results) or outcome.plan.blocked is not None
        metrics.RECONCILES.labels(kind, trigger, "blocked" if failed else "ok").inc()
        metrics.RECONCILE_SECONDS.labels(kind, trigger).observe(time.monotonic() - started)
        return outcome

    # -- one pass -----------------------------------------------------------------------------------
    async def _pass(
        self, body: Mapping[str, Any], trigger: Trigger, infiniboxes: InfiniBoxLookup, memory: _Memory
    ) -> Outcome:
        desired = Desired.from_body(body)
        memory.source_entity = None
        observed = await self._observe(desired, infiniboxes, memory, fresh=trigger is not Trigger.POLL)
        plan = decide(desired, observed)
        observed = plan.observation or observed
        replayed = plan.steps and trigger is Trigger.POLL and time.monotonic() < memory.retry_at
        if replayed:
            results = memory.last_results  # backing off: show the last failure, call nothing
        else:
            results = await self._execute(desired, plan, observed, body, memory)
            self._note_results(memory, results)
        after = await self._refresh(desired, observed, results)
        update = summarize(desired, plan, results, after, datetime.now(UTC))
        if update.changed and not (desired.deleting and plan.release):
            await self._write(body, desired, update, memory)
        if not replayed:
            await self._post(body, update.events)
        self._export(desired, after)
        if update.status.pending_replication_type and not desired.status.pending_replication_type:
            metrics.DEFERRED_TYPE_CHANGES.inc()
        return Outcome(plan, results, update)

    def _fingerprint(self, body: Mapping[str, Any], infiniboxes: InfiniBoxLookup) -> Hashable:
        """Everything a quiet pass depends on: the object, both arrays' view of its replica, the
        arrays' own objects and problems, and whether the RPO is breached by now. Fields that move
        without being a transition (last sync time, an async job's progress) are left out."""
        spec, status = body["spec"], body.get("status") or {}
        sides = []
        for array, replica_id in (
            (spec["source"]["array"], status.get("replicaId")),
            (spec["target"]["array"], status.get("remoteReplicaId")),
        ):
            connection, array_body = self.arrays.get(array), infiniboxes(array)
            if connection is None or connection.replicas is None or array_body is None:
                return None
            replica = connection.replicas.get(replica_id) if replica_id is not None else None
            sides.append(
                (array_body["metadata"].get("resourceVersion"), connection.problem, _material(replica))
            )
        return (body["metadata"].get("resourceVersion"), tuple(sides))

    def _export_quiet(self, body: Mapping[str, Any]) -> None:
        """Keep the live lag metrics moving for an object whose pass was skipped."""
        status = body.get("status") or {}
        for array, replica_id in (
            (body["spec"]["source"]["array"], status.get("replicaId")),
            (body["spec"]["target"]["array"], status.get("remoteReplicaId")),
        ):
            connection = self.arrays.get(array)
            replica = (
                connection.replicas.get(replica_id)
                if connection and connection.replicas and replica_id
                else None
            )
            if replica is not None and replica.is_source:
                meta = body["metadata"]
                rpo = replica.rpo.total_seconds() if replica.rpo else None
                metrics.record_lag(
                    body["kind"],
                    meta["namespace"],
                    meta["name"],
                    replica.last_synchronized,
                    rpo,
                    datetime.now(UTC),
                )
                return

    def _latest(self, body: Mapping[str, Any], memory: _Memory) -> Mapping[str, Any]:
        """The body with the status this engine last wrote, if the given body predates that write."""
        version = body["metadata"].get("resourceVersion")
        if memory.written_status is not None and version == memory.stale_version:
            return {**body, "status": memory.written_status}
        memory.written_status = memory.stale_version = None
        return body

    def _note_results(self, memory: _Memory, results: Sequence[StepResult]) -> None:
        if any(r.problem is not None for r in results):
            memory.failures += 1
            wait = min(
                self.settings.retry_base.total_seconds() * 2 ** (memory.failures - 1),
                self.settings.retry_max.total_seconds(),
            )
            memory.retry_at = time.monotonic() + wait
            memory.last_results = tuple(results)
        elif results:
            memory.failures, memory.retry_at, memory.last_results = 0, 0.0, ()

    # -- observing ----------------------------------------------------------------------------------
    async def _observe(
        self, desired: Desired, infiniboxes: InfiniBoxLookup, memory: _Memory, *, fresh: bool
    ) -> Observation:
        spec = desired.spec
        now = datetime.now(UTC)
        source = await self._side(desired, spec.source.array, desired.status.replica_id, infiniboxes, fresh)
        remote_id = desired.status.remote_replica_id
        if remote_id is None and source.replica is not None:
            remote_id = source.replica.remote_id
        target = await self._side(desired, spec.target.array, remote_id, infiniboxes, fresh)
        known = desired.status.replica_id is not None or desired.status.remote_replica_id is not None
        if known or source.replica is not None or target.replica is not None:
            return Observation(source, target, now)
        candidates, problem = await self._search(desired, memory)
        adopted = adoptable(desired, candidates)
        if adopted is not None and adopted.remote_id is not None:  # the peer of what will be adopted
            target = await self._side(desired, spec.target.array, adopted.remote_id, infiniboxes, fresh)
        return Observation(source, target, now, candidates=candidates, searched=True, search_problem=problem)

    async def _side(
        self,
        desired: Desired,
        array: str,
        replica_id: int | None,
        infiniboxes: InfiniBoxLookup,
        fresh: bool,
    ) -> Side:
        body = infiniboxes(array)
        if body is None:
            return Side(
                array, problem=Problem("ArrayNotFound", f"there is no InfiniBox object named {array}")
            )
        connection = await self.arrays.ensure_polled(array, body)
        allowed = body["spec"].get("allowedNamespaces") or []
        if allowed and desired.namespace not in allowed:
            return Side(
                array,
                problem=Problem(
                    "NamespaceNotAllowed",
                    f"InfiniBox {array} does not allow namespace {desired.namespace} "
                    "(see its spec.allowedNamespaces)",
                    retryable=False,
                ),
            )
        cached = connection.replicas.get(replica_id) if connection.replicas and replica_id else None
        if connection.problem is not None:
            return Side(array, connection.replicas is not None, connection.problem, cached)
        if fresh and replica_id is not None and connection.client is not None:
            try:
                found = connection.remember(await connection.client.get_replica(replica_id))
            except NotFound:
                connection.forget(replica_id)
                return Side(array, True, None, None)
            except ArrayError as error:
                return Side(array, connection.replicas is not None, problem_from(error), cached)
            return Side(array, True, None, found)
        return Side(array, connection.replicas is not None, None, cached)

    async def _search(
        self, desired: Desired, memory: _Memory
    ) -> tuple[tuple[ArrayReplica, ...], Problem | None]:
        """Replicas of the entity over the link: what to adopt, or what conflicts."""
        source = self.arrays.get(desired.spec.source.array)
        if source is None or source.client is None or source.problem is not None:
            return (), None  # the Side already says why
        try:
            entity = memory.source_entity = await _resolve_source(source, desired)
            link = await self.arrays.link(
                source, desired.spec.target.link, self.arrays.get(desired.spec.target.array)
            )
            found = await source.client.find_replicas(local_entity_id=entity.id)
        except LookupProblem as error:
            return (), error.problem
        except ArrayError as error:
            return (), problem_from(error)
        return tuple(to_array_replica(r, source.name) for r in found if r.link_id in (None, link.id)), None

    # -- executing ----------------------------------------------------------------------------------
    async def _execute(
        self, desired: Desired, plan: Plan, observed: Observation, body: Mapping[str, Any], memory: _Memory
    ) -> tuple[StepResult, ...]:
        results: list[StepResult] = []
        for step in plan.steps:
            connection = self.arrays.get(observed.side(step.side).array)
            if connection is None or connection.client is None:
                results.append(StepResult(step, Problem("ArrayUnreachable", "no connection to the array")))
                break
            if isinstance(step, RunAction):
                await self._record_action_start(body, desired, observed, step)
            result = await self._run(desired, step, connection, observed, memory)
            metrics.STEPS.labels(type(step).__name__, "ok" if result.problem is None else "failed").inc()
            results.append(result)
            if result.problem is not None:
                break
        return tuple(results)

    async def _run(
        self,
        desired: Desired,
        step: Step,
        connection: ArrayConnection,
        observed: Observation,
        memory: _Memory,
    ) -> StepResult:
        client = connection.client
        assert client is not None
        answered: Replica | None = None
        try:
            if isinstance(step, Create):
                answered = await self._create(desired, connection, step, memory.source_entity)
            elif isinstance(step, ChangeType):
                await client.change_type(
                    step.replica_id,
                    ArrayReplicationType(step.to.value),
                    rpo=step.rpo,
                    sync_interval=step.sync_interval,
                )
            elif isinstance(step, UpdateSchedule):
                answered = await client.update_replica(
                    step.replica_id, rpo=step.rpo, sync_interval=step.sync_interval
                )
            elif isinstance(step, Suspend):
                await client.suspend(step.replica_id)
            elif isinstance(step, Resume):
                await client.resume(step.replica_id)
            elif isinstance(step, RunAction):
                await _run_action(client, step)
            elif isinstance(step, Delete):
                await _delete(client, step)
                for side in (observed.source, observed.target):
                    other = self.arrays.get(side.array)
                    if other is not None and side.replica is not None:
                        other.forget(side.replica.id)
            else:  # pragma: no cover - every Step subclass is handled above
                raise TypeError(f"unknown step {step!r}")
        except LookupProblem as error:
            return StepResult(step, error.problem)
        except OutcomeUnknown as error:
            why = "the array did not answer; the next pass checks whether it happened"
            return StepResult(step, Problem("ArrayUnreachable", f"{error} ({why})"), code=error.code)
        except InvalidState as error:
            return StepResult(step, Problem("Rejected", str(error)), code=error.code)
        except (BadRequest, Conflict, NotFound) as error:
            if isinstance(step, Create):  # perhaps a cached link or pool id that is gone
                for name in (desired.spec.source.array, desired.spec.target.array):
                    if (involved := self.arrays.get(name)) is not None:
                        self.arrays.forget_lookups(involved)
            return StepResult(step, Problem("Rejected", str(error)), code=error.code)
        except ArrayError as error:
            return StepResult(step, problem_from(error), code=error.code)
        if answered is None:
            return StepResult(step)
        return StepResult(step, replica=connection.remember(answered))

    async def _create(
        self,
        desired: Desired,
        source: ArrayConnection,
        step: Create,
        entity: Dataset | ConsistencyGroup | None,
    ) -> Replica:
        """Resolve every name of the spec to an id, then create the replica marked as ours."""
        spec = desired.spec
        client = source.client
        assert client is not None
        target = self.arrays.get(spec.target.array)
        if target is None or target.client is None or target.problem is not None:
            raise LookupProblem(
                target.problem
                if target is not None and target.problem
                else Problem("ArrayUnreachable", f"the target array {spec.target.array} is not connected")
            )
        link = await self.arrays.link(source, spec.target.link, target)
        entity = entity or await _resolve_source(source, desired)
        common: _CreateCommon = {
            "link_id": link.id,
            "replication_type": ArrayReplicationType(spec.replication_type.value),
            "rpo": spec.rpo if spec.replication_type is ReplicationType.ASYNC else None,
            "sync_interval": spec.sync_interval if spec.replication_type is ReplicationType.ASYNC else None,
            "description": owner_mark(desired.uid, desired.namespace, desired.name),
        }
        if isinstance(spec, ConsistencyGroupReplicaSpec):
            assert isinstance(entity, ConsistencyGroup)
            if step.reuse_target is not None and step.reuse_members:
                request = await self._cg_onto_previous(step, source, target, entity, common)
            else:
                request = await self._cg_request(spec, source, target, entity, common)
        elif step.reuse_target is not None:
            entity_type = EntityType(desired.entity_kind.value)
            remote = await _find_dataset(target, entity_type, step.reuse_target)
            request = CreateReplicaRequest.existing_target(
                entity_type=entity_type, local_entity_id=entity.id, remote_entity_id=remote.id, **common
            )
        else:
            request = await self._dataset_request(spec, desired, source, target, entity, common)
        return await client.create_replica(request)

    async def _cg_onto_previous(
        self,
        step: Create,
        source: ArrayConnection,
        target: ArrayConnection,
        group: ConsistencyGroup,
        common: _CreateCommon,
    ) -> CreateReplicaRequest:
        """A lost group replica, created again onto the remote group and members it had."""
        assert step.reuse_target is not None
        remote_group = await _find_group(target, step.reuse_target)
        pairs: dict[int, int] = {}
        for local_name, remote_name in step.reuse_members:
            local = await _find_dataset(source, EntityType.VOLUME, local_name)
            remote = await _find_dataset(target, EntityType.VOLUME, remote_name)
            pairs[local.id] = remote.id
        return CreateReplicaRequest.cg_existing_target(
            local_cg_id=group.id, remote_cg_id=remote_group.id, member_mappings=pairs, **common
        )

    async def _dataset_request(
        self,
        spec: ReplicaSpec,
        desired: Desired,
        source: ArrayConnection,
        target: ArrayConnection,
        entity: Dataset | ConsistencyGroup,
        common: _CreateCommon,
    ) -> CreateReplicaRequest:
        entity_type = EntityType(desired.entity_kind.value)
        mode = spec.target.mode
        if mode is TargetMode.CREATE:
            assert spec.target.pool is not None
            pool = await self.arrays.pool_id(target, spec.target.pool)
            return CreateReplicaRequest.create_target(
                entity_type=entity_type,
                local_entity_id=entity.id,
                remote_pool_id=pool,
                remote_entity_name=spec.target.name,
                **common,
            )
        if mode is TargetMode.EXISTING:
            assert spec.target.name is not None
            remote = await _find_dataset(target, entity_type, spec.target.name)
            return CreateReplicaRequest.existing_target(
                entity_type=entity_type, local_entity_id=entity.id, remote_entity_id=remote.id, **common
            )
        assert spec.target.base_snapshot is not None
        local_snapshot = await _find_snapshot(source, entity_type, spec.target.base_snapshot.local)
        remote_snapshot = await _find_snapshot(target, entity_type, spec.target.base_snapshot.remote)
        base = SnapshotBase(
            local_entity_id=entity.id,
            remote_entity_id=_parent(remote_snapshot, target),
            local_snapshot_id=local_snapshot.id,
            remote_snapshot_id=remote_snapshot.id,
        )
        return CreateReplicaRequest.from_base_snapshots(entity_type=entity_type, base=base, **common)

    async def _cg_request(
        self,
        spec: ConsistencyGroupReplicaSpec,
        source: ArrayConnection,
        target: ArrayConnection,
        group: ConsistencyGroup,
        common: _CreateCommon,
    ) -> CreateReplicaRequest:
        assert source.client is not None
        assert target.client is not None
        mode = spec.target.mode
        if mode is TargetMode.CREATE:
            assert spec.target.pool is not None
            members = await source.client.list_cg_members(group.id)
            pool = await self.arrays.pool_id(target, spec.target.pool)
            return CreateReplicaRequest.cg_create_target(
                local_cg_id=group.id, member_ids=[m.id for m in members], remote_pool_id=pool, **common
            )
        assert spec.target.name is not None or mode is TargetMode.BASE_SNAPSHOT
        remote_group = await _find_group(target, spec.target.name or group.name)
        mappings = spec.target.member_mappings or []
        if mode is TargetMode.EXISTING:
            pairs: dict[int, int] = {}
            for mapping in mappings:
                assert mapping.local is not None
                assert mapping.remote is not None
                local = await _find_dataset(source, EntityType.VOLUME, mapping.local)
                remote = await _find_dataset(target, EntityType.VOLUME, mapping.remote)
                pairs[local.id] = remote.id
            return CreateReplicaRequest.cg_existing_target(
                local_cg_id=group.id, remote_cg_id=remote_group.id, member_mappings=pairs, **common
            )
        bases = []
        for mapping in mappings:
            assert mapping.local_snapshot is not None
            assert mapping.remote_snapshot is not None
            local_snapshot = await _find_snapshot(source, EntityType.VOLUME, mapping.local_snapshot)
            remote_snapshot = await _find_snapshot(target, EntityType.VOLUME, mapping.remote_snapshot)
            bases.append(
                SnapshotBase(
                    local_entity_id=_parent(local_snapshot, source),
                    remote_entity_id=_parent(remote_snapshot, target),
                    local_snapshot_id=local_snapshot.id,
                    remote_snapshot_id=remote_snapshot.id,
                )
            )
        return CreateReplicaRequest.cg_from_base_snapshots(
            local_cg_id=group.id, remote_cg_id=remote_group.id, members=bases, **common
        )

    async def _record_action_start(
        self, body: Mapping[str, Any], desired: Desired, observed: Observation, step: RunAction
    ) -> None:
        """Write InProgress (and which side is source now) before the call: an action runs once per id."""
        last = desired.status.last_action
        started = last.started_at if last is not None and last.id == step.action.id else datetime.now(UTC)
        record = LastAction(
            id=step.action.id,
            type=step.action.type,
            result=ActionResult.IN_PROGRESS,
            message=f"running: {step.describe()}",
            started_at=started,
        )
        patch: dict[str, Any] = {"lastAction": record.to_cr()}
        primary = observed.primary
        if primary is not None:
            patch["currentSource"] = {
                "array": observed.side(primary[0]).array,
                "entity": primary[1].local_entity,
            }
        await self._patch(body, desired, patch)

    # -- after the steps ----------------------------------------------------------------------------
    async def _refresh(
        self, desired: Desired, observed: Observation, results: Sequence[StepResult]
    ) -> Observation:
        """Re-read what the steps changed, so that status tells the truth now.

        A create or an update answers with the whole replica (no extra read); other steps
        cost one GET of the replica they changed, a role action one per side (both roles moved).
        """
        sides = {SideName.SOURCE: observed.source, SideName.TARGET: observed.target}
        for result in results:
            step = result.step
            if result.problem is not None:
                continue
            if isinstance(step, Delete):
                sides = {name: replace(side, replica=None) for name, side in sides.items()}
                continue
            if result.replica is not None:  # the array's answer is the fresh state: no read needed
                sides[step.side] = replace(sides[step.side], replica=result.replica, polled=True)
                continue
            touched = [step.side, step.side.other] if isinstance(step, RunAction) else [step.side]
            for name in touched:
                sides[name] = await self._reread(sides[name], step.replica_id if name is step.side else None)
        return replace(observed, source=sides[SideName.SOURCE], target=sides[SideName.TARGET])

    async def _reread(self, side: Side, replica_id: int | None) -> Side:
        connection = self.arrays.get(side.array)
        replica_id = replica_id if replica_id is not None else (side.replica.id if side.replica else None)
        if connection is None or connection.client is None or replica_id is None:
            return side
        try:
            fresh = connection.remember(await connection.client.get_replica(replica_id))
        except ArrayError:
            return side
        return replace(side, replica=fresh, polled=True)

    async def _write(
        self, body: Mapping[str, Any], desired: Desired, update: StatusUpdate, memory: _Memory
    ) -> None:
        new = update.status.to_cr()
        old = dict(body.get("status") or {})
        patch: dict[str, Any] = {key: None for key in old if key not in new}
        patch.update(new)
        version = await self._patch(body, desired, patch)
        if version is not None:
            memory.stale_version = body["metadata"].get("resourceVersion")
            memory.written_status = new

    async def _patch(self, body: Mapping[str, Any], desired: Desired, patch: dict[str, Any]) -> str | None:
        try:
            return await self.kube.patch_status(
                resource_of(desired.kind), desired.namespace, desired.name, patch
            )
        except KubeError as error:
            log.warning("%s %s: status not written: %s", desired.kind, desired.ref, error)
            return None

    async def _post(self, body: Mapping[str, Any], events: Sequence[Event]) -> None:
        reference = {"apiVersion": API_VERSION, "kind": body["kind"], "metadata": body["metadata"]}
        for event in events:
            await self.kube.post_event(
                reference, type=event.type.value, reason=event.reason, message=event.message
            )

    def _export(self, desired: Desired, observed: Observation) -> None:
        primary = observed.primary
        if primary is None:
            return
        replica = primary[1]
        rpo = replica.rpo.total_seconds() if replica.rpo else None
        metrics.record_lag(
            desired.kind, desired.namespace, desired.name, replica.last_synchronized, rpo, observed.now
        )


def _material(replica: ArrayReplica | None) -> Hashable:
    """A replica without what moves between transitions; plus whether its RPO is breached now."""
    if replica is None:
        return None
    breached = bool(
        replica.rpo is not None
        and replica.last_synchronized is not None
        and datetime.now(UTC) - replica.last_synchronized > replica.rpo
    )
    progress = replica.progress if replica.initializing else None
    return (
        replace(replica, last_synchronized=None, progress=progress, sync_state=sync_state(replica)),
        breached,
    )


# -- helpers: array look-ups ------------------------------------------------------------------------
async def _resolve_source(connection: ArrayConnection, desired: Desired) -> Dataset | ConsistencyGroup:
    name = desired.source_entity
    if desired.entity_kind is EntityKind.CONSISTENCY_GROUP:
        return await _find_group(connection, name)
    return await _find_dataset(connection, EntityType(desired.entity_kind.value), name)


async def _find_dataset(connection: ArrayConnection, entity_type: EntityType, name: str) -> Dataset:
    assert connection.client is not None
    finder = (
        connection.client.find_volume
        if entity_type is EntityType.VOLUME
        else connection.client.find_filesystem
    )
    found = await finder(name)
    if found is None:
        kind = entity_type.value.lower()
        raise LookupProblem(Problem("EntityNotFound", f"{kind} {name} does not exist on {connection.name}"))
    return found


async def _find_group(connection: ArrayConnection, name: str) -> ConsistencyGroup:
    assert connection.client is not None
    found = await connection.client.find_consistency_group(name)
    if found is None:
        raise LookupProblem(
            Problem("EntityNotFound", f"consistency group {name} does not exist on {connection.name}")
        )
    return found


async def _find_snapshot(connection: ArrayConnection, entity_type: EntityType, name: str) -> Dataset:
    assert connection.client is not None
    found = await connection.client.find_snapshot(name, entity_type=entity_type)
    if found is None:
        raise LookupProblem(
            Problem("SnapshotNotFound", f"snapshot {name} does not exist on {connection.name}")
        )
    return found


def _parent(snapshot: Dataset, connection: ArrayConnection) -> int:
    if snapshot.parent_id is None:
        raise LookupProblem(
            Problem("SnapshotNotFound", f"{snapshot.name} on {connection.name} is not a snapshot")
        )
    return snapshot.parent_id


async def _run_action(client: InfiniBoxClient, step: RunAction) -> None:
    if step.action.type is ActionType.SYNC_NOW:
        await client.sync_now(step.replica_id)
    elif step.action.type is ActionType.SWITCH_ROLE:
        await client.switch_role(step.replica_id)
    else:
        await client.change_role(step.replica_id)


async def _delete(client: InfiniBoxClient, step: Delete) -> None:
    try:
        await client.delete_replica(step.replica_id, force_on_target=step.force_on_target)
    except NotFound:
        return  # already gone: that is what we wanted
