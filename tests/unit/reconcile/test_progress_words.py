"""Reconciling and Stalled whole (status, reason, message) per situation, as kstatus tools show them."""

from __future__ import annotations

import dataclasses

from replica_operator.api import ConditionStatus, ConditionType, LastAction
from replica_operator.reconcile import Desired, Observation, Plan, Problem, Verdict, array_progress, decide
from replica_operator.reconcile.progress import replica_progress
from tests.unit.reconcile.builders import SYNCED_STATUS, UNREACHABLE, desired, observe, peer, replica

T, F = ConditionStatus.TRUE, ConditionStatus.FALSE
WAITING_FOR_USER = Verdict(ConditionType.RECONCILING, F, "Stalled", "waiting for the user (see Stalled)")
NOT_STALLED = Verdict(ConditionType.STALLED, F, "NotStalled", "nothing needs the user")
RETRYING = Verdict(
    ConditionType.RECONCILING, F, "Retrying", "waiting for what Synced or Ready reports to clear by itself"
)
IDLE = Verdict(ConditionType.RECONCILING, F, "Idle", "no work in progress")
BAD_PASSWORD = Problem("Unauthorized", "ibox-2 refused the credentials", retryable=False)


def _progress(
    wanted: Desired, observed: Observation, plan: Plan | None = None, action: LastAction | None = None
) -> tuple[Verdict, Verdict]:
    return replica_progress(wanted, plan or decide(wanted, observed), [], observed, action)


def test_an_array_that_needs_the_user_stalls_an_array_that_is_away_reconnects() -> None:
    assert array_progress(BAD_PASSWORD, connected=False) == (
        WAITING_FOR_USER,
        Verdict(ConditionType.STALLED, T, "Unauthorized", "ibox-2 refused the credentials"),
    )
    assert array_progress(UNREACHABLE, connected=False) == (
        Verdict(ConditionType.RECONCILING, T, "ArrayUnreachable", "reconnecting: ibox-1: connection refused"),
        NOT_STALLED,
    )
    assert array_progress(None, connected=False) == (
        Verdict(ConditionType.RECONCILING, T, "Connecting", "logging in to the array"),
        NOT_STALLED,
    )
    assert array_progress(None, connected=True) == (IDLE, NOT_STALLED)


def test_a_target_array_that_refuses_the_credentials_stalls_the_replica() -> None:
    observed = observe(replica(), peer(replica()), target_problem=BAD_PASSWORD)
    assert _progress(desired(status=SYNCED_STATUS), observed) == (
        WAITING_FOR_USER,
        Verdict(ConditionType.STALLED, T, "Unauthorized", "ibox-2 refused the credentials"),
    )


def _record(result: str, action_id: str = "sync-7") -> LastAction:
    return LastAction.model_validate(
        {"id": action_id, "type": "SyncNow", "result": result, "message": "the array refused it"}
    )


def test_a_failed_action_stalls_until_the_user_asks_for_another() -> None:
    asked = desired({"action": {"id": "sync-7", "type": "SyncNow"}}, SYNCED_STATUS)
    observed = observe(replica(), peer(replica()))
    assert _progress(asked, observed, Plan(), _record("Failed")) == (
        WAITING_FOR_USER,
        Verdict(ConditionType.STALLED, T, "ActionFailed", "SyncNow sync-7: the array refused it"),
    )
    older = _record("Failed", action_id="sync-6")  # the record of an action the spec no longer asks for
    assert _progress(asked, observed, Plan(), older) == (IDLE, NOT_STALLED)
    unasked = desired(status=SYNCED_STATUS)
    assert _progress(unasked, observed, Plan(), _record("Failed")) == (IDLE, NOT_STALLED)


def test_a_deletion_is_reconciling() -> None:
    assert _progress(desired(status=SYNCED_STATUS, deleting=True), observe(replica(), peer(replica()))) == (
        Verdict(ConditionType.RECONCILING, T, "Deleting", "the replica is being deleted"),
        NOT_STALLED,
    )


def test_after_a_switch_the_array_holding_the_source_decides_whether_it_is_retrying() -> None:
    promoted = replica(array="ibox-2", id=202, remote_id=101)
    demoted = dataclasses.replace(peer(promoted), array="ibox-1", id=101, remote_id=202)
    away = Problem("ArrayUnreachable", "ibox-2: connection refused")
    observed = observe(demoted, promoted, target_problem=away)
    assert _progress(desired(status=SYNCED_STATUS), observed, Plan()) == (RETRYING, NOT_STALLED)


def test_a_plan_blocked_by_something_that_clears_by_itself_is_retrying() -> None:
    blocked = Plan(blocked=Problem("Observing", "waiting for the first listing of replicas on ibox-2"))
    observed = observe(replica(), peer(replica()))
    assert _progress(desired(status=SYNCED_STATUS), observed, blocked) == (RETRYING, NOT_STALLED)


def test_a_create_in_flight_is_reconciling_creating() -> None:
    assert _progress(desired(), observe(searched=True)) == (
        Verdict(ConditionType.RECONCILING, T, "Creating", "creating the replica on the arrays"),
        NOT_STALLED,
    )


def test_a_source_known_only_from_before_its_array_went_away_is_retrying() -> None:
    observed = observe(replica(), peer(replica()), source_problem=UNREACHABLE)
    assert _progress(desired(status=SYNCED_STATUS), observed, Plan()) == (RETRYING, NOT_STALLED)
