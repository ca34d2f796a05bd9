"""Status and Events from a plan and what the arrays show: transitions only, honest conditions."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from replica_operator.api import ActionResult, ConditionStatus, ReplicaStatus, ReplicationType
from replica_operator.reconcile import (
    Desired,
    EventType,
    Problem,
    RunAction,
    StepResult,
    create_step,
    decide,
    only_progress_moved,
    summarize,
    sync_state,
)
from tests.unit.reconcile.builders import NOW, SYNCED_STATUS, UNREACHABLE, desired, observe, peer, replica


def _condition(update: object, kind: str) -> tuple[str, str]:
    for condition in update.status.conditions:  # type: ignore[attr-defined]
        if condition.type == kind:
            return condition.status.value, condition.reason
    raise AssertionError(f"no {kind} condition")


def _settle(obj: Desired, observed: object) -> Desired:
    """Run one pass and return the object as it would be stored afterwards."""
    plan = decide(obj, observed)  # type: ignore[arg-type]
    update = summarize(obj, plan, [], plan.observation or observed, NOW)  # type: ignore[arg-type]
    return dataclasses.replace(obj, status=update.status)


def test_created_replica_is_recorded_and_not_ready_while_initializing() -> None:
    obj = desired()
    plan = decide(obj, observe(searched=True))
    created = replica(initializing=True, sync_state="INITIALIZING", progress=10)
    update = summarize(obj, plan, [StepResult(plan.steps[0])], observe(created, peer(created)), NOW)
    assert update.changed
    assert update.status.replica_id == 101
    assert update.status.remote_replica_id == 202
    assert update.status.sync_state == "INITIALIZING"
    assert update.status.progress == 10
    assert _condition(update, "Ready") == ("False", "Initializing")
    assert _condition(update, "Synced") == ("True", "Synced")
    assert any(e.reason == "Created" and "101" in e.message for e in update.events)


def test_deferred_type_change_is_reported_once() -> None:
    initializing = replica(initializing=True, sync_state="INITIALIZING")
    obj = desired({"replicationType": "SYNC"}, SYNCED_STATUS)
    plan = decide(obj, observe(initializing, peer(initializing)))
    update = summarize(obj, plan, [], observe(initializing, peer(initializing)), NOW)
    assert update.status.pending_replication_type == "SYNC"
    assert _condition(update, "Synced") == ("False", "TypeChangeDeferred")
    assert [e.reason for e in update.events].count("TypeChangeDeferred") == 1
    again = summarize(dataclasses.replace(obj, status=update.status), plan, [], observe(initializing), NOW)
    assert "TypeChangeDeferred" not in [e.reason for e in again.events]


def test_quiet_async_replica_causes_no_write_even_as_jobs_run() -> None:
    obj = _settle(desired(), observe(replica(), peer(replica())))
    later = replica(sync_state="SYNC_IN_PROGRESS", last_synchronized=NOW + timedelta(minutes=1), progress=37)
    plan = decide(obj, observe(later, peer(later)))
    update = summarize(obj, plan, [], observe(later, peer(later)), NOW + timedelta(minutes=1))
    assert not update.changed
    assert update.events == ()


def test_async_job_in_flight_shows_synchronized() -> None:
    assert sync_state(replica(sync_state="SYNC_IN_PROGRESS")) == "SYNCHRONIZED"
    assert sync_state(replica(rpo_state="LAGGING")) == "OUT_OF_SYNC"
    assert (
        sync_state(replica(replication_type=ReplicationType.SYNC, sync_state="SYNC_IN_PROGRESS"))
        == "SYNC_IN_PROGRESS"
    )
    assert sync_state(replica(initializing=True)) == "INITIALIZING"


def test_healthy_replica_is_ready_replicating_and_within_rpo() -> None:
    obj = desired()
    update = summarize(
        obj, decide(obj, observe(replica(), peer(replica()))), [], observe(replica(), peer(replica())), NOW
    )
    assert _condition(update, "Ready") == ("True", "Healthy")
    assert _condition(update, "Replicating") == ("True", "Active")
    assert _condition(update, "RPOCompliant") == ("True", "WithinRPO")
    assert update.status.current_source is not None
    assert update.status.current_source.array == "ibox-1"
    assert update.status.role == "SOURCE"


def test_a_type_the_rules_do_not_manage_is_shown_as_the_array_words_it() -> None:
    other = replica(replication_type=None, unmanaged_type="ACTIVE_ACTIVE")
    obj = desired()
    update = summarize(obj, decide(obj, observe(other, peer(other))), [], observe(other, peer(other)), NOW)
    assert update.status.replication_type == "ACTIVE_ACTIVE"
    assert update.status.rpo is None  # a schedule is shown for ASYNC only


def test_rpo_exceeded_by_age_of_last_sync() -> None:
    stale = replica(last_synchronized=NOW - timedelta(minutes=6))
    obj = desired()
    update = summarize(obj, decide(obj, observe(stale)), [], observe(stale), NOW)
    assert _condition(update, "RPOCompliant") == ("False", "RPOExceeded")


def test_requested_suspension_is_ready_but_not_replicating() -> None:
    suspended = replica(state="SUSPENDED")
    obj = desired({"suspended": True})
    update = summarize(obj, decide(obj, observe(suspended)), [], observe(suspended), NOW)
    assert _condition(update, "Ready") == ("True", "Suspended")
    assert _condition(update, "Replicating") == ("False", "Suspended")


def test_unreachable_array_keeps_last_known_state_with_unknown_ready() -> None:
    obj = _settle(desired(), observe(replica(), peer(replica())))
    observed = observe(replica(), source_problem=UNREACHABLE)
    update = summarize(obj, decide(obj, observed), [], observed, NOW)
    assert update.status.state == "ACTIVE"
    assert _condition(update, "Ready") == ("Unknown", "ArrayUnreachable")
    assert _condition(update, "Synced") == ("False", "ArrayUnreachable")
    assert any(e.type is EventType.WARNING and e.reason == "ArrayUnreachable" for e in update.events)


def test_failed_step_sets_synced_false_with_the_arrays_reason() -> None:
    obj = desired()
    plan = decide(obj, observe(searched=True))
    problem = Problem("PoolNotFound", "pool pool-1 does not exist on ibox-2")
    update = summarize(obj, plan, [StepResult(plan.steps[0], problem)], observe(), NOW)
    assert _condition(update, "Synced") == ("False", "PoolNotFound")
    assert _condition(update, "Ready")[0] == "False"
    assert any(e.type is EventType.WARNING and "pool-1" in e.message for e in update.events)


def test_transition_time_moves_only_when_status_changes() -> None:
    obj = _settle(desired(), observe(replica(), peer(replica())))
    first = {c.type: c.last_transition_time for c in obj.status.conditions}
    later = NOW + timedelta(hours=1)
    observed = observe(replica(state="SUSPENDED"))
    update = summarize(obj, decide(obj, observed), [], observed, later)
    after = {c.type: c.last_transition_time for c in update.status.conditions}
    assert after["Synced"] == first["Synced"] == NOW  # still True: its transition time stays
    assert after["RPOCompliant"] == later  # True -> False: moved


def test_action_outcomes_are_recorded() -> None:
    obj = desired({"action": {"id": "s1", "type": "SyncNow"}})
    plan = decide(obj, observe(replica(), peer(replica())))
    step = plan.steps[0]
    assert isinstance(step, RunAction)
    done = summarize(obj, plan, [StepResult(step)], observe(replica(), peer(replica())), NOW)
    assert done.status.last_action is not None
    assert done.status.last_action.result is ActionResult.SUCCEEDED
    assert done.status.last_action.completed_at == NOW
    refused = summarize(
        obj,
        plan,
        [StepResult(step, Problem("Rejected", "no"), code="REPLICA_TYPE_MISMATCH")],
        observe(replica()),
        NOW,
    )
    assert refused.status.last_action is not None
    assert refused.status.last_action.result is ActionResult.FAILED
    waiting = summarize(
        obj,
        plan,
        [StepResult(step, Problem("InvalidState", "busy"), code="REPLICA_IS_INITIALIZING")],
        observe(replica()),
        NOW,
    )
    assert waiting.status.last_action is not None
    assert waiting.status.last_action.result is ActionResult.IN_PROGRESS


def test_consistency_group_members_are_reported() -> None:
    group = replica(members=(("m1", "m1-dr"), ("m2", "m2-dr")), local_entity="cg-1", remote_entity="cg-1-dr")
    obj = desired(kind="ConsistencyGroupReplica")
    update = summarize(obj, decide(obj, observe(group)), [], observe(group), NOW)
    assert [(m.local, m.remote) for m in update.status.members] == [("m1", "m1-dr"), ("m2", "m2-dr")]


def test_missing_replica_clears_state_and_is_not_ready() -> None:
    obj = _settle(desired(), observe(replica(), peer(replica())))
    update = summarize(obj, decide(obj, observe()), [], observe(), NOW)
    assert update.status.state is None
    assert _condition(update, "Ready") == ("False", "NotFound")
    assert update.status.replica_id == 101


def test_create_step_event_reason_is_created() -> None:
    assert create_step(desired()).event_reason == "Created"
    assert ConditionStatus.TRUE == "True"


def test_a_move_of_progress_alone_is_told_apart_from_a_transition() -> None:
    def status(**fields: object) -> ReplicaStatus:
        base = {"syncState": "INITIALIZING", "progress": 10, "lastObserved": "2026-01-01T00:00:00Z"}
        return ReplicaStatus.model_validate({**base, **fields})

    before = status()
    assert only_progress_moved(before, status(progress=40, lastObserved="2026-01-01T00:00:05Z"))
    assert not only_progress_moved(before, status(lastObserved="2026-01-01T00:00:05Z"))  # nothing moved
    assert not only_progress_moved(before, status(progress=100, syncState="SYNCHRONIZED"))
