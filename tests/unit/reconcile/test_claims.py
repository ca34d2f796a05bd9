"""Issue 14 item 1: a Full object plans no call on a replica pair it does not own; take-over."""

from __future__ import annotations

from replica_operator.reconcile import (
    TAKE_OVER_ANNOTATION,
    ArrayReplica,
    Delete,
    Suspend,
    TakeOver,
    decide,
    not_ours,
)
from tests.unit.reconcile.builders import SYNCED_STATUS, UID, desired, observe, peer, replica

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
