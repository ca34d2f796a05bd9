"""What a plan says when it cannot act, whole (reason, message, retry), and which steps it keeps then.

Synced=False shows ``plan.blocked`` as it is: the words are the user's only guide, so each
situation's Problem is asserted in full rather than by a fragment.
"""

from __future__ import annotations

import dataclasses

import pytest

from replica_operator.api import ActionType
from replica_operator.reconcile import (
    RECREATE_ANNOTATION,
    Desired,
    Observation,
    Problem,
    Resume,
    Role,
    RunAction,
    Side,
    SideName,
    StepResult,
    decide,
    summarize,
)
from tests.unit.reconcile.builders import NOW, SYNCED_STATUS, UNREACHABLE, desired, observe, peer, replica

KNOWN = {"replicaId": 101, "remoteReplicaId": 202}
OTHER = "k8s-uid=11111111-2222-3333-4444-555555555555 k8s-object=team-a/db"
OBSERVING_1 = Problem("Observing", "waiting for the first listing of replicas on ibox-1")
OBSERVING_2 = Problem("Observing", "waiting for the first listing of replicas on ibox-2")
UNSUPPORTED = Problem("Unsupported", "ibox-2 cannot hold SYNC replicas", retryable=False)
SEARCH_FAILED = Problem("ArrayError", "ibox-1: the search failed")
RECREATE = {RECREATE_ANNOTATION: "true"}


def _group(spec: dict[str, object] | None = None, **kwargs: object) -> Desired:
    return desired(spec, kind="ConsistencyGroupReplica", **kwargs)  # type: ignore[arg-type]


def _unlisted(side: str) -> Observation:
    """One array not listed yet (no problem known either), the other listed."""
    observed = observe(searched=True)
    unlisted = dataclasses.replace(observed.side(SideName(side)), polled=False)
    return dataclasses.replace(observed, **{side: unlisted})


# -- locating the replica ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "observed", "problem"),
    [
        ({}, _unlisted("source"), OBSERVING_1),
        (KNOWN, _unlisted("source"), OBSERVING_1),  # ids known, no listing to look them up in
        (KNOWN, observe(source_problem=UNREACHABLE), UNREACHABLE),
        ({}, observe(source_problem=UNREACHABLE), UNREACHABLE),
        ({}, _unlisted("target"), OBSERVING_2),  # the create needs the target's pool: wait for it
        ({}, dataclasses.replace(observe(), search_problem=SEARCH_FAILED), SEARCH_FAILED),
        ({}, observe(searched=False), OBSERVING_1),  # never create before the search ran
        ({}, dataclasses.replace(observe(searched=True), unsupported=UNSUPPORTED), UNSUPPORTED),
    ],
)
def test_a_replica_that_cannot_be_located_yet_waits_with_the_reason(
    status: dict[str, object], observed: Observation, problem: Problem
) -> None:
    plan = decide(desired(status=status), observed)
    assert plan.blocked == problem
    assert plan.steps == ()


def test_a_group_already_replicated_by_another_owner_is_a_conflict_in_its_own_words() -> None:
    foreign = replica(id=303, description=OTHER, local_entity="cg-1")
    plan = decide(_group(), observe(candidates=(foreign,), searched=True))
    assert plan.blocked == Problem(
        "Conflict",
        "consistency group cg-1 on ibox-1 is already replicated by replica 303, which belongs to the object "
        "team-a/db (uid 11111111-2222-3333-4444-555555555555); the operator never takes over another "
        "owner's replica",
        retryable=False,
    )
    assert plan.steps == ()


def test_observe_only_with_nothing_to_observe_says_what_is_missing() -> None:
    plan = decide(_group({"managementPolicy": "ObserveOnly"}), observe(searched=True))
    assert plan.blocked == Problem(
        "NotFound",
        "managementPolicy is ObserveOnly and ibox-1 has no replica of consistency group cg-1 to observe",
    )


# -- a known replica that is gone --------------------------------------------------------------
def test_a_deleted_replica_is_reported_with_the_way_to_recreate_it_and_not_retried() -> None:
    plan = decide(desired(status=KNOWN), observe(searched=True))
    assert plan.blocked == Problem(
        "NotFound",
        "replica 101 no longer exists on ibox-1: it was deleted outside Kubernetes. It is not recreated "
        f'automatically; annotate this object {RECREATE_ANNOTATION}="true" to recreate it, or delete this '
        "object",
        retryable=False,
    )


@pytest.mark.parametrize(
    ("observed", "problem"),
    [
        (_unlisted("target"), OBSERVING_2),
        (observe(searched=True, target_problem=UNREACHABLE), UNREACHABLE),
        (dataclasses.replace(observe(searched=True), unsupported=UNSUPPORTED), UNSUPPORTED),
        (dataclasses.replace(observe(), search_problem=SEARCH_FAILED), SEARCH_FAILED),
    ],
)
def test_a_re_create_waits_for_what_a_create_needs(observed: Observation, problem: Problem) -> None:
    plan = decide(desired(status=KNOWN, annotations=RECREATE), observed)
    assert plan.blocked == problem
    assert plan.steps == ()


def test_a_re_create_never_runs_before_the_search() -> None:
    """The source answers but was not searched: the lost replica may be there under a new id."""
    observed = observe(target=None, searched=False)
    plan = decide(desired(status={"remoteReplicaId": 202}, annotations=RECREATE), observed)
    assert plan.blocked == OBSERVING_1
    assert plan.steps == ()


def test_a_re_create_that_finds_its_own_replica_adopts_it_into_the_observation() -> None:
    ours = replica(id=909)
    plan = decide(desired(status=KNOWN, annotations=RECREATE), observe(candidates=(ours,), searched=True))
    assert plan.adopted == ours
    assert plan.observation is not None
    assert plan.observation.source.replica == ours  # the status is written from the adopted replica


def test_a_re_create_that_finds_another_owners_replica_names_the_owner() -> None:
    foreign = replica(id=910, description=OTHER)
    plan = decide(desired(status=KNOWN, annotations=RECREATE), observe(candidates=(foreign,), searched=True))
    assert plan.blocked is not None
    assert plan.blocked.reason == "Conflict"
    assert "replica 910 on ibox-1 belongs to the object team-a/db" in plan.blocked.message


# -- an existing replica ------------------------------------------------------------------------
def test_two_sources_are_a_role_conflict_the_user_resolves_on_the_arrays() -> None:
    both = observe(replica(), dataclasses.replace(peer(replica()), role=Role.SOURCE))
    plan = decide(desired(status=SYNCED_STATUS), both)
    assert plan.blocked == Problem(
        "RoleConflict",
        "both ibox-1 and ibox-2 report their replica as SOURCE (after a ChangeRole while the other array was "
        "away); resolve it on the arrays, e.g. by deleting the replica on the array that must become the "
        "target",
        retryable=False,
    )
    assert plan.steps == ()


def test_no_source_side_is_source_unavailable_or_the_source_arrays_problem() -> None:
    demoted = replica(role=Role.TARGET)
    plan = decide(desired(status=SYNCED_STATUS), observe(demoted, peer(replica())))
    assert plan.blocked == Problem("SourceUnavailable", "neither ibox-1 nor ibox-2 reports a SOURCE replica")
    away = decide(
        desired(status=SYNCED_STATUS), observe(demoted, peer(replica()), source_problem=UNREACHABLE)
    )
    assert away.blocked == UNREACHABLE


def _promoted(**fields: object) -> Observation:
    """After a switch: spec.target's array (ibox-2) holds the SOURCE, spec.source's the TARGET."""
    source = replica(array="ibox-2", id=202, remote_id=101, local_entity="vol-1-dr", remote_entity="vol-1")
    source = dataclasses.replace(source, **fields)
    return observe(dataclasses.replace(peer(source), array="ibox-1", id=101, remote_id=202), source)


def test_an_unreadable_replica_after_a_switch_is_named_on_its_own_array_and_nothing_runs() -> None:
    wanted = desired({"action": {"id": "sync-1", "type": "SyncNow"}}, SYNCED_STATUS)
    plan = decide(wanted, _promoted(parse_problems=("rpo: 'soon'",)))
    assert plan.unknown == Problem(
        "UnreadableField",
        "replica 202 on ibox-2 has fields the operator cannot read (rpo: 'soon'); nothing is changed until "
        "the array reports them readably",
    )
    assert plan.steps == ()  # not even the one-shot action


def test_an_auto_suspended_replica_after_a_switch_is_resumed_on_the_side_that_holds_it() -> None:
    plan = decide(desired(status=SYNCED_STATUS), _promoted(state="AUTO_SUSPENDED"))
    assert plan.steps == (Resume(side=SideName.TARGET, replica_id=202),)


def test_a_type_change_an_array_cannot_hold_blocks_every_step_of_the_pass() -> None:
    wanted = desired({"replicationType": "SYNC", "action": {"id": "s-1", "type": "SyncNow"}}, SYNCED_STATUS)
    observed = dataclasses.replace(observe(replica(), peer(replica())), unsupported=UNSUPPORTED)
    plan = decide(wanted, observed)
    assert plan.blocked == UNSUPPORTED
    assert plan.steps == ()


# -- drift ------------------------------------------------------------------------------------------
def test_observe_only_reports_differences_as_drift_and_a_match_as_nothing() -> None:
    watched = desired({"managementPolicy": "ObserveOnly", "rpo": "10m"}, SYNCED_STATUS)
    plan = decide(watched, observe(replica(), peer(replica())))
    assert plan.blocked == Problem(
        "Drifted", "ObserveOnly: the array differs from the spec: rpo is 5m, the spec says 10m"
    )
    assert plan.drift == ("rpo is 5m, the spec says 10m",)
    assert plan.steps == ()
    matching = decide(desired({"managementPolicy": "ObserveOnly"}, SYNCED_STATUS), observe(replica()))
    assert (matching.blocked, matching.drift, matching.steps) == (None, (), ())


def test_report_drift_names_the_differences_and_still_resumes_what_the_array_suspended() -> None:
    wanted = desired({"driftPolicy": "Report", "rpo": "10m"}, SYNCED_STATUS)
    suspended = replica(state="AUTO_SUSPENDED")
    plan = decide(wanted, observe(suspended, peer(suspended)))
    assert plan.blocked == Problem(
        "Drifted",
        "the array was changed outside Kubernetes and driftPolicy is Report: rpo is 5m, the spec says 10m",
    )
    assert plan.drift == ("rpo is 5m, the spec says 10m",)
    assert plan.steps == (Resume(side=SideName.SOURCE, replica_id=101),)


def test_a_spec_change_is_applied_and_is_not_drift() -> None:
    changed = desired({"rpo": "10m"}, SYNCED_STATUS, generation=2)  # arrays matched generation 1
    plan = decide(changed, observe(replica(), peer(replica())))
    assert plan.drift == ()
    assert [step.drift for step in plan.steps] == [False]


def test_a_one_shot_action_runs_on_the_side_that_holds_the_source() -> None:
    wanted = desired({"action": {"id": "sync-1", "type": "SyncNow"}}, SYNCED_STATUS)
    (step,) = decide(wanted, _promoted()).steps
    assert isinstance(step, RunAction)
    assert (step.side, step.replica_id, step.action.type) == (SideName.TARGET, 202, ActionType.SYNC_NOW)


# -- deletion ---------------------------------------------------------------------------------------
def test_a_deletion_that_cannot_see_the_known_replica_says_why_and_how_to_leave_it() -> None:
    plan = decide(desired(status=KNOWN, deleting=True), observe(source_problem=UNREACHABLE))
    assert plan.blocked == Problem(
        "DeletionBlocked",
        "cannot delete replica 101 on ibox-1 (ibox-1: connection refused); the operator keeps trying. To "
        "remove this object and leave the replica on the array, set spec.deletionPolicy to Orphan",
    )


# -- the observation a plan carries -------------------------------------------------------------
_SOURCE = replica()
_SITUATIONS = {
    "changed array": (
        desired(status=KNOWN),
        observe(source_problem=Problem("ArrayChanged", "another system", retryable=False)),
    ),
    "orphan deletion": (desired({"deletionPolicy": "Orphan"}, KNOWN, deleting=True), observe(_SOURCE)),
    "foreign deletion": (
        desired(status=KNOWN, deleting=True),
        observe(replica(description=OTHER), peer(replica(description=OTHER))),
    ),
    "deletion blocked by a side": (
        desired(status=KNOWN, deleting=True),
        observe(_SOURCE, peer(_SOURCE), source_problem=UNREACHABLE),
    ),
    "deletion blocked by the mark search": (
        desired(status=KNOWN, deleting=True),
        dataclasses.replace(observe(), marked_problem=SEARCH_FAILED),
    ),
    "deletion steps": (desired(status=KNOWN, deleting=True), observe(_SOURCE, peer(_SOURCE))),
    "deletion of an unseen replica": (
        desired(status=KNOWN, deleting=True),
        observe(source_problem=UNREACHABLE),
    ),
    "deletion done": (desired(status=KNOWN, deleting=True), observe()),
    "not located": (desired(), _unlisted("source")),
    "conflict": (
        desired(status=KNOWN),
        observe(replica(description=OTHER), peer(replica(description=OTHER))),
    ),
    "in line": (desired(status=SYNCED_STATUS), observe(_SOURCE, peer(_SOURCE))),
}


@pytest.mark.parametrize("situation", sorted(_SITUATIONS))
def test_every_plan_carries_the_observation_it_was_made_from(situation: str) -> None:
    """The status of the pass is written from ``plan.observation``: never a plan without it."""
    wanted, observed = _SITUATIONS[situation]
    assert decide(wanted, observed).observation is observed


def test_a_take_over_plan_carries_the_replica_it_takes() -> None:
    wanted = desired(status=KNOWN, annotations={"replication.infinibox.io/take-over": "101"})
    observed = observe(replica(description=OTHER), peer(replica(description=OTHER)))
    plan = decide(wanted, observed)
    assert plan.observation is observed
    assert len(plan.steps) == 1


def test_side_and_now_are_kept_whole() -> None:
    """Guard for the builders: a side of the observation is the Side the test built."""
    observed = observe(_SOURCE)
    assert observed.source == Side("ibox-1", polled=True, replica=_SOURCE)
    assert observed.now == NOW


def test_a_type_the_operator_does_not_manage_is_named_on_the_source_array() -> None:
    other = replica(replication_type=None, unmanaged_type="ACTIVE_ACTIVE")
    plan = decide(desired(status=SYNCED_STATUS), observe(other, peer(other)))
    assert plan.unknown == Problem(
        "UnmanagedType",
        "replica 101 on ibox-1 is ACTIVE_ACTIVE, which the operator does not manage; it only reports it",
    )


def test_corrections_and_reports_list_every_difference() -> None:
    wanted = desired({"driftPolicy": "Report", "rpo": "10m", "suspended": True}, SYNCED_STATUS)
    plan = decide(wanted, observe(replica(), peer(replica())))
    assert plan.blocked == Problem(
        "Drifted",
        "the array was changed outside Kubernetes and driftPolicy is Report: rpo is 5m, the spec says 10m; "
        "replication is running, the spec says suspended",
    )


def test_an_adopted_replica_is_told_even_when_its_peer_is_someone_elses() -> None:
    """Status now holds the adopted id whatever comes next: the Adopted Event says where it came from."""
    ours = replica(id=909, remote_id=808)
    theirs = dataclasses.replace(peer(ours), description=OTHER)
    conflict = decide(desired(), observe(target=theirs, candidates=(ours,), searched=True))
    assert conflict.adopted == ours
    assert conflict.blocked is not None
    assert conflict.blocked.reason == "Conflict"
    taken = decide(
        desired(annotations={"replication.infinibox.io/take-over": "909"}),
        observe(target=theirs, candidates=(ours,), searched=True),
    )
    assert taken.adopted == ours
    assert len(taken.steps) == 1


def test_a_side_whose_array_is_away_is_not_judged_for_ownership() -> None:
    """Taken over while ibox-1 was away: its stale listing still shows the old mark, asking nothing."""
    stale = replica(description=OTHER)
    ours = peer(replica())
    plan = decide(desired(status=SYNCED_STATUS), observe(stale, ours, source_problem=UNREACHABLE))
    assert plan.blocked == UNREACHABLE  # waits for ibox-1; no Conflict


@pytest.mark.parametrize("written", ["0", "-3", "x", ""])
def test_annotations_that_name_no_replica_or_serial_are_ignored(written: str) -> None:
    annotated = desired(
        annotations={
            "replication.infinibox.io/take-over": written,
            "replication.infinibox.io/accept-array": written,
        }
    )
    assert (annotated.take_over, annotated.accept_serial) == (None, None)


def test_ready_without_a_source_side_says_what_synced_found() -> None:
    """A replica is left (the TARGET) but the SOURCE is gone or someone else's: Ready repeats why."""
    lone_target = observe(None, peer(replica()), searched=True)
    wanted = desired(status=KNOWN)
    plan = decide(wanted, lone_target)
    ready = {c.type: c for c in summarize(wanted, plan, [], lone_target, NOW).status.conditions}["Ready"]
    assert plan.blocked is not None
    assert (ready.status.value, ready.reason, ready.message) == ("False", "NotFound", plan.blocked.message)
    demoted = dataclasses.replace(replica(description=OTHER), role=Role.TARGET)
    pair = observe(demoted, peer(replica(description=OTHER)))
    plan = decide(desired(status=KNOWN), pair)
    ready = {c.type: c for c in summarize(desired(status=KNOWN), plan, [], pair, NOW).status.conditions}[
        "Ready"
    ]
    assert plan.blocked is not None
    assert (ready.status.value, ready.reason, ready.message) == ("False", "Conflict", plan.blocked.message)


def test_a_correction_of_several_differences_names_each_in_synced() -> None:
    wanted = desired({"rpo": "10m", "suspended": True}, SYNCED_STATUS)
    observed = observe(replica(), peer(replica()))
    plan = decide(wanted, observed)
    results = [StepResult(step) for step in plan.steps]
    synced = {c.type: c for c in summarize(wanted, plan, results, observed, NOW).status.conditions}["Synced"]
    assert (synced.reason, synced.message) == (
        "DriftCorrected",
        "put back changes made on the array: rpo is 5m, the spec says 10m; replication is running, the spec "
        "says suspended",
    )
