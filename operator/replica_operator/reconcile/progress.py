"""The kstatus conditions ``Reconciling`` and ``Stalled``, from the same findings as Ready and Synced.

kstatus (sigs.k8s.io/cli-utils ``pkg/kstatus/status``: what Flux's health checks and cli-utils'
wait read) follows the "abnormal-true" pattern: ``Reconciling=True`` says the controller is still
working on the object (InProgress), ``Stalled=True`` that it cannot progress without the user
(Failed). ``checkGenericProperties`` takes the first of the two that is True in list order, so at
most one is ever True here. When they do not apply both are written False (the convention allows
absent or False; False keeps a stable lastTransitionTime and lets ``kubectl wait
--for=condition=Stalled=false`` work).
"""

from __future__ import annotations

from collections.abc import Sequence

from replica_operator.api import ActionResult, ConditionStatus, ConditionType, LastAction

from .conditions import Verdict
from .desired import Desired
from .observed import ACTIVE, SUSPENDED, Observation, Problem
from .plan import Plan
from .steps import Create

# Problems whose step may succeed later without anyone changing anything (array error codes).
WAITING_CODES = frozenset({"REPLICA_IS_INITIALIZING", "LINK_DISCONNECTED"})

# Reasons that only the user can clear, whatever their retry flag says: a name that resolves to
# nothing (entity, pool, link, InfiniBox object), another owner, a refusal, bad credentials, a
# namespace the InfiniBox does not allow. Retrying them changes nothing until the user acts.
USER_REASONS = frozenset(
    {
        "NotFound",
        "EntityNotFound",
        "SnapshotNotFound",
        "PoolNotFound",
        "LinkNotFound",
        "LinkAmbiguous",
        "ArrayNotFound",
        "Conflict",
        "Rejected",
        "Unauthorized",
        "NamespaceNotAllowed",
        "SecretNotFound",
        "SecretInvalid",
    }
)

T, F = ConditionStatus.TRUE, ConditionStatus.FALSE
IDLE = Verdict(ConditionType.RECONCILING, F, "Idle", "no work in progress")
RETRYING = Verdict(
    ConditionType.RECONCILING, F, "Retrying", "waiting for what Synced or Ready reports to clear by itself"
)
NOT_STALLED = Verdict(ConditionType.STALLED, F, "NotStalled", "nothing needs the user")


def needs_user(problem: Problem) -> bool:
    """Whether the operator can only wait for the user to fix ``problem``."""
    return not problem.retryable or problem.reason in USER_REASONS


def stalled_on(problem: Problem) -> tuple[Verdict, Verdict]:
    """(Reconciling, Stalled) for an object stuck on ``problem``."""
    reconciling = Verdict(ConditionType.RECONCILING, F, "Stalled", "waiting for the user (see Stalled)")
    return reconciling, Verdict(ConditionType.STALLED, T, problem.reason, problem.message)


def reconciling(reason: str, message: str) -> tuple[Verdict, Verdict]:
    """(Reconciling, Stalled) for work the operator is doing or waiting on by itself."""
    return Verdict(ConditionType.RECONCILING, T, reason, message), NOT_STALLED


def array_progress(problem: Problem | None, connected: bool) -> tuple[Verdict, Verdict]:
    """An InfiniBox: Stalled on bad credentials or Secret, Reconciling until it is connected.

    An InfiniBox has no Ready condition, so while the operator retries an unreachable array only
    ``Reconciling=True`` keeps kstatus at InProgress instead of Current.
    """
    if problem is not None and needs_user(problem):
        return stalled_on(problem)
    if problem is not None:
        return reconciling(problem.reason, f"reconnecting: {problem.message}")
    if not connected:
        return reconciling("Connecting", "logging in to the array")
    return IDLE, NOT_STALLED


def replica_progress(
    desired: Desired,
    plan: Plan,
    failures: Sequence[tuple[Problem, str | None]],
    observed: Observation,
    action: LastAction | None,
) -> tuple[Verdict, Verdict]:
    """(Reconciling, Stalled) of a Replica or ConsistencyGroupReplica after one pass.

    ``failures`` are the problems (and array error codes) of the steps that failed this pass.
    A problem the operator retries by itself (an unreachable array) is neither: Ready and Synced
    say what is wrong, and kstatus keeps waiting, as it should for something that can heal.
    """
    troubles = [problem for problem, code in failures if code not in WAITING_CODES]
    sides = [side.problem for side in (observed.source, observed.target) if side.problem is not None]
    stuck = next((p for p in [*troubles, plan.blocked, *sides] if p is not None and needs_user(p)), None)
    if stuck is not None:
        return stalled_on(stuck)
    asked = desired.spec.action
    if (
        action is not None
        and asked is not None
        and action.id == asked.id
        and action.result is ActionResult.FAILED
    ):
        return stalled_on(Problem("ActionFailed", f"{action.type} {action.id}: {action.message}"))
    if desired.deleting:
        return reconciling("Deleting", "the replica is being deleted")
    primary = observed.primary
    seen_from = observed.side(primary[0]) if primary else observed.source
    if troubles or plan.blocked is not None or seen_from.problem is not None:
        return RETRYING, NOT_STALLED
    return _work(desired, plan, observed, action) or (IDLE, NOT_STALLED)


def _work(
    desired: Desired, plan: Plan, observed: Observation, action: LastAction | None
) -> tuple[Verdict, Verdict] | None:
    """Reconciling=True for work in progress that needs no one: the states of issue 16, item 4."""
    if plan.pending_type is not None:
        return reconciling(
            "TypeChangeDeferred", f"the change to {plan.pending_type} waits for the initial sync to finish"
        )
    if action is not None and action.result is ActionResult.IN_PROGRESS:
        return reconciling("ActionInProgress", f"{action.type} {action.id} is in progress")
    primary = observed.primary
    replica = primary[1] if primary else None
    if replica is None:
        if any(isinstance(step, Create) for step in plan.steps):
            return reconciling("Creating", "creating the replica on the arrays")
        return None
    if replica.initializing:
        return reconciling("Initializing", f"replica {replica.id} is copying the initial data to the target")
    if not desired.full_management:
        return None
    if desired.spec.suspended and replica.state == ACTIVE:
        return reconciling("Suspending", f"suspending replica {replica.id} until the array shows it")
    if not desired.spec.suspended and replica.state == SUSPENDED:
        return reconciling("Resuming", f"resuming replica {replica.id} until the array shows it")
    return None
