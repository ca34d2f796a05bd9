"""The rules of DESIGN §4 and issues 6 and 9, one behaviour per test, no I/O."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from replica_operator.api import ReplicationType, TargetMode
from replica_operator.reconcile import (
    RECREATE_ANNOTATION,
    ChangeType,
    Create,
    Delete,
    RemoteSide,
    Resume,
    Role,
    RunAction,
    SideName,
    Suspend,
    UpdateSchedule,
    decide,
)
from tests.unit.reconcile.builders import SYNCED_STATUS, UNREACHABLE, desired, observe, peer, replica


def _kinds(plan: object) -> list[type]:
    return [type(step) for step in plan.steps]  # type: ignore[attr-defined]


# -- creation, adoption, conflicts ----------------------------------------------------------
def test_new_object_without_replica_is_created() -> None:
    plan = decide(desired(), observe(searched=True))
    assert _kinds(plan) == [Create]
    assert plan.blocked is None


def test_search_not_done_yet_waits_instead_of_creating() -> None:
    plan = decide(desired(), observe(searched=False, polled=False))
    assert plan.steps == ()
    assert plan.blocked is not None
    assert plan.blocked.reason == "Observing"


def test_own_replica_found_after_a_crash_is_adopted_not_created_again() -> None:
    ours = replica(id=555)
    plan = decide(desired(), observe(candidates=(ours,), searched=True))
    assert Create not in _kinds(plan)
    assert plan.adopted == ours
    assert plan.observation is not None
    assert plan.observation.source.replica == ours


def test_replica_of_someone_else_is_a_conflict() -> None:
    foreign = replica(id=777, description="made by hand")
    plan = decide(desired(), observe(candidates=(foreign,), searched=True))
    assert plan.steps == ()
    assert plan.blocked is not None
    assert plan.blocked.reason == "Conflict"
    assert "777" in plan.blocked.message
    assert "not managed by this operator" in plan.blocked.message


def test_replica_of_another_object_is_a_conflict_naming_it() -> None:
    other = replica(description="k8s-uid=11111111-2222-3333-4444-555555555555 k8s-object=prod/db")
    plan = decide(desired(), observe(candidates=(other,), searched=True))
    assert plan.blocked is not None
    assert "prod/db" in plan.blocked.message


def test_observe_only_adopts_any_replica_and_never_creates() -> None:
    foreign = replica(id=9, description="", role=Role.TARGET, state=None)
    plan = decide(desired({"managementPolicy": "ObserveOnly"}), observe(candidates=(foreign,), searched=True))
    assert plan.adopted == foreign
    assert plan.steps == ()


def test_observe_only_without_replica_reports_not_found() -> None:
    plan = decide(desired({"managementPolicy": "ObserveOnly"}), observe(searched=True))
    assert plan.steps == ()
    assert plan.blocked is not None
    assert plan.blocked.reason == "NotFound"


def test_search_failure_is_reported() -> None:
    from replica_operator.reconcile import Observation, Problem, Side
    from tests.unit.reconcile.builders import NOW

    problem = Problem("EntityNotFound", "volume vol-1 does not exist on ibox-1")
    observed = Observation(
        Side("ibox-1", polled=True), Side("ibox-2", polled=True), NOW, searched=True, search_problem=problem
    )
    plan = decide(desired(), observed)
    assert plan.blocked == problem
    assert plan.steps == ()


# -- a replica deleted behind the operator's back ----------------------------------------------
def test_replica_deleted_on_the_array_is_reported_not_recreated() -> None:
    plan = decide(desired(status=SYNCED_STATUS), observe())
    assert plan.steps == ()
    assert plan.blocked is not None
    assert plan.blocked.reason == "NotFound"
    assert RECREATE_ANNOTATION in plan.blocked.message


def test_replica_deleted_on_the_array_is_recreated_when_the_user_opts_in() -> None:
    status = {**SYNCED_STATUS, "currentTarget": {"array": "ibox-2", "entity": "vol-1-dr"}}
    wanted = desired(status=status, annotations={RECREATE_ANNOTATION: "true"})
    plan = decide(wanted, observe(searched=True))
    (step,) = plan.steps
    assert isinstance(step, Create)
    # the array keeps the old target: replicate onto it again
    assert step.remote == RemoteSide(mode=TargetMode.EXISTING, name="vol-1-dr")
    assert step.recreate
    assert plan.forget


def test_recreate_searches_first_and_adopts_its_own_marked_replica() -> None:
    wanted = desired(status=SYNCED_STATUS, annotations={RECREATE_ANNOTATION: "true"})
    assert decide(wanted, observe()).steps == ()  # not searched yet: no create
    ours = replica(id=909)
    plan = decide(wanted, observe(candidates=(ours,), searched=True))
    assert plan.steps == ()
    assert plan.adopted == ours
    foreign = replica(id=910, description="made by hand")
    blocked = decide(wanted, observe(candidates=(foreign,), searched=True)).blocked
    assert blocked is not None
    assert blocked.reason == "Conflict"


def test_unknown_replica_on_an_unreachable_array_is_not_called_missing() -> None:
    plan = decide(desired(status=SYNCED_STATUS), observe(source_problem=UNREACHABLE))
    assert plan.blocked == UNREACHABLE
    assert plan.steps == ()


# -- type changes -----------------------------------------------------------------------------
def test_type_change_while_initializing_is_deferred_without_any_call() -> None:
    initializing = replica(initializing=True, sync_state="INITIALIZING", progress=40)
    plan = decide(desired({"replicationType": "SYNC"}), observe(initializing, peer(initializing)))
    assert plan.steps == ()
    assert plan.pending_type is ReplicationType.SYNC


def test_type_change_after_initialization_is_applied_on_the_source_side() -> None:
    plan = decide(desired({"replicationType": "SYNC"}), observe(replica(), peer(replica())))
    assert plan.steps == (ChangeType(side=SideName.SOURCE, replica_id=101, to=ReplicationType.SYNC),)
    assert plan.pending_type is None


def test_change_to_async_carries_rpo_and_interval() -> None:
    sync = replica(replication_type=ReplicationType.SYNC, rpo=None, sync_interval=None)
    plan = decide(desired({"rpo": "2m", "syncInterval": "30s"}), observe(sync, peer(sync)))
    (step,) = plan.steps
    assert isinstance(step, ChangeType)
    assert step.to is ReplicationType.ASYNC
    assert step.rpo == timedelta(minutes=2)
    assert step.sync_interval == timedelta(seconds=30)


def test_a_type_the_rules_do_not_manage_is_left_alone() -> None:
    other = replica(replication_type=None, unmanaged_type="ACTIVE_ACTIVE", rpo=None, sync_interval=None)
    plan = decide(desired({"replicationType": "SYNC"}), observe(other, peer(other)))
    assert ChangeType not in _kinds(plan)
    assert plan.drift == ()


def test_new_object_create_carries_every_value_of_the_request() -> None:
    spec = {
        "replicationType": "SYNC",
        "rpo": "5m",
        "target": {"array": "ibox-2", "link": "l-1", "pool": "pool-1"},
    }
    observed = dataclasses.replace(observe(searched=True), source_entity_id=42)
    (step,) = decide(desired(spec), observed).steps
    assert isinstance(step, Create)
    assert (step.entity, step.entity_id, step.link) == ("vol-1", 42, "l-1")
    assert (step.replication_type, step.rpo, step.sync_interval) == (ReplicationType.SYNC, None, None)
    assert step.remote == RemoteSide(mode=TargetMode.CREATE, pool="pool-1")
    assert "k8s-uid=" in step.description


def test_schedule_update_sends_only_what_differs() -> None:
    plan = decide(desired({"rpo": "5m", "syncInterval": "20s"}), observe(replica(), peer(replica())))
    assert plan.steps == (
        UpdateSchedule(side=SideName.SOURCE, replica_id=101, rpo=None, sync_interval=timedelta(seconds=20)),
    )


def test_absent_rpo_leaves_the_arrays_value_alone() -> None:
    plan = decide(desired(), observe(replica(rpo=timedelta(minutes=9)), None))
    assert plan.steps == ()


# -- suspension ---------------------------------------------------------------------------------
def test_suspended_spec_suspends_and_resumes() -> None:
    plan = decide(desired({"suspended": True}), observe(replica()))
    assert _kinds(plan) == [Suspend]
    plan = decide(desired({"suspended": False}), observe(replica(state="SUSPENDED")))
    assert _kinds(plan) == [Resume]


def test_auto_suspended_is_resumed_only_when_both_arrays_answer() -> None:
    auto = replica(state="AUTO_SUSPENDED")
    assert decide(desired(), observe(auto, target_problem=UNREACHABLE)).steps == ()
    assert _kinds(decide(desired(), observe(auto, peer(auto)))) == [Resume]


def test_a_suspension_the_array_lifts_by_itself_is_not_resumed() -> None:
    """A missing peer or a role conflict: the array refuses a resume (409 REPLICA_NOT_SUSPENDED)."""
    for reason in ("REMOTE_REPLICA_MISSING", "ROLE_CONFLICT"):
        auto = replica(state="AUTO_SUSPENDED", state_reason=reason)
        assert decide(desired(), observe(auto, peer(auto))).steps == (), reason
    link_down = replica(state="AUTO_SUSPENDED", state_reason="LINK_DOWN")
    alone = replica(
        state="AUTO_SUSPENDED", state_reason="REMOTE_REPLICA_MISSING", replication_type=ReplicationType.SYNC
    )
    switch = desired({"replicationType": "SYNC", "action": {"id": "s-1", "type": "SwitchRole"}})
    failure = decide(switch, observe(alone)).action_failure  # no peer: it can never run
    assert failure is not None
    assert "REMOTE_REPLICA_MISSING" in failure.message
    assert _kinds(decide(desired(), observe(link_down, peer(link_down)))) == [Resume]


# -- drift ------------------------------------------------------------------------------------
def test_drift_is_corrected_by_default_and_marked_as_drift() -> None:
    by_hand = replica(replication_type=ReplicationType.SYNC)
    plan = decide(desired(status=SYNCED_STATUS), observe(by_hand, peer(by_hand)))
    (step,) = plan.steps
    assert isinstance(step, ChangeType)
    assert step.drift
    assert plan.drift


def test_drift_is_only_reported_under_report_policy() -> None:
    by_hand = replica(replication_type=ReplicationType.SYNC)
    plan = decide(desired({"driftPolicy": "Report"}, SYNCED_STATUS), observe(by_hand, peer(by_hand)))
    assert plan.steps == ()
    assert plan.blocked is not None
    assert plan.blocked.reason == "Drifted"
    assert "replicationType is SYNC" in plan.blocked.message


def test_a_spec_change_is_applied_even_under_report_policy() -> None:
    status = {**SYNCED_STATUS, "observedGeneration": 1}
    plan = decide(
        desired({"driftPolicy": "Report", "replicationType": "SYNC"}, status, generation=2),
        observe(replica(), peer(replica())),
    )
    assert _kinds(plan) == [ChangeType]
    assert not plan.steps[0].drift


def test_observe_only_never_plans_a_mutation() -> None:
    by_hand = replica(replication_type=ReplicationType.SYNC, state="SUSPENDED")
    plan = decide(
        desired({"managementPolicy": "ObserveOnly", "action": {"id": "a1", "type": "SyncNow"}}),
        observe(by_hand, peer(by_hand)),
    )
    assert plan.steps == ()
    assert plan.blocked is not None
    assert plan.blocked.reason == "Drifted"
    assert plan.action_failure is not None


# -- after a role switch, calls go to the side that is SOURCE now --------------------------------
def test_changes_after_a_role_switch_go_to_the_new_source() -> None:
    old_source = replica(role=Role.TARGET, state=None)
    new_source = replica(
        array="ibox-2", id=202, remote_id=101, replication_type=ReplicationType.SYNC, role=Role.SOURCE
    )
    plan = decide(desired({"replicationType": "ASYNC"}), observe(old_source, new_source))
    (step,) = plan.steps
    assert step.side is SideName.TARGET
    assert step.replica_id == 202


def test_both_sides_source_is_a_role_conflict() -> None:
    plan = decide(desired(), observe(replica(), replica(array="ibox-2", id=202)))
    assert plan.steps == ()
    assert plan.blocked is not None
    assert plan.blocked.reason == "RoleConflict"


def test_unreachable_source_blocks_changes() -> None:
    plan = decide(desired({"suspended": True}), observe(replica(), source_problem=UNREACHABLE))
    assert plan.steps == ()
    assert plan.blocked == UNREACHABLE


# -- one-shot actions -------------------------------------------------------------------------------
def test_sync_now_runs_on_an_async_replica() -> None:
    plan = decide(desired({"action": {"id": "s1", "type": "SyncNow"}}), observe(replica(), peer(replica())))
    (step,) = plan.steps
    assert isinstance(step, RunAction)
    assert step.action.id == "s1"


def test_an_action_runs_once_per_id() -> None:
    done = {**SYNCED_STATUS, "lastAction": {"id": "s1", "type": "SyncNow", "result": "Succeeded"}}
    plan = decide(
        desired({"action": {"id": "s1", "type": "SyncNow"}}, done), observe(replica(), peer(replica()))
    )
    assert plan.steps == ()
    failed = {**SYNCED_STATUS, "lastAction": {"id": "s1", "type": "SyncNow", "result": "Failed"}}
    plan = decide(
        desired({"action": {"id": "s1", "type": "SyncNow"}}, failed), observe(replica(), peer(replica()))
    )
    assert plan.steps == ()


def test_actions_wait_during_initialization() -> None:
    initializing = replica(initializing=True, sync_state="INITIALIZING")
    plan = decide(
        desired({"action": {"id": "s1", "type": "SyncNow"}}), observe(initializing, peer(initializing))
    )
    assert plan.steps == ()
    assert plan.action_wait is not None
    assert "INITIALIZING" in plan.action_wait


def test_switch_role_on_async_fails_with_a_reason() -> None:
    plan = decide(
        desired({"action": {"id": "f1", "type": "SwitchRole"}}), observe(replica(), peer(replica()))
    )
    assert plan.steps == ()
    assert plan.action_failure is not None
    assert "SYNC" in plan.action_failure.message


def test_switch_role_on_a_synchronised_sync_replica() -> None:
    sync = replica(replication_type=ReplicationType.SYNC, rpo=None, sync_interval=None)
    plan = decide(
        desired({"replicationType": "SYNC", "action": {"id": "f1", "type": "SwitchRole"}}),
        observe(sync, peer(sync)),
    )
    (step,) = plan.steps
    assert isinstance(step, RunAction)
    assert step.side is SideName.SOURCE


def test_change_role_promotes_the_target_while_the_source_is_lost() -> None:
    target = peer(replica())
    plan = decide(
        desired({"action": {"id": "dr1", "type": "ChangeRole"}}, SYNCED_STATUS),
        observe(None, target, source_problem=UNREACHABLE),
    )
    (step,) = plan.steps
    assert isinstance(step, RunAction)
    assert step.side is SideName.TARGET
    assert step.replica_id == target.id


def test_role_action_found_done_after_a_crash_is_not_run_again() -> None:
    in_progress = {**SYNCED_STATUS, "lastAction": {"id": "f1", "type": "SwitchRole", "result": "InProgress"}}
    old_source = replica(role=Role.TARGET, state=None, replication_type=ReplicationType.SYNC)
    new_source = replica(array="ibox-2", id=202, remote_id=101, replication_type=ReplicationType.SYNC)
    plan = decide(
        desired({"replicationType": "SYNC", "action": {"id": "f1", "type": "SwitchRole"}}, in_progress),
        observe(old_source, new_source),
    )
    assert plan.action_done
    assert not any(isinstance(s, RunAction) for s in plan.steps)


# -- deletion -----------------------------------------------------------------------------------------
def test_delete_policy_deletes_on_the_source_side() -> None:
    plan = decide(desired(status=SYNCED_STATUS, deleting=True), observe(replica(), peer(replica())))
    assert plan.steps == (Delete(side=SideName.SOURCE, replica_id=101),)
    assert not plan.release


def test_orphan_and_observe_only_release_without_calls() -> None:
    for spec in ({"deletionPolicy": "Orphan"}, {"managementPolicy": "ObserveOnly"}):
        plan = decide(desired(spec, SYNCED_STATUS, deleting=True), observe(replica(), peer(replica())))
        assert plan.release
        assert plan.steps == ()


def test_deletion_blocked_while_the_array_is_unreachable_names_the_way_out() -> None:
    plan = decide(
        desired(status=SYNCED_STATUS, deleting=True), observe(replica(), source_problem=UNREACHABLE)
    )
    assert plan.steps == ()
    assert not plan.release
    assert plan.blocked is not None
    assert plan.blocked.reason == "DeletionBlocked"
    assert "deletionPolicy to Orphan" in plan.blocked.message


def test_deletion_of_a_replica_already_gone_completes() -> None:
    plan = decide(desired(status=SYNCED_STATUS, deleting=True), observe())
    assert plan.release


def test_nothing_is_created_while_an_array_cannot_be_used() -> None:
    from replica_operator.reconcile import Problem

    missing = Problem("ArrayNotFound", "there is no InfiniBox object named ibox-1")
    plan = decide(desired(), observe(searched=True, source_problem=missing))
    assert plan.steps == ()
    assert plan.blocked == missing
    plan = decide(desired(), observe(searched=True, target_problem=UNREACHABLE))
    assert plan.steps == ()
    assert plan.blocked == UNREACHABLE


def test_a_promoted_target_is_the_source_while_the_old_source_is_unreachable() -> None:
    stale = replica()  # last seen as SOURCE before ibox-1 went away
    promoted = replica(array="ibox-2", id=202, remote_id=101)
    observed = observe(stale, promoted, source_problem=UNREACHABLE)
    assert not observed.split_brain
    assert observed.primary == (SideName.TARGET, promoted)
    both_answer = observe(stale, promoted)
    assert both_answer.split_brain


def test_a_shorter_rpo_brings_an_unsaid_interval_down_with_it() -> None:
    """The array refuses interval > rpo: with no syncInterval in the spec, the interval follows."""
    longer = replica(rpo=timedelta(minutes=5), sync_interval=timedelta(minutes=4))
    plan = decide(desired({"rpo": "2m"}), observe(longer, peer(longer)))
    assert plan.steps == (
        UpdateSchedule(
            side=SideName.SOURCE, replica_id=101, rpo=timedelta(minutes=2), sync_interval=timedelta(minutes=2)
        ),
    )


def test_a_shorter_rpo_leaves_an_interval_that_still_fits_alone() -> None:
    plan = decide(desired({"rpo": "2m"}), observe(replica(), peer(replica())))
    assert plan.steps == (
        UpdateSchedule(side=SideName.SOURCE, replica_id=101, rpo=timedelta(minutes=2), sync_interval=None),
    )
