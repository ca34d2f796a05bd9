"""One pass over one replication object: observe, decide, execute, refresh, summarize, write.

Both the kopf handlers (an object changed) and the pollers (an array was listed) call
:meth:`Reconciler.reconcile`; a per-object lock makes them take turns. The rules are in
:mod:`replica_operator.reconcile`; this module only sequences the I/O around them.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from replica_operator import metrics
from replica_operator.api import ConsistencyGroupReplicaStatus, DeletionPolicy, ResolvedSource
from replica_operator.array import ArrayError
from replica_operator.reconcile import (
    PROGRESS_WRITE_SECONDS,
    ArrayReplica,
    Create,
    Delete,
    Desired,
    Event,
    EventType,
    Observation,
    Plan,
    Problem,
    RunAction,
    Side,
    SideName,
    StatusUpdate,
    Step,
    StepResult,
    accept_new_system,
    decide,
    only_progress_moved,
    summarize,
    sync_state,
)

from .execute import StepContext, assume_it_exists, execute
from .groups import Grouped, ensure_group, release_group, selector_of
from .memory import Backoff, Memories, ObjectMemory
from .observe import Observer
from .ports import InfiniBoxLookup, KubeSide, Registry
from .report import Reporter, known_replicas
from .sources import claim_of, resolve
from .targets import local_claim, target_claims, writable


class Trigger(StrEnum):
    EVENT = "event"
    POLL = "poll"
    DELETE = "delete"


@dataclass(frozen=True)
class Outcome:
    plan: Plan
    results: tuple[StepResult, ...]
    update: StatusUpdate
    held: Problem | None = None
    """Why the object may not go yet although its replica is gone (its owned group is not)."""


class Reconciler:
    """Reconciles replication objects against the arrays (``registry``) and Kubernetes (``kube``)."""

    def __init__(
        self,
        registry: Registry,
        kube: KubeSide,
        backoff: Backoff,
        clock: Callable[[], float] = time.monotonic,
        target_claim_namespaces: frozenset[str] = frozenset(),
    ) -> None:
        self.registry = registry
        self.target_claim_namespaces = target_claim_namespaces
        """Where a target claim of another namespace's object may be made (--target-claim-namespace)."""
        self.kube = kube
        self.reporter = Reporter(kube)
        self.observer = Observer(registry)
        self.backoff = backoff
        self.clock = clock
        self.memories = Memories()
        self.newest_known: Callable[[Mapping[str, Any]], Mapping[str, Any] | None] = _none
        """The newest body of an object the operator has received (the runtime sets the kopf index)."""
        self.owner_exists: Callable[[str], Awaitable[bool]] = assume_it_exists
        """Whether an object with this uid exists (the runtime answers from its indexes and,
        for objects of other shards, from the API)."""

    def forget(self, uid: str) -> None:
        self.memories.forget(uid)

    async def on_poll(self, body: Mapping[str, Any], infiniboxes: InfiniBoxLookup) -> None:
        """An array was listed: reconcile the object, unless nothing it depends on has changed.

        At a thousand quiet replicas that skips nearly all of them, nearly all the time.
        """
        memory = self.memories.of(body)
        body = memory.see(body)
        fingerprint = self._fingerprint(body, infiniboxes)
        if fingerprint is not None and fingerprint == memory.fingerprint and not memory.lock.locked():
            self.reporter.export_quiet(body, self.registry)
            metrics.RECONCILES.labels(str(body["kind"]), Trigger.POLL, "unchanged").inc()
            return
        outcome = await self.reconcile(body, Trigger.POLL, infiniboxes)
        plan = outcome.plan
        settled = not plan.steps and not outcome.results and plan.blocked is None and plan.action_wait is None
        settled = settled and memory.target_claim_problem is None
        if settled and outcome.update.status.replica_id is not None:
            # Only a settled object may be skipped: a blocked one waits for things (a volume, a
            # link, a pool to appear, an export for a claim) that the fingerprint does not see.
            memory.fingerprint = fingerprint

    async def reconcile(
        self, body: Mapping[str, Any], trigger: Trigger, infiniboxes: InfiniBoxLookup
    ) -> Outcome:
        """One pass: observe both arrays, decide, execute the steps, write status and Events."""
        memory = self.memories.of(body)
        started = time.monotonic()
        kind = str(body["kind"])
        memory.see(body)
        async with memory.lock:
            memory.fingerprint = None
            # Work from the newest body seen, never from the one this pass was handed: a poll's
            # fan-out captured its bodies before waiting here, and an older body would undo a
            # newer change (and write an older observedGeneration).
            newest = memory.see(self.newest_known(body))
            try:
                outcome = await self._pass(memory.latest(newest), trigger, infiniboxes, memory)
            except Exception:
                metrics.RECONCILES.labels(kind, trigger, "error").inc()
                raise
        failed = any(r.problem is not None for r in outcome.results) or outcome.plan.blocked is not None
        metrics.RECONCILES.labels(kind, trigger, "blocked" if failed else "ok").inc()
        metrics.RECONCILE_SECONDS.labels(kind, trigger).observe(time.monotonic() - started)
        return outcome

    async def _pass(
        self, body: Mapping[str, Any], trigger: Trigger, infiniboxes: InfiniBoxLookup, memory: ObjectMemory
    ) -> Outcome:
        claim, resolved_source, grouped = claim_of(body), None, None
        working = body
        selector = selector_of(body)
        if selector is not None:
            found = await ensure_group(body, selector, self.kube, self.registry, infiniboxes)
            if isinstance(found, Problem):
                return await self._unresolved(body, found, memory)
            working, grouped = found.body, found
        if claim is not None:
            resolved = await resolve(body, claim, self.kube, self.registry)
            if isinstance(resolved, Problem):
                return await self._unresolved(body, resolved, memory)
            working, resolved_source = resolved.body, resolved.source
        desired = accept_new_system(Desired.from_body(working), self._serial)
        observed = await self.observer.observe(desired, infiniboxes, fresh=trigger is not Trigger.POLL)
        plan = decide(desired, observed)
        observed = plan.observation or observed
        replayed = bool(plan.steps) and trigger is Trigger.POLL and memory.backing_off(self.clock())
        if replayed:  # backing off: show the last failures, call nothing; an action's outcome is
            # recorded once, by the pass that sent it (a replay re-stamped attemptedAt, so a lost
            # answer's grace never ran out while other steps backed off)
            results = tuple(r for r in memory.last_results if not isinstance(r.step, RunAction))
        else:
            results = await execute(
                plan.steps, lambda step: self._context(desired, observed, step, body, memory)
            )
            memory.note_results(results, self.backoff, self.clock())
        after = await self._refresh(observed, results)
        update = summarize(desired, plan, results, after, datetime.now(UTC))
        seen = after.source.replica is not None or after.target.replica is not None
        update = await self._claims(desired, update, claim, resolved_source, body, memory, grouped, seen)
        if (
            update.changed
            and not (desired.deleting and plan.release)
            and not self._hold(desired, update, memory)
        ):
            await self.reporter.write(body, desired, update, memory)
            memory.status_written_at = self.clock()
        await self.reporter.post(body, grouped.events if grouped else ())  # changes made this pass
        if not replayed:
            await self.reporter.post(body, update.events)
        self.reporter.export(desired, after)
        if update.status.pending_replication_type and not desired.status.pending_replication_type:
            metrics.DEFERRED_TYPE_CHANGES.inc()
        held = await self._release_group(desired, plan, results, body) if grouped else None
        return Outcome(plan, results, update, held)

    async def _release_group(
        self, desired: Desired, plan: Plan, results: Sequence[StepResult], body: Mapping[str, Any]
    ) -> Problem | None:
        """Once a deleted object's replica is gone, its owned group goes (deletionPolicy Delete)."""
        gone = plan.release or any(isinstance(r.step, Delete) and r.problem is None for r in results)
        if not (desired.deleting and gone and desired.spec.deletion_policy is DeletionPolicy.DELETE):
            return None
        return await release_group(body, self.registry)

    def _hold(self, desired: Desired, update: StatusUpdate, memory: ObjectMemory) -> bool:
        """A move of progress alone is written once PROGRESS_WRITE_SECONDS passed since the last write."""
        written = memory.status_written_at
        return (
            written is not None
            and self.clock() - written < PROGRESS_WRITE_SECONDS
            and only_progress_moved(desired.status, update.status)
        )

    async def _claims(
        self,
        desired: Desired,
        update: StatusUpdate,
        claim: str | None,
        resolved: ResolvedSource | None,
        body: Mapping[str, Any],
        memory: ObjectMemory,
        grouped: Grouped | None = None,
        members_seen: bool = False,
    ) -> StatusUpdate:
        """The claims in status: the resolved source, each member's source claim, the target
        claims (made here), the writable one."""
        status = update.status.model_copy()
        if resolved is not None:
            status.resolved_source = resolved
        if grouped is not None and isinstance(status, ConsistencyGroupReplicaStatus):
            status.members = [
                m.model_copy(update={"persistent_volume_claim": grouped.claims.get(m.local or "")})
                for m in status.members
            ]
        protocols = grouped.protocols if grouped else None
        allowed = self.target_claim_namespaces
        claims = await target_claims(
            desired, status, self.kube, self.registry, resolved, members_seen, protocols, allowed=allowed
        )
        local = await local_claim(desired, self.kube, self.registry, allowed=allowed)
        problems = [found for found in (claims, local) if isinstance(found, Problem)]
        message = "; ".join(problem.message for problem in problems) or None
        if message is not None and memory.target_claim_problem != message:
            events = tuple(Event(EventType.WARNING, p.reason, p.message) for p in problems)
            await self.reporter.post(body, events)
        memory.target_claim_problem = message
        if not isinstance(claims, Problem):
            if isinstance(status, ConsistencyGroupReplicaStatus):
                status.target_claims = claims or None
            else:
                status.target_claim = claims[0] if claims else None
        if not isinstance(local, Problem):
            status.local_claim = local[0] if local else None
        status.writable_claim = writable(desired, status, claim, status.target_claim)
        fields = (
            "resolved_source",
            "target_claim",
            "local_claim",
            "writable_claim",
            "target_claims",
            "members",
        )
        if all(getattr(status, f, None) == getattr(update.status, f, None) for f in fields):
            return update
        return replace(update, status=status, changed=True)

    async def _unresolved(self, body: Mapping[str, Any], problem: Problem, memory: ObjectMemory) -> Outcome:
        """A claim that names no entity (yet): Synced=False with the reason, nothing on the arrays.
        Deletion is released: with no entity resolved no replica can have been made."""
        desired = Desired.from_body(body)
        spec = desired.spec
        now = datetime.now(UTC)
        observed = Observation(source=Side(spec.source.array), target=Side(spec.target.array), now=now)
        plan = Plan(blocked=problem, release=desired.deleting and desired.status.replica_id is None)
        update = summarize(desired, plan, (), observed, now)
        if update.changed and not (desired.deleting and plan.release):
            await self.reporter.write(body, desired, update, memory)
        await self.reporter.post(body, update.events)
        return Outcome(plan, (), update)

    def _serial(self, array: str) -> int | None:
        """The serial of the system the array's connection leads to now."""
        connection = self.registry.get(array)
        system = connection.system if connection is not None else None
        return system.serial if system is not None else None

    def _context(
        self,
        desired: Desired,
        observed: Observation,
        step: Step,
        body: Mapping[str, Any],
        memory: ObjectMemory,
    ) -> StepContext | None:
        connection = self.registry.get(observed.side(step.side).array)
        if connection is None or connection.client is None:
            return None
        return StepContext(
            desired,
            observed,
            connection,
            self.registry,
            self.reporter,
            wrote=lambda patch: memory.wrote_part(body, patch),
            owner_exists=self.owner_exists,
        )

    def _fingerprint(self, body: Mapping[str, Any], infiniboxes: InfiniBoxLookup) -> Hashable:
        """Everything a quiet pass depends on: the object, both arrays' view of its replica, the
        arrays' objects, problems and link states, and whether the RPO is breached by now. Fields
        that move without being a transition (last sync time, an async job's progress) are left out.
        A claim selector's group has none: claims are not watched, each poll looks at them."""
        if selector_of(body) is not None:
            return None
        sides = []
        for array, replica_id in known_replicas(body):
            connection, array_body = self.registry.get(array), infiniboxes(array)
            if connection is None or connection.replicas is None or array_body is None:
                return None
            replica = connection.replicas.get(replica_id) if replica_id is not None else None
            sides.append(
                (
                    array_body["metadata"].get("resourceVersion"),
                    connection.problem,
                    connection.link_states,
                    _material(replica),
                )
            )
        return (body["metadata"].get("resourceVersion"), tuple(sides))

    # -- after the steps ----------------------------------------------------------------------------
    async def _refresh(self, observed: Observation, results: Sequence[StepResult]) -> Observation:
        """Re-read what the steps changed, so that status tells the truth now.

        A create or an update answers with the whole replica (no extra read); other steps
        cost one GET of the replica they changed, a role action one per side (both roles moved).
        A refused step re-reads its replica too: the refusal says the view it was decided from is
        stale, and the cache it refreshes is what the next pass decides from. Not a role action:
        its record keeps the roles of before the call, from which the next pass judges a lost answer.
        """
        sides = {SideName.SOURCE: observed.source, SideName.TARGET: observed.target}
        for result in results:
            step = result.step
            if result.problem is not None:
                if not isinstance(step, Create | RunAction):  # refused: what the array shows now
                    sides[step.side] = await self._reread(sides[step.side], step.replica_id)
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
        connection = self.registry.get(side.array)
        replica_id = replica_id if replica_id is not None else (side.replica.id if side.replica else None)
        if connection is None or connection.client is None or replica_id is None:
            return side
        if side.problem is not None:  # this pass could not read that array: no retries against it now
            return side
        try:
            fresh = connection.remember(await connection.client.get_replica(replica_id))
        except ArrayError:
            return side
        return replace(side, replica=fresh, polled=True)


def _none(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    return None


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
