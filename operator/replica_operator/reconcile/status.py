"""From a plan, its results and the arrays, the status to write and the Events to post.

Status is written on transitions only: a periodic async job moving ``last_synchronized``
forward is not a transition, so 1,000 quiet replicas cause no Kubernetes writes. The live
figures (lag, last sync) are metrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from replica_operator.api import (
    ActionResult,
    ConditionStatus,
    ConditionType,
    ConsistencyGroupReplicaStatus,
    Endpoint,
    LastAction,
    MemberStatus,
    ReplicationType,
    schedule_applies,
)

from .conditions import Verdict, camel_reason, merge
from .desired import Desired, Status
from .events import Event, StepResult, events_of
from .observed import (
    ACTIVE,
    AUTO_SUSPENDED,
    INITIALIZING,
    RPO_LAGGING,
    SUSPENDED,
    SYNC_IN_PROGRESS,
    SYNCHRONIZED,
    ArrayReplica,
    Observation,
    SideName,
)
from .plan import Plan
from .progress import WAITING_CODES, replica_progress
from .steps import RunAction

NOT_RECORDED = "StatusNotWritten"
"""The reason of a one-shot action not sent because its InProgress record could not be written."""
T, F, U = ConditionStatus.TRUE, ConditionStatus.FALSE, ConditionStatus.UNKNOWN


@dataclass(frozen=True)
class StatusUpdate:
    status: Status
    events: tuple[Event, ...]
    changed: bool


#: A change of ``progress`` alone is written at most this often (every other change at once).
PROGRESS_WRITE_SECONDS = 30.0


#: Written with every status write, never a reason for one.
_VOLATILE = ("lastObserved", "lastSynchronized")


def only_progress_moved(previous: Status, current: Status) -> bool:
    """Whether the status to write differs from ``previous`` in ``progress`` only (an initialization
    or a sync job going on): a write per poll for that costs a write and a watch event each time."""
    before, after = previous.to_cr(), current.to_cr()
    ignored = {"progress": None, **dict.fromkeys(_VOLATILE)}
    return before.get("progress") != after.get("progress") and {**before, **ignored} == {**after, **ignored}


def summarize(
    desired: Desired, plan: Plan, results: Sequence[StepResult], observed: Observation, now: datetime
) -> StatusUpdate:
    """The status for ``observed`` (read after the steps ran) and the Events that tell the story."""
    previous = desired.status
    primary = observed.primary
    replica = primary[1] if primary else None
    source_replica, target_replica = observed.source.replica, observed.target.replica
    missing = plan.blocked is not None and plan.blocked.reason == "NotFound" and replica is None
    unreachable = replica is None and not missing

    status = previous.model_copy()  # fields are replaced below, never changed in place
    status.observed_generation = desired.generation
    if source_replica is not None:
        status.replica_id = source_replica.id
        status.role = source_replica.role.value
        status.source_serial = observed.source.serial or status.source_serial
    if target_replica is not None:
        status.remote_replica_id = target_replica.id
    elif source_replica is not None and source_replica.remote_id is not None:
        status.remote_replica_id = source_replica.remote_id
    if status.remote_replica_id is not None:
        status.target_serial = observed.target.serial or status.target_serial
    if plan.forget and source_replica is None:
        status.replica_id = status.remote_replica_id = None
        status.source_serial = status.target_serial = None
    if replica is not None:
        _copy_replica(status, replica)
        status.current_source, status.current_target = _endpoints(desired, observed, primary)
    elif missing:
        status.state = status.sync_state = None
        status.progress = None
    if not unreachable or missing:
        status.pending_replication_type = plan.pending_type
    status.last_action = _last_action(desired, plan, results, now)
    status.conditions = merge(
        previous.conditions,
        _verdicts(desired, plan, results, observed, now, status.last_action),
        generation=desired.generation,
        now=now,
    )
    changed = status != previous  # the volatile fields are still the previous ones here
    if not changed:
        return StatusUpdate(previous, events_of(plan, results, previous, previous), False)
    status.last_observed = now
    if replica is not None:
        status.last_synchronized = replica.last_synchronized
    return StatusUpdate(status, events_of(plan, results, previous, status), True)


# -- status fields from the array ------------------------------------------------------------
def sync_state(replica: ArrayReplica) -> str | None:
    """The sync state to show. For ASYNC a periodic job in flight is not a change of state:
    the replica stays SYNCHRONIZED while it meets its RPO (the job is visible in metrics)."""
    if replica.initializing:
        return INITIALIZING
    reported = replica.sync_state or None
    if replica.replication_type is ReplicationType.ASYNC:
        if replica.rpo_state == RPO_LAGGING:
            return "OUT_OF_SYNC"
        if reported in (None, SYNC_IN_PROGRESS):
            return SYNCHRONIZED
    return reported


def _copy_replica(status: Status, replica: ArrayReplica) -> None:
    scheduled = schedule_applies(replica.replication_type)
    status.state = replica.state or None
    status.sync_state = sync_state(replica)
    status.replication_type = replica.type_name
    status.rpo = replica.rpo if scheduled else None
    status.sync_interval = replica.sync_interval if scheduled else None
    status.rpo_state = replica.rpo_state or None
    in_progress = status.sync_state in (INITIALIZING, SYNC_IN_PROGRESS)
    status.progress = max(0, min(100, replica.progress or 0)) if in_progress else 100
    if isinstance(status, ConsistencyGroupReplicaStatus):
        claims = {m.local: m.persistent_volume_claim for m in status.members}  # kept: the controller's
        status.members = [
            MemberStatus(local=local, remote=remote, persistent_volume_claim=claims.get(local))
            for local, remote in replica.members
        ]


def _endpoints(
    desired: Desired, observed: Observation, primary: tuple[SideName, ArrayReplica] | None
) -> tuple[Endpoint, Endpoint]:
    assert primary is not None
    name, replica = primary
    here = Endpoint(array=observed.side(name).array, entity=replica.local_entity)
    there = Endpoint(array=observed.side(name.other).array, entity=replica.remote_entity)
    if name is SideName.SOURCE and here.entity is None:
        here = Endpoint(array=here.array, entity=desired.source_entity)
    return here, there


# -- the one-shot action's record -------------------------------------------------------------
def _last_action(
    desired: Desired, plan: Plan, results: Sequence[StepResult], now: datetime
) -> LastAction | None:
    action, last = desired.spec.action, desired.status.last_action
    if action is None:
        return last
    same = last is not None and last.id == action.id
    started = last.started_at if same and last is not None else now
    attempted = last.attempted_at if same and last is not None else None
    ran = next((r for r in results if isinstance(r.step, RunAction)), None)

    def record(result: ActionResult, message: str, attempted_at: datetime | None = attempted) -> LastAction:
        done = result is not ActionResult.IN_PROGRESS
        return LastAction(
            id=action.id,
            type=action.type,
            result=result,
            message=message,
            started_at=started,
            completed_at=now if done else None,
            attempted_at=None if done else attempted_at,
        )

    if plan.action_done:
        return record(ActionResult.SUCCEEDED, f"{action.type} took effect on the arrays")
    if ran is not None:
        problem = ran.problem
        if problem is None:
            return record(ActionResult.SUCCEEDED, ran.step.done())
        if ran.outcome_unknown:  # sent, answer lost: never final, never re-sent blindly
            why = "the next passes decide from the arrays whether it took effect"
            return record(ActionResult.IN_PROGRESS, f"answer lost: {problem.message} ({why})", now)
        if problem.reason == NOT_RECORDED:  # not sent: an earlier attempt, if any, still counts
            return record(ActionResult.IN_PROGRESS, f"will retry: {problem.message}")
        if problem.retryable and (ran.code in WAITING_CODES or ran.code is None):
            # The array answered with a refusal: it did not act, so the next pass may send it again.
            return record(ActionResult.IN_PROGRESS, f"will retry: {problem.message}", None)
        return record(ActionResult.FAILED, f"{problem.reason}: {problem.message}")
    if plan.action_failure is not None:
        return record(ActionResult.FAILED, plan.action_failure.message)
    if plan.action_wait is not None:
        return record(ActionResult.IN_PROGRESS, plan.action_wait)
    return last


# -- conditions ------------------------------------------------------------------------------
def _verdicts(
    desired: Desired,
    plan: Plan,
    results: Sequence[StepResult],
    observed: Observation,
    now: datetime,
    action: LastAction | None,
) -> list[Verdict]:
    synced = _synced(desired, plan, results)
    primary = observed.primary
    replica = primary[1] if primary else None
    verdicts = [_ready(desired, observed, synced), synced]
    verdicts.append(_replicating(replica, observed))
    verdicts.append(_rpo_compliant(replica, now))
    failures = [(r.problem, r.code) for r in results if r.problem is not None]
    verdicts.extend(replica_progress(desired, plan, failures, observed, action))
    return verdicts


def _synced(desired: Desired, plan: Plan, results: Sequence[StepResult]) -> Verdict:
    kind = ConditionType.SYNCED
    failed = next((r for r in results if r.problem is not None and not isinstance(r.step, RunAction)), None)
    if failed is not None and failed.problem is not None:
        return Verdict(
            kind, F, failed.problem.reason, f"could not {failed.step.describe()}: {failed.problem.message}"
        )
    if plan.blocked is not None:
        return Verdict(kind, F, plan.blocked.reason, plan.blocked.message)
    if plan.unknown is not None:
        return Verdict(kind, U, plan.unknown.reason, plan.unknown.message)
    if plan.pending_type is not None:
        return Verdict(
            kind,
            F,
            "TypeChangeDeferred",
            f"the change to {plan.pending_type} waits for the initial sync (INITIALIZING) to finish; it is "
            "applied automatically as soon as it does",
        )
    if desired.deleting:
        return Verdict(kind, F, "Deleting", "the replica is being deleted")
    corrected = [r.step for r in results if r.problem is None and r.step.drift]
    if corrected:
        return Verdict(
            kind, T, "DriftCorrected", "put back changes made on the array: " + "; ".join(plan.drift)
        )
    return Verdict(kind, T, "Synced", "the arrays match the spec")


def _ready(desired: Desired, observed: Observation, synced: Verdict) -> Verdict:
    kind = ConditionType.READY
    if observed.split_brain:
        return Verdict(kind, F, "RoleConflict", synced.message)
    primary = observed.primary
    if primary is None:
        if synced.reason in ("NotFound", "Conflict") or not any(
            (observed.source.replica, observed.target.replica)
        ):
            reason = synced.reason if synced.status is F else "NotCreated"
            message = synced.message if synced.status is F else "the replica does not exist yet"
            return Verdict(kind, F, reason, message)
        problem = observed.source.problem
        if problem is not None:
            return Verdict(kind, U, problem.reason, problem.message)
        return Verdict(kind, F, "SourceUnavailable", "no replica reports the SOURCE role")
    name, replica = primary
    problem = observed.side(name).problem
    if problem is not None:
        return Verdict(kind, U, problem.reason, f"last known state is shown; {problem.message}")
    state = replica.state or ""
    if replica.initializing:
        return Verdict(
            kind, F, "Initializing", f"replica {replica.id} is copying the initial data to the target"
        )
    if state == AUTO_SUSPENDED:
        why = replica.state_reason or "the array suspended replication"
        if not desired.spec.auto_resume:
            why += "; spec.autoResume is false: resume it yourself (set spec.autoResume to true)"
        return Verdict(kind, F, "AutoSuspended", f"replica {replica.id} is AUTO_SUSPENDED: {why}")
    if state == SUSPENDED:
        if desired.spec.suspended:
            return Verdict(kind, T, "Suspended", f"replica {replica.id} is suspended, as the spec asks")
        return Verdict(kind, F, "Suspended", f"replica {replica.id} is suspended; the spec asks to resume it")
    shown = sync_state(replica)
    if state != ACTIVE:
        return Verdict(
            kind, F, camel_reason(state or "Unknown"), f"replica {replica.id} is {state or 'in no state'}"
        )
    if shown not in (SYNCHRONIZED, SYNC_IN_PROGRESS, None):
        return Verdict(kind, F, camel_reason(shown), f"replica {replica.id} is {shown}")
    return Verdict(
        kind,
        T,
        "Healthy",
        f"{replica.type_name} replica {replica.id} is ACTIVE and {shown or 'running'}",
    )


def _replicating(replica: ArrayReplica | None, observed: Observation) -> Verdict:
    kind = ConditionType.REPLICATING
    if replica is None:
        if observed.source.problem is not None:
            return Verdict(kind, U, observed.source.problem.reason, observed.source.problem.message)
        return Verdict(kind, F, "NoReplica", "there is no source replica")
    if observed.link_problem is not None:
        return Verdict(kind, F, observed.link_problem.reason, observed.link_problem.message)
    state = replica.state or ""
    if state == ACTIVE:
        reason = "Initializing" if replica.initializing else "Active"
        return Verdict(kind, T, reason, f"data flows from {replica.array} to the target")
    return Verdict(kind, F, camel_reason(state or "Unknown"), f"replication is {state or 'not running'}")


def _rpo_compliant(replica: ArrayReplica | None, now: datetime) -> Verdict:
    kind = ConditionType.RPO_COMPLIANT
    if replica is None:
        return Verdict(kind, U, "NoReplica", "no source replica to measure")
    if replica.initializing:
        return Verdict(kind, F, "Initializing", "the initial sync has not finished")
    if replica.is_suspended:
        return Verdict(kind, F, camel_reason(replica.state or "Suspended"), "replication is suspended")
    if replica.replication_type is ReplicationType.SYNC:
        shown = sync_state(replica)
        if shown == SYNCHRONIZED:
            return Verdict(kind, T, "Synchronous", "every write reaches both arrays (RPO zero)")
        return Verdict(kind, F, camel_reason(shown or "Unknown"), f"the SYNC replica is {shown}")
    if replica.rpo_state == RPO_LAGGING:
        return Verdict(kind, F, "RPOExceeded", f"the array reports the RPO as {replica.rpo_state}")
    lag = now - replica.last_synchronized if replica.last_synchronized is not None else None
    if replica.rpo is not None and lag is not None and lag > replica.rpo:
        return Verdict(kind, F, "RPOExceeded", "the last sync is older than the RPO")
    return Verdict(kind, T, "WithinRPO", "the last sync met the RPO")
