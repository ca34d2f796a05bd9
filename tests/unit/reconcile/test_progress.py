"""kstatus conditions: Reconciling=True while work runs by itself, Stalled=True when only the user can help.

kstatus (cli-utils) takes the first True of the two, so a state never sets both; when neither
applies both are False (abnormal-true convention), and every condition carries the generation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest

from replica_operator.api import ActionResult, ConditionStatus
from replica_operator.reconcile import (
    Desired,
    Observation,
    Problem,
    RunAction,
    StatusUpdate,
    StepResult,
    array_progress,
    decide,
    summarize,
)
from tests.unit.reconcile.builders import NOW, SYNCED_STATUS, UNREACHABLE, desired, observe, peer, replica

INITIALIZING = replica(initializing=True, sync_state="INITIALIZING", progress=10)


def _pass(obj: Desired, observed: Observation, results: Sequence[StepResult] = ()) -> StatusUpdate:
    plan = decide(obj, observed)
    return summarize(obj, plan, results, plan.observation or observed, NOW)


def _kstatus(update: StatusUpdate) -> tuple[tuple[str, str], tuple[str, str]]:
    """(Reconciling, Stalled) as (status, reason); both must be there, never both True."""
    found = {c.type: (c.status.value, c.reason) for c in update.status.conditions}
    reconciling, stalled = found["Reconciling"], found["Stalled"]
    assert not (reconciling[0] == stalled[0] == "True")
    return reconciling, stalled


IDLE, NOT_STALLED = ("False", "Idle"), ("False", "NotStalled")
RETRYING = ("False", "Retrying")


def test_a_healthy_replica_is_neither_reconciling_nor_stalled() -> None:
    update = _pass(desired(status=SYNCED_STATUS), observe(replica(), peer(replica())))
    assert _kstatus(update) == (IDLE, NOT_STALLED)


def test_creating_and_then_the_initial_sync_are_reconciling() -> None:
    obj = desired()
    plan = decide(obj, observe(searched=True))
    created = summarize(obj, plan, [StepResult(plan.steps[0])], observe(), NOW)
    assert _kstatus(created) == (("True", "Creating"), NOT_STALLED)
    initializing = _pass(desired(status=SYNCED_STATUS), observe(INITIALIZING, peer(INITIALIZING)))
    assert _kstatus(initializing) == (("True", "Initializing"), NOT_STALLED)


def test_a_deferred_type_change_is_reconciling() -> None:
    obj = desired({"replicationType": "SYNC"}, SYNCED_STATUS)
    update = _pass(obj, observe(INITIALIZING, peer(INITIALIZING)))
    assert _kstatus(update) == (("True", "TypeChangeDeferred"), NOT_STALLED)
    reconciling = next(c for c in update.status.conditions if c.type == "Reconciling")
    assert "SYNC" in reconciling.message


@pytest.mark.parametrize(
    ("spec_suspended", "state", "expected"),
    [
        (True, "ACTIVE", ("True", "Suspending")),
        (False, "SUSPENDED", ("True", "Resuming")),
        (True, "SUSPENDED", IDLE),
    ],
)
def test_suspending_and_resuming_reconcile_until_the_array_shows_it(
    spec_suspended: bool, state: str, expected: tuple[str, str]
) -> None:
    shown = replica(state=state)
    update = _pass(desired({"suspended": spec_suspended}, SYNCED_STATUS), observe(shown, peer(shown)))
    assert _kstatus(update) == (expected, NOT_STALLED)


def test_an_action_in_progress_is_reconciling_and_a_failed_one_is_stalled() -> None:
    obj = desired({"action": {"id": "s1", "type": "SyncNow"}}, SYNCED_STATUS)
    plan = decide(obj, observe(replica(), peer(replica())))
    step = plan.steps[0]
    assert isinstance(step, RunAction)
    busy = StepResult(step, Problem("InvalidState", "busy"), code="REPLICA_IS_INITIALIZING")
    waiting = summarize(obj, plan, [busy], observe(replica(), peer(replica())), NOW)
    assert waiting.status.last_action is not None
    assert waiting.status.last_action.result is ActionResult.IN_PROGRESS
    assert _kstatus(waiting) == (("True", "ActionInProgress"), NOT_STALLED)
    refused = StepResult(step, Problem("Rejected", "no"), code="REPLICA_TYPE_MISMATCH")
    failed = summarize(obj, plan, [refused], observe(replica(), peer(replica())), NOW)
    assert _kstatus(failed) == (("False", "Stalled"), ("True", "Rejected"))


def test_a_missing_entity_stalls_with_the_lookups_reason() -> None:
    missing = Problem("EntityNotFound", "volume vol-1 does not exist on ibox-1")
    observed = dataclasses.replace(observe(searched=True), search_problem=missing)
    update = _pass(desired(), observed)
    assert _kstatus(update) == (("False", "Stalled"), ("True", "EntityNotFound"))
    stalled = next(c for c in update.status.conditions if c.type == "Stalled")
    assert stalled.message == missing.message


def test_another_owners_replica_is_a_stalling_conflict() -> None:
    foreign = replica(description="k8s-uid=someone-else k8s-object=other/rep")
    update = _pass(desired(), observe(candidates=(foreign,), searched=True))
    assert _kstatus(update) == (("False", "Stalled"), ("True", "Conflict"))


@pytest.mark.parametrize(
    "problem",
    [
        Problem("Unauthorized", "the array refused the credentials", retryable=False),
        Problem("NamespaceNotAllowed", "InfiniBox ibox-2 does not allow namespace ns", retryable=False),
        Problem("PoolNotFound", "pool pool-1 does not exist on ibox-2"),
        Problem("LinkNotFound", "link l does not exist on ibox-1"),
    ],
)
def test_problems_only_the_user_can_fix_stall(problem: Problem) -> None:
    update = _pass(desired(), observe(searched=True, target_problem=problem))
    assert _kstatus(update) == (("False", "Stalled"), ("True", problem.reason))


def test_a_refused_step_stalls_but_one_waiting_for_the_initial_sync_does_not() -> None:
    obj = desired({"rpo": "10m"}, SYNCED_STATUS)
    plan = decide(obj, observe(replica(), peer(replica())))
    step = plan.steps[0]
    refused = _pass_with(obj, StepResult(step, Problem("Rejected", "bad rpo"), code="BAD_RPO"))
    assert _kstatus(refused) == (("False", "Stalled"), ("True", "Rejected"))
    waiting = _pass_with(obj, StepResult(step, Problem("Rejected", "wait"), code="REPLICA_IS_INITIALIZING"))
    assert _kstatus(waiting)[1] == NOT_STALLED


def _pass_with(obj: Desired, result: StepResult) -> StatusUpdate:
    observed = observe(replica(), peer(replica()))
    return summarize(obj, decide(obj, observed), [result], observed, NOW)


def test_an_unreachable_array_heals_by_itself_so_it_is_neither() -> None:
    for shown in (replica(), INITIALIZING):
        observed = observe(shown, source_problem=UNREACHABLE)
        update = _pass(desired(status=SYNCED_STATUS), observed)
        assert _kstatus(update) == (RETRYING, NOT_STALLED)


def test_deleting_is_reconciling() -> None:
    update = _pass(desired(status=SYNCED_STATUS, deleting=True), observe(replica(), peer(replica())))
    assert _kstatus(update)[0] == ("True", "Deleting")


def test_every_condition_and_the_status_carry_the_generation() -> None:
    update = _pass(desired(status=SYNCED_STATUS, generation=7), observe(INITIALIZING, peer(INITIALIZING)))
    assert update.status.observed_generation == 7
    assert {c.observed_generation for c in update.status.conditions} == {7}


def test_kstatus_conditions_are_stable_so_a_quiet_replica_writes_nothing() -> None:
    obj = desired(status=SYNCED_STATUS)
    first = _pass(obj, observe(INITIALIZING, peer(INITIALIZING)))
    assert first.changed
    again = _pass(dataclasses.replace(obj, status=first.status), observe(INITIALIZING, peer(INITIALIZING)))
    assert not again.changed


@pytest.mark.parametrize(
    ("problem", "connected", "expected"),
    [
        (None, True, (IDLE, NOT_STALLED)),
        (None, False, (("True", "Connecting"), NOT_STALLED)),
        (
            Problem("Unauthorized", "refused", retryable=False),
            False,
            (("False", "Stalled"), ("True", "Unauthorized")),
        ),
        (
            Problem("SecretNotFound", "Secret ns/creds does not exist"),
            False,
            (("False", "Stalled"), ("True", "SecretNotFound")),
        ),
        (
            Problem("ArrayUnreachable", "connection refused"),
            False,
            (("True", "ArrayUnreachable"), NOT_STALLED),
        ),
    ],
)
def test_an_infiniboxs_kstatus_conditions(
    problem: Problem | None, connected: bool, expected: tuple[tuple[str, str], tuple[str, str]]
) -> None:
    reconciling, stalled = array_progress(problem, connected)
    assert (
        (reconciling.status.value, reconciling.reason),
        (stalled.status.value, stalled.reason),
    ) == expected
    assert (
        ConditionStatus.TRUE not in (reconciling.status, stalled.status)
        or reconciling.status != stalled.status
    )
