"""Who owns a replica, in the words of a Conflict, and the take-over step that re-marks it."""

from __future__ import annotations

import dataclasses

import pytest

from replica_operator.reconcile import (
    TAKE_OVER_ANNOTATION,
    Problem,
    SideName,
    TakeOver,
    decide,
    describe_owner,
    foreign_uid,
    owner_mark,
)
from tests.unit.reconcile.builders import UID, desired, observe, peer, replica

OTHER_UID = "11111111-2222-3333-4444-555555555555"
OTHER = f"k8s-uid={OTHER_UID} k8s-object=team-a/db"
MINE = f"k8s-uid={UID} k8s-object=ns/rep"


@pytest.mark.parametrize(
    ("description", "words"),
    [
        (None, "a replica not managed by this operator"),
        ("", "a replica not managed by this operator"),
        ("made by hand", "a replica not managed by this operator (description 'made by hand')"),
        ("x" * 100, f"a replica not managed by this operator (description {'x' * 80!r})"),
        (OTHER, f"the object team-a/db (uid {OTHER_UID})"),
        (f"k8s-uid={OTHER_UID}", f"the object ? (uid {OTHER_UID})"),
    ],
)
def test_the_owner_is_named_as_a_user_can_find_it(description: str | None, words: str) -> None:
    assert describe_owner(description) == words


def test_a_foreign_uid_is_another_objects_mark_never_ours_or_none() -> None:
    assert foreign_uid(UID, [MINE, None, "made by hand", ""]) is None
    assert foreign_uid(UID, []) is None
    assert foreign_uid(UID, [MINE, OTHER]) == OTHER_UID


def test_a_conflict_says_whose_replica_it_is_and_how_to_take_it_over() -> None:
    source = replica(description=OTHER)
    plan = decide(desired(status={"replicaId": 101, "remoteReplicaId": 202}), observe(source, peer(source)))
    assert plan.blocked == Problem(
        "Conflict",
        f"replica 101 on ibox-1 belongs to the object team-a/db (uid {OTHER_UID}); this object never "
        "changes or deletes another owner's replica. If that owner no longer exists or the replica was "
        f'made by hand, annotate this object {TAKE_OVER_ANNOTATION}="101" to take it over',
        retryable=False,
    )


def test_a_take_over_of_the_known_pair_re_marks_the_side_the_user_named() -> None:
    """After a switch the SOURCE is on spec.target's array: the take-over runs there."""
    promoted = replica(array="ibox-2", id=202, remote_id=101, description=OTHER)
    demoted = dataclasses.replace(peer(promoted), array="ibox-1", id=101, remote_id=202)
    wanted = desired(
        status={"replicaId": 101, "remoteReplicaId": 202}, annotations={TAKE_OVER_ANNOTATION: "202"}
    )
    plan = decide(wanted, observe(demoted, promoted))
    assert plan.steps == (
        TakeOver(
            side=SideName.TARGET,
            replica_id=202,
            description=owner_mark(UID, "ns", "rep"),
            peer_id=101,
            previous=f"the object team-a/db (uid {OTHER_UID})",
        ),
    )
    assert owner_mark(UID, "ns", "rep") == MINE


def test_a_take_over_of_a_replica_the_search_found_re_marks_it_on_the_source_array() -> None:
    found = replica(id=303, remote_id=404, description="made by hand")
    wanted = desired(annotations={TAKE_OVER_ANNOTATION: "303"})
    plan = decide(wanted, observe(candidates=(found,), searched=True))
    assert plan.steps == (
        TakeOver(
            side=SideName.SOURCE,
            replica_id=303,
            description=MINE,
            peer_id=404,
            previous="a replica not managed by this operator (description 'made by hand')",
        ),
    )
