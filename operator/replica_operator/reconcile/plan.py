"""The rules: from what the user asked for and what the arrays show, decide what to do.

``decide`` is a pure function. It never calls an array; it returns the steps to take and
the findings the status must report (a deferred type change, drift, a conflict...). The
controller executes the steps and hands the results to :mod:`.status`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from replica_operator.api import (
    ActionResult,
    ActionType,
    DeletionPolicy,
    DriftPolicy,
    ReplicationType,
)

from .actions import after_lost_answer, role_action_done
from .caveats import unreadable_replica
from .claims import candidate_to_take_over, claim, conflict
from .claims import located as located_sides
from .compare import compare, recovery_steps
from .creation import create_step, recreate_step
from .deletion import deletion_steps, replicas_to_delete
from .desired import RECREATE_ANNOTATION, Desired
from .identity import changed_array
from .observed import (
    REMOTE_REPLICA_MISSING,
    SYNCHRONIZED,
    ArrayReplica,
    Observation,
    Problem,
    SideName,
)
from .ownership import describe_owner, owner_uid
from .steps import ChangeType, RunAction, Step


@dataclass(frozen=True)
class Plan:
    """What to do now, and what the status must say about what is not done."""

    steps: tuple[Step, ...] = ()
    observation: Observation | None = None
    """The observation the plan was made from, with an adopted replica filled in."""
    adopted: ArrayReplica | None = None
    blocked: Problem | None = None
    """Why the arrays cannot be brought in line now (Synced=False with this reason)."""
    pending_type: ReplicationType | None = None
    """A type change that waits for the replica to leave INITIALIZING."""
    drift: tuple[str, ...] = ()
    """Differences made on the array outside Kubernetes (corrected or reported)."""
    action_wait: str | None = None
    action_failure: Problem | None = None
    action_done: bool = False
    """spec.action already took effect (found after a crash between the call and the status write)."""
    release: bool = False
    """Deletion may complete: nothing (more) to do on the arrays."""
    forget: bool = False
    """The known replica is gone and will be recreated: the ids in status no longer apply."""
    unknown: Problem | None = None
    """Why the replica cannot be compared with the spec (Synced=Unknown with this reason; no steps)."""


def decide(desired: Desired, observed: Observation) -> Plan:
    """The single entry point of the rules (DESIGN §4, issues 6 and 9)."""
    leaving = desired.deleting and (
        desired.spec.deletion_policy is DeletionPolicy.ORPHAN or not desired.full_management
    )
    if (changed := changed_array(observed)) is not None and not leaving:
        return Plan(blocked=changed, observation=observed)  # no call with ids of another system
    if desired.deleting:
        return _decide_deletion(desired, observed)
    located = _locate(desired, observed)
    if located.blocked is not None or located.steps:
        return dataclasses.replace(located, observation=located.observation or observed)
    observation = located.observation or observed
    if desired.full_management and (claimed := claim(desired, observation)) is not None:
        if isinstance(claimed, Problem):
            return Plan(blocked=claimed, observation=observation, adopted=located.adopted)
        return Plan(steps=(claimed,), observation=observation, adopted=located.adopted)
    plan = _decide_changes(desired, observation)
    return dataclasses.replace(plan, adopted=located.adopted, observation=observation)


# -- locating the replica -------------------------------------------------------------------
def _locate(desired: Desired, observed: Observation) -> Plan:
    """Find the object's replica: known ids first, then adoption, else create (or report)."""
    source = observed.source
    if source.replica is not None:
        return Plan(observation=observed)
    if desired.status.replica_id is not None or desired.status.remote_replica_id is not None:
        if observed.searched and observed.source.usable:  # both sides gone; the search came first
            return _recreate(desired, observed)
        if observed.target.replica is not None:
            return Plan(observation=observed)  # the source side is away; the target side tells the rest
        if not source.usable:
            return Plan(blocked=_not_usable(source.problem, source.array))
        return _recreate(desired, observed)
    if not source.usable:
        return Plan(blocked=_not_usable(source.problem, source.array))
    if observed.search_problem is not None:
        return Plan(blocked=observed.search_problem)
    if not observed.searched:
        return Plan(blocked=_not_usable(source.problem, source.array))
    adopted = adoptable(desired, observed.candidates)
    if adopted is not None:
        observation = dataclasses.replace(observed, source=dataclasses.replace(source, replica=adopted))
        return Plan(observation=observation, adopted=adopted)
    if desired.full_management and (taken := candidate_to_take_over(desired, observed.candidates)):
        replica = next(c for c in observed.candidates if c.id == taken.replica_id)
        observation = dataclasses.replace(observed, source=dataclasses.replace(source, replica=replica))
        return Plan(steps=(taken,), observation=observation)
    if observed.candidates:
        other = observed.candidates[0]
        return Plan(
            blocked=Problem(
                "Conflict",
                f"{desired.entity_kind.lower().replace('_', ' ')} {desired.source_entity} on {source.array} "
                f"is already replicated by replica {other.id}, which belongs to "
                f"{describe_owner(other.description)}; the operator never takes over another owner's replica",
                retryable=False,
            )
        )
    if not desired.full_management:
        return Plan(
            blocked=Problem(
                "NotFound",
                f"managementPolicy is ObserveOnly and {source.array} has no replica of "
                f"{desired.entity_kind.lower().replace('_', ' ')} {desired.source_entity} to observe",
            )
        )
    if not observed.target.usable:
        return Plan(blocked=_not_usable(observed.target.problem, observed.target.array))
    if observed.unsupported is not None:
        return Plan(blocked=observed.unsupported)  # refused here, not by a raw array error
    return Plan(steps=(create_step(desired, observed.source_entity_id),))


def _recreate(desired: Desired, observed: Observation) -> Plan:
    """A lost replica, recreated on request: after the same search as any create (issue 14, item 8)."""
    if not desired.recreate_missing or not desired.full_management:
        return Plan(blocked=_missing(desired, observed.source.array))
    if not observed.target.usable:
        return Plan(blocked=_not_usable(observed.target.problem, observed.target.array))
    if observed.unsupported is not None:
        return Plan(blocked=observed.unsupported)
    if observed.search_problem is not None:
        return Plan(blocked=observed.search_problem)
    if not observed.searched:
        return Plan(blocked=_not_usable(observed.source.problem, observed.source.array))
    adopted = adoptable(desired, observed.candidates)
    if adopted is not None:
        source = dataclasses.replace(observed.source, replica=adopted)
        return Plan(observation=dataclasses.replace(observed, source=source), adopted=adopted)
    if observed.candidates:
        return Plan(
            blocked=conflict(observed.candidates[0], describe_owner(observed.candidates[0].description))
        )
    return Plan(steps=(recreate_step(desired),), forget=True)


def adoptable(desired: Desired, candidates: tuple[ArrayReplica, ...]) -> ArrayReplica | None:
    """The replica the object may take as its own: one marked with its uid, or under ObserveOnly any."""
    ours = [c for c in candidates if owner_uid(c.description) == desired.uid]
    if ours:
        return ours[0]
    if candidates and not desired.full_management:
        return candidates[0]
    return None


def _not_usable(problem: Problem | None, array: str) -> Problem:
    return problem or Problem("Observing", f"waiting for the first listing of replicas on {array}")


def _missing(desired: Desired, array: str) -> Problem:
    return Problem(
        "NotFound",
        f"replica {desired.status.replica_id} no longer exists on {array}: it was deleted outside "
        f'Kubernetes. It is not recreated automatically; annotate this object {RECREATE_ANNOTATION}="true" '
        "to recreate it, or delete this object",
        retryable=False,
    )


# -- bringing an existing replica in line ---------------------------------------------------
def _decide_changes(desired: Desired, observed: Observation) -> Plan:
    action_plan = _decide_action(desired, observed)
    if observed.split_brain:
        return dataclasses.replace(
            action_plan,
            steps=(),
            blocked=Problem(
                "RoleConflict",
                f"both {observed.source.array} and {observed.target.array} report their replica as SOURCE "
                "(after a ChangeRole while the other array was away); resolve it on the arrays, e.g. by "
                "deleting the replica on the array that must become the target",
                retryable=False,
            ),
        )
    primary = observed.primary
    if primary is None:
        problem = observed.source.problem or Problem(
            "SourceUnavailable",
            f"neither {observed.source.array} nor {observed.target.array} reports a SOURCE replica",
        )
        return dataclasses.replace(action_plan, blocked=problem)
    side_name, replica = primary
    if observed.side(side_name).problem is not None:
        return dataclasses.replace(action_plan, blocked=observed.side(side_name).problem)

    unreadable = unreadable_replica(replica, observed.side(side_name).array)
    if unreadable is not None:
        return dataclasses.replace(action_plan, steps=(), unknown=unreadable)
    corrections, differences, pending = compare(desired, side_name, replica)
    if observed.unsupported is not None and any(isinstance(step, ChangeType) for step in corrections):
        return dataclasses.replace(action_plan, steps=(), blocked=observed.unsupported)
    recovery = recovery_steps(desired, observed, side_name, replica)
    drifting = bool(differences) and desired.in_sync_generation == desired.generation
    if not desired.full_management:
        blocked = (
            _drifted("ObserveOnly: the array differs from the spec", differences) if differences else None
        )
        return dataclasses.replace(action_plan, steps=(), blocked=blocked, drift=differences)
    if drifting and desired.spec.drift_policy is DriftPolicy.REPORT:
        return dataclasses.replace(
            action_plan,
            steps=(*recovery, *action_plan.steps),
            blocked=_drifted(
                "the array was changed outside Kubernetes and driftPolicy is Report", differences
            ),
            drift=differences,
        )
    if drifting:
        corrections = tuple(dataclasses.replace(step, drift=True) for step in corrections)
    return dataclasses.replace(
        action_plan,
        steps=(*corrections, *recovery, *action_plan.steps),
        pending_type=pending,
        drift=differences if drifting else (),
    )


def _drifted(prefix: str, differences: tuple[str, ...]) -> Problem:
    return Problem("Drifted", f"{prefix}: {'; '.join(differences)}")


# -- one-shot actions -----------------------------------------------------------------------
def action_pending(desired: Desired) -> bool:
    """Whether spec.action still has to run (a new id, or one that is InProgress)."""
    action, last = desired.spec.action, desired.status.last_action
    if action is None:
        return False
    return last is None or last.id != action.id or last.result is ActionResult.IN_PROGRESS


def _decide_action(desired: Desired, observed: Observation) -> Plan:
    """Run ``spec.action`` once per id: wait while the array cannot, fail when it never will."""
    action = desired.spec.action
    if action is None or not action_pending(desired):
        return Plan()
    if not desired.full_management:
        return Plan(action_failure=Problem("Rejected", "managementPolicy is ObserveOnly: actions never run"))
    last = desired.status.last_action
    if last is not None and last.id == action.id and role_action_done(desired, observed):
        return Plan(action_done=True)
    if last is not None and last.id == action.id and last.attempted_at is not None:
        seen = after_lost_answer(desired, observed, last.attempted_at)
        if seen is not None:
            return Plan(action_done=seen.done, action_wait=seen.wait)
    if observed.split_brain:
        return Plan(action_wait="waiting for the role conflict to be resolved")
    if action.type is ActionType.CHANGE_ROLE:
        return _decide_change_role(desired, observed)
    primary = observed.primary
    if primary is None:
        return Plan(action_wait="waiting for the source side of the replica to be reachable")
    side_name, replica = primary
    if observed.side(side_name).problem is not None:
        return Plan(action_wait=f"waiting for {observed.side(side_name).array} to answer")
    if replica.initializing:
        return Plan(action_wait="waiting for the initial sync (INITIALIZING) to finish")
    wanted = ReplicationType.ASYNC if action.type is ActionType.SYNC_NOW else ReplicationType.SYNC
    if replica.replication_type is not wanted:
        if desired.spec.replication_type is wanted:
            return Plan(action_wait=f"waiting for the change to {wanted}")
        why = (
            "SyncNow applies to ASYNC replicas only"
            if action.type is ActionType.SYNC_NOW
            else "SwitchRole needs a SYNC replica (a planned switch keeps both sides identical); change "
            "replicationType to SYNC first, or use ChangeRole for an unplanned failover"
        )
        return Plan(action_failure=Problem("Rejected", why))
    if replica.is_suspended and replica.state_reason == REMOTE_REPLICA_MISSING:
        why = f"replica {replica.id} has no peer any more (the array reports {REMOTE_REPLICA_MISSING})"
        return Plan(action_failure=Problem("Rejected", f"{action.type} cannot run: {why}"))
    if replica.is_suspended:
        return Plan(action_wait=f"waiting for replication to resume (it is {replica.state})")
    if action.type is ActionType.SWITCH_ROLE:
        if not (observed.source.usable and observed.target.usable):
            return Plan(action_wait="waiting for both arrays to answer (a planned switch needs both)")
        if replica.sync_state != SYNCHRONIZED:
            return Plan(
                action_wait=f"waiting for the replica to be SYNCHRONIZED (it is {replica.sync_state})"
            )
    return Plan(steps=(RunAction(side=side_name, replica_id=replica.id, action=action),))


def _decide_change_role(desired: Desired, observed: Observation) -> Plan:
    """Unplanned failover: promote the TARGET side, even while the source array is lost."""
    action = desired.spec.action
    assert action is not None
    for name in (SideName.TARGET, SideName.SOURCE):
        side = observed.side(name)
        if side.replica is not None and not side.replica.is_source:
            if side.problem is not None:
                return Plan(action_wait=f"waiting for {side.array} (the target side) to answer")
            return Plan(steps=(RunAction(side=name, replica_id=side.replica.id, action=action),))
    return Plan(action_wait="waiting to see the target side of the replica")


# -- deletion ---------------------------------------------------------------------------------
def _decide_deletion(desired: Desired, observed: Observation) -> Plan:
    if desired.spec.deletion_policy is DeletionPolicy.ORPHAN or not desired.full_management:
        return Plan(release=True, observation=observed)
    if claim(dataclasses.replace(desired, take_over=None), observed) is not None and not _marked_in_part(
        desired, observed
    ):
        return Plan(release=True, observation=observed)  # another owner's replica: it stays theirs
    # A pair with our mark on one side and another's on the other (a take-over whose peer PUT
    # failed) is deleted: the guard lets the Delete through only once that other owner is gone.
    same = observed.source.serial
    if same is not None and same == observed.target.serial and observed.source.array != observed.target.array:
        why = (
            f"{observed.source.array} and {observed.target.array} lead to the same system (serial {same}): "
            "which replica is on which array is unknown, so nothing is deleted until they differ again"
        )
        return Plan(blocked=Problem("DeletionBlocked", why), observation=observed)
    steps = deletion_steps(replicas_to_delete(observed), observed)
    for step in steps:
        side = observed.side(step.side)
        if side.problem is not None:
            return Plan(
                blocked=_deletion_blocked(step.replica_id, side.array, side.problem), observation=observed
            )
        other = observed.side(step.side.other)
        if step.force_on_target and not other.usable:
            # A TARGET goes alone only once the other array was searched and holds no SOURCE of
            # this object: deleted while that array is away, its SOURCE would stay there, marked
            # by an object that is gone (a leak, and a replica to nowhere when the array returns).
            return Plan(
                blocked=_deletion_blocked(step.replica_id, side.array, other.problem, other.array),
                observation=observed,
            )
    if observed.marked_problem is not None:
        why = f"the search for its marked replicas failed: {observed.marked_problem.message}"
        return Plan(blocked=Problem("DeletionBlocked", why), observation=observed)
    if steps:
        return Plan(steps=steps, observation=observed)
    known = desired.status.replica_id
    if known is not None and not observed.source.usable:
        return Plan(
            blocked=_deletion_blocked(known, observed.source.array, observed.source.problem),
            observation=observed,
        )
    return Plan(release=True, observation=observed)


def _marked_in_part(desired: Desired, observed: Observation) -> bool:
    """Whether a side of the pair carries this object's mark (as located, or found by the mark)."""
    seen = (*(replica for _, replica in located_sides(observed)), *observed.marked)
    return any(owner_uid(replica.description) == desired.uid for replica in seen)


def _deletion_blocked(
    replica_id: int, array: str, problem: Problem | None, unsearched: str | None = None
) -> Problem:
    """Why a Delete waits: its own array does not answer, or (``unsearched``) the array that may hold
    its SOURCE cannot be searched yet."""
    waiting_on = unsearched or array
    why = problem.message if problem else f"{waiting_on} has not been listed yet"
    if unsearched is not None:
        why = f"its source may be on {unsearched}, which cannot be searched: {why}"
    return Problem(
        "DeletionBlocked",
        f"cannot delete replica {replica_id} on {array} ({why}); the operator keeps trying. To remove this "
        "object and leave the replica on the array, set spec.deletionPolicy to Orphan",
    )
