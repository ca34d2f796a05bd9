"""Issue 14 item 1: a Full object plans no call on a replica pair it does not own; take-over."""

from __future__ import annotations

import dataclasses

from replica_operator.reconcile import (
    TAKE_OVER_ANNOTATION,
    ArrayReplica,
    Delete,
    Role,
    RunAction,
    SideName,
    Suspend,
    TakeOver,
    decide,
    not_ours,
)
from tests.unit.reconcile.builders import SYNCED_STATUS, UID, UNREACHABLE, desired, observe, peer, replica

OTHER = "k8s-uid=11111111-2222-3333-4444-555555555555 k8s-object=team-a/db"
KNOWN = {**SYNCED_STATUS, "replicaId": 101, "remoteReplicaId": 202}


def _foreign_pair() -> tuple[ArrayReplica, ArrayReplica]:
    source = replica(description=OTHER)
    return source, peer(source, description=OTHER)


def test_full_object_never_plans_a_change_on_another_objects_replica() -> None:
    source, target = _foreign_pair()
    plan = decide(desired({"suspended": True}, KNOWN), observe(source, target))
    assert plan.steps == ()
    assert plan.blocked is not None
    assert plan.blocked.reason == "Conflict"
    assert "team-a/db" in plan.blocked.message
    assert TAKE_OVER_ANNOTATION in plan.blocked.message


def test_an_unmarked_replica_is_nobodys_and_not_changed_without_take_over() -> None:
    source = replica(description="")
    plan = decide(desired({"suspended": True}, KNOWN), observe(source, peer(source, description="")))
    assert plan.steps == ()
    assert plan.blocked is not None
    assert plan.blocked.reason == "Conflict"


def test_take_over_annotation_re_marks_the_pair_with_this_objects_mark() -> None:
    source, target = _foreign_pair()
    wanted = desired({"suspended": True}, KNOWN, annotations={TAKE_OVER_ANNOTATION: "101"})
    plan = decide(wanted, observe(source, target))
    assert [type(step) for step in plan.steps] == [TakeOver]
    step = plan.steps[0]
    assert isinstance(step, TakeOver)
    assert (step.replica_id, step.peer_id) == (101, 202)
    assert f"k8s-uid={UID}" in step.description
    assert "team-a/db" in step.previous


def test_take_over_annotation_naming_another_replica_does_nothing() -> None:
    source, target = _foreign_pair()
    wanted = desired({"suspended": True}, KNOWN, annotations={TAKE_OVER_ANNOTATION: "999"})
    plan = decide(wanted, observe(source, target))
    assert plan.steps == ()
    assert plan.blocked is not None
    assert plan.blocked.reason == "Conflict"


def test_take_over_of_a_search_candidate_adopts_it_with_the_step() -> None:
    candidate = replica(id=777, description="made by hand")
    wanted = desired(annotations={TAKE_OVER_ANNOTATION: "777"})
    plan = decide(wanted, observe(candidates=(candidate,), searched=True))
    assert [type(step) for step in plan.steps] == [TakeOver]
    assert plan.observation is not None
    assert plan.observation.source.replica == candidate


def test_our_own_replica_is_changed_as_usual() -> None:
    source = replica()
    plan = decide(desired({"suspended": True}, KNOWN), observe(source, peer(source)))
    assert [type(step) for step in plan.steps] == [Suspend]


def test_deleting_an_object_leaves_another_owners_replica_alone() -> None:
    source, target = _foreign_pair()
    plan = decide(desired(status=KNOWN, deleting=True), observe(source, target))
    assert Delete not in [type(step) for step in plan.steps]
    assert plan.release


def test_a_pair_is_ours_only_without_anyone_elses_mark() -> None:
    ours = f"k8s-uid={UID} k8s-object=ns/rep"
    assert not_ours(UID, [ours, ours]) is None
    assert not_ours(UID, [ours, ""]) is None  # a peer without description does not make it foreign
    assert not_ours(UID, [ours, OTHER]) is not None
    assert not_ours(UID, ["", None]) is not None


def test_a_side_whose_array_does_not_answer_is_left_out_of_the_ownership_decision() -> None:
    """Issue 18: after a take-over while the old site's array was away, its stale mark must not
    ask for the same take-over at every pass and hold back the ChangeRole behind it."""
    source = replica(role=Role.TARGET)  # ours: re-marked by the take-over
    stale = dataclasses.replace(peer(source, description=OTHER), role=Role.SOURCE)  # seen before it was lost
    action = {"action": {"id": "dr-1", "type": "ChangeRole"}}
    wanted = desired(action, KNOWN, annotations={TAKE_OVER_ANNOTATION: "101"})
    plan = decide(wanted, observe(source, stale, target_problem=UNREACHABLE))
    assert [type(step) for step in plan.steps] == [RunAction]
    # Back again with its old mark: judged again, and taken over as the annotation says.
    plan = decide(wanted, observe(source, stale))
    assert [type(step) for step in plan.steps] == [TakeOver]


def test_deleting_a_pair_half_re_marked_by_a_take_over_plans_its_delete() -> None:
    """Our mark on one side (found by it), the gone owner's on the other: the Delete is planned
    (the guard lets it through only once that owner is gone); without our mark it is left alone."""
    source = replica(id=101, role=Role.TARGET, description=f"k8s-uid={UID} k8s-object=ns/rep")
    switched = dataclasses.replace(peer(source, description=OTHER), role=Role.SOURCE, state="ACTIVE")
    observed = dataclasses.replace(observe(None, switched), marked=(source,))
    plan = decide(desired(deleting=True), observed)
    assert plan.steps == (Delete(side=SideName.TARGET, replica_id=202),)  # the SOURCE: its peer goes too
    assert not decide(desired(deleting=True), observe(None, switched)).steps
