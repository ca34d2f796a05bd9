"""``status.lastAction`` per outcome of a one-shot action, read whole: result, words and the three times.

``startedAt`` stays the first pass's time for one action id, ``completedAt`` is set once it is
final, and ``attemptedAt`` (InProgress only) says a call was sent whose answer is not known, so
the next passes decide from the arrays before ever sending it again (issue 13).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from replica_operator.api import Action, ActionResult, ActionType, LastAction
from replica_operator.reconcile import NOT_RECORDED, Plan, Problem, RunAction, SideName, StepResult, summarize
from tests.unit.reconcile.builders import NOW, SYNCED_STATUS, desired, observe, peer, replica

STARTED = NOW - timedelta(minutes=3)
SENT = NOW - timedelta(minutes=1)
ACTION = Action(id="sync-7", type=ActionType.SYNC_NOW)
STEP = RunAction(side=SideName.SOURCE, replica_id=101, action=ACTION)
DONE = "ran SyncNow (action sync-7) on replica 101"
OBSERVED = observe(replica(), peer(replica()))


def _in_progress(attempted: datetime | None = SENT, action_id: str = "sync-7") -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": action_id,
        "type": "SyncNow",
        "result": "InProgress",
        "message": "sending",
        "startedAt": "2026-11-25T11:57:00Z",
    }
    if attempted is not None:
        record["attemptedAt"] = attempted.strftime("%Y-%m-%dT%H:%M:%SZ")
    return record


def _last(plan: Plan, results: list[StepResult], last: dict[str, Any] | None = None) -> LastAction | None:
    status = {**SYNCED_STATUS, **({"lastAction": last} if last is not None else {})}
    wanted = desired({"action": {"id": "sync-7", "type": "SyncNow"}}, status)
    return summarize(wanted, plan, results, OBSERVED, NOW).status.last_action


def _record(result: ActionResult, message: str, *, started: datetime = NOW, **times: Any) -> LastAction:
    return LastAction(
        id="sync-7", type=ActionType.SYNC_NOW, result=result, message=message, started_at=started, **times
    )


def test_a_first_run_that_succeeds_is_final_at_once() -> None:
    assert _last(Plan(steps=(STEP,)), [StepResult(STEP)]) == _record(
        ActionResult.SUCCEEDED, DONE, completed_at=NOW
    )


def test_success_after_waiting_keeps_when_it_started_and_drops_the_attempt() -> None:
    assert _last(Plan(steps=(STEP,)), [StepResult(STEP)], _in_progress()) == _record(
        ActionResult.SUCCEEDED, DONE, started=STARTED, completed_at=NOW
    )


def test_a_new_action_id_starts_its_own_record() -> None:
    old = {**_in_progress(action_id="sync-6"), "result": "Succeeded", "completedAt": "2026-11-25T11:58:00Z"}
    assert _last(Plan(steps=(STEP,)), [StepResult(STEP)], old) == _record(
        ActionResult.SUCCEEDED, DONE, completed_at=NOW
    )


def test_a_lost_answer_stays_in_progress_with_the_time_it_was_sent() -> None:
    lost = StepResult(STEP, Problem("ArrayUnreachable", "read timed out"), outcome_unknown=True)
    assert _last(Plan(steps=(STEP,)), [lost], _in_progress(attempted=None)) == _record(
        ActionResult.IN_PROGRESS,
        "answer lost: read timed out (the next passes decide from the arrays whether it took effect)",
        started=STARTED,
        attempted_at=NOW,
    )


def test_not_sent_because_unrecorded_keeps_an_earlier_attempt() -> None:
    unrecorded = StepResult(STEP, Problem(NOT_RECORDED, "status write refused"))
    assert _last(Plan(steps=(STEP,)), [unrecorded], _in_progress()) == _record(
        ActionResult.IN_PROGRESS, "will retry: status write refused", started=STARTED, attempted_at=SENT
    )


@pytest.mark.parametrize("code", ["REPLICA_IS_INITIALIZING", "LINK_DISCONNECTED", None])
def test_a_refusal_the_array_may_lift_is_retried_and_clears_the_attempt(code: str | None) -> None:
    refused = StepResult(STEP, Problem("ArrayError", "link is down"), code=code)
    assert _last(Plan(steps=(STEP,)), [refused], _in_progress()) == _record(
        ActionResult.IN_PROGRESS, "will retry: link is down", started=STARTED
    )


@pytest.mark.parametrize(
    "problem", [Problem("ArrayError", "no such replica", retryable=False), Problem("ArrayError", "bad")]
)
def test_a_final_refusal_fails_with_the_arrays_reason(problem: Problem) -> None:
    code = None if not problem.retryable else "BAD_REQUEST"
    failed = StepResult(STEP, problem, code=code)
    assert _last(Plan(steps=(STEP,)), [failed], _in_progress()) == _record(
        ActionResult.FAILED, f"ArrayError: {problem.message}", started=STARTED, completed_at=NOW
    )


def test_found_done_on_the_arrays_succeeds_without_a_call() -> None:
    assert _last(Plan(action_done=True), [], _in_progress()) == _record(
        ActionResult.SUCCEEDED, "SyncNow took effect on the arrays", started=STARTED, completed_at=NOW
    )


def test_an_action_the_replica_never_allows_fails_with_why() -> None:
    plan = Plan(action_failure=Problem("Rejected", "SyncNow applies to ASYNC replicas only"))
    assert _last(plan, []) == _record(
        ActionResult.FAILED, "SyncNow applies to ASYNC replicas only", completed_at=NOW
    )


def test_a_wait_says_what_for_and_keeps_an_earlier_attempt() -> None:
    plan = Plan(action_wait="waiting for ibox-1 to answer")
    assert _last(plan, [], _in_progress()) == _record(
        ActionResult.IN_PROGRESS, "waiting for ibox-1 to answer", started=STARTED, attempted_at=SENT
    )


def test_a_pass_that_neither_runs_nor_waits_leaves_the_record_as_it_was() -> None:
    record = _in_progress()
    last = _last(Plan(), [], record)
    assert last == LastAction.model_validate(record)


def test_without_an_action_in_the_spec_the_last_record_stays() -> None:
    done = {**_in_progress(attempted=None), "result": "Succeeded", "completedAt": "2026-11-25T11:58:00Z"}
    status = {**SYNCED_STATUS, "lastAction": done}
    update = summarize(desired(status=status), Plan(), [], OBSERVED, NOW)
    assert update.status.last_action == LastAction.model_validate(done)


def test_a_new_action_never_inherits_the_attempt_of_an_abandoned_one() -> None:
    """sync-6 was sent (answer unknown) and then replaced by sync-7: sync-7 was never sent."""
    plan = Plan(action_wait="waiting for ibox-1 to answer")
    assert _last(plan, [], _in_progress(action_id="sync-6")) == _record(
        ActionResult.IN_PROGRESS, "waiting for ibox-1 to answer"
    )
