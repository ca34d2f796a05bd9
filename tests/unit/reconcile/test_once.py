"""Issue 14 items 5 and 7 in the rules: suspension first, one-shot actions decided from the arrays."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from replica_operator.api import Action, ActionResult, ActionType, ReplicationType
from replica_operator.reconcile import (
    NOT_RECORDED,
    ChangeType,
    Desired,
    Problem,
    Role,
    RunAction,
    SideName,
    StepResult,
    Suspend,
    decide,
    summarize,
)
from tests.unit.reconcile.builders import NOW, SYNCED_STATUS, desired, observe, peer, replica


def _in_progress(kind: str, attempted_ago: timedelta | None) -> dict[str, object]:
    record: dict[str, object] = {
        "id": "a-1",
        "type": kind,
        "result": "InProgress",
        "startedAt": (NOW - timedelta(minutes=10)).isoformat(),
    }
    if attempted_ago is not None:
        record["attemptedAt"] = (NOW - attempted_ago).isoformat()
    return {**SYNCED_STATUS, "lastAction": record}


def _sync_now(status: dict[str, object]) -> Desired:
    return desired({"action": {"id": "a-1", "type": "SyncNow"}}, status)


def test_a_suspension_comes_before_a_type_change() -> None:
    obj = desired({"replicationType": "SYNC", "suspended": True}, SYNCED_STATUS, generation=2)
    plan = decide(obj, observe(replica()))
    assert [type(step) for step in plan.steps] == [Suspend, ChangeType]


def test_sync_now_whose_answer_was_lost_succeeded_when_the_last_sync_is_newer() -> None:
    obj = _sync_now(_in_progress("SyncNow", timedelta(seconds=30)))
    source = replica(last_synchronized=NOW - timedelta(seconds=10))
    plan = decide(obj, observe(source, peer(source)))
    assert plan.action_done
    assert plan.steps == ()


def test_sync_now_whose_answer_was_lost_is_not_sent_again_while_the_arrays_may_still_show_it() -> None:
    obj = _sync_now(_in_progress("SyncNow", timedelta(seconds=30)))
    source = replica(last_synchronized=NOW - timedelta(seconds=40))
    plan = decide(obj, observe(source, peer(source)))
    assert plan.steps == ()
    assert plan.action_wait is not None
    assert "lost" in plan.action_wait


def test_sync_now_is_sent_again_once_the_arrays_showed_no_effect_for_the_grace() -> None:
    obj = _sync_now(_in_progress("SyncNow", timedelta(minutes=3)))
    source = replica(last_synchronized=NOW - timedelta(minutes=4))
    plan = decide(obj, observe(source, peer(source)))
    assert [type(step) for step in plan.steps] == [RunAction]


def test_an_in_progress_action_never_sent_runs_at_once() -> None:
    obj = _sync_now(_in_progress("SyncNow", None))
    source = replica(last_synchronized=NOW - timedelta(minutes=4))
    plan = decide(obj, observe(source, peer(source)))
    assert [type(step) for step in plan.steps] == [RunAction]


def test_a_switch_whose_roles_moved_succeeded_and_one_whose_roles_did_not_waits() -> None:
    spec = {"replicationType": "SYNC", "action": {"id": "a-1", "type": "SwitchRole"}}
    obj = desired(spec, _in_progress("SwitchRole", timedelta(seconds=20)))
    source = replica(replication_type=ReplicationType.SYNC)
    moved = observe(
        dataclasses.replace(source, role=Role.TARGET),
        dataclasses.replace(peer(source), role=Role.SOURCE, state="ACTIVE"),
    )
    assert decide(obj, moved).action_done
    waiting = decide(obj, observe(source, peer(source)))
    assert waiting.steps == ()
    assert waiting.action_wait is not None


SYNC_NOW_STEP = RunAction(
    side=SideName.SOURCE, replica_id=101, action=Action(id="a-1", type=ActionType.SYNC_NOW)
)


def _record(result: StepResult) -> tuple[ActionResult, bool]:
    """What the status says of the action after ``result``, and whether it records an attempt now."""
    obj = desired({"action": {"id": "a-1", "type": "SyncNow"}}, _in_progress("SyncNow", None))
    observed = observe(replica(), peer(replica()))
    update = summarize(obj, decide(obj, observed), [result], observed, NOW)
    last = update.status.last_action
    assert last is not None
    return last.result, last.attempted_at == NOW


def test_a_lost_answer_stays_in_progress_with_the_attempt_recorded() -> None:
    problem = Problem("ArrayUnreachable", "connection lost")
    lost = StepResult(SYNC_NOW_STEP, problem, code="CONNECTION_LOST", outcome_unknown=True)
    assert _record(lost) == (ActionResult.IN_PROGRESS, True)


def test_a_refusal_or_an_unwritten_record_stays_in_progress_without_an_attempt() -> None:
    refused = StepResult(SYNC_NOW_STEP, Problem("Rejected", "initializing"), code="REPLICA_IS_INITIALIZING")
    assert _record(refused) == (ActionResult.IN_PROGRESS, False)
    not_recorded = StepResult(SYNC_NOW_STEP, Problem(NOT_RECORDED, "status refused"))
    assert _record(not_recorded) == (ActionResult.IN_PROGRESS, False)
