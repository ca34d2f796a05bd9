"""What the rules do with an object being deleted: delete, wait (and say why), or let it go.

A deletion that cannot finish keeps the object (its finalizer) and tells the user how to get
out (spec.deletionPolicy Orphan), so the blocked message is pinned word for word.
"""

from __future__ import annotations

import dataclasses

from replica_operator.reconcile import Delete, Problem, decide
from tests.unit.reconcile.builders import SYNCED_STATUS, UNREACHABLE, desired, observe, peer, replica

ESCAPE = (
    "the operator keeps trying. To remove this object and leave the replica on the array, "
    "set spec.deletionPolicy to Orphan"
)


def test_a_deletion_with_the_source_array_down_waits_and_says_how_to_orphan() -> None:
    source = replica()
    plan = decide(
        desired(None, SYNCED_STATUS, deleting=True), observe(source, peer(source), source_problem=UNREACHABLE)
    )
    assert plan.blocked == Problem(
        "DeletionBlocked", f"cannot delete replica 101 on ibox-1 (ibox-1: connection refused); {ESCAPE}"
    )
    assert not plan.steps
    assert not plan.release


def test_a_deletion_before_the_first_listing_waits_for_it() -> None:
    plan = decide(desired(None, SYNCED_STATUS, deleting=True), observe(polled=False))
    assert plan.blocked == Problem(
        "DeletionBlocked", f"cannot delete replica 101 on ibox-1 (ibox-1 has not been listed yet); {ESCAPE}"
    )
    assert not plan.release


def test_a_failed_search_for_marked_replicas_blocks_the_deletion() -> None:
    observed = dataclasses.replace(
        observe(searched=True), marked_problem=Problem("ArrayUnreachable", "ibox-2: timed out")
    )
    plan = decide(desired(deleting=True), observed)
    assert plan.blocked == Problem(
        "DeletionBlocked", "the search for its marked replicas failed: ibox-2: timed out"
    )
    assert not plan.release


def test_a_deletion_deletes_the_source_replica_then_releases_when_nothing_is_left() -> None:
    source = replica()
    plan = decide(desired(None, SYNCED_STATUS, deleting=True), observe(source, peer(source)))
    deletes = [s for s in plan.steps if isinstance(s, Delete)]
    assert [d.replica_id for d in deletes] == [101]
    assert plan.blocked is None
    assert not plan.release
    gone = decide(desired(None, SYNCED_STATUS, deleting=True), observe())
    assert gone.release
    assert not gone.steps


def test_orphan_and_observe_only_release_without_a_call() -> None:
    source = replica()
    for spec in ({"deletionPolicy": "Orphan"}, {"managementPolicy": "ObserveOnly"}):
        plan = decide(desired(spec, SYNCED_STATUS, deleting=True), observe(source, peer(source)))
        assert plan.release
        assert not plan.steps
        assert plan.blocked is None


def test_another_owners_replica_is_released_not_deleted() -> None:
    theirs = replica(description="k8s-uid=someone-else k8s-object=ns/other")
    plan = decide(desired(None, SYNCED_STATUS, deleting=True), observe(theirs, peer(theirs)))
    assert plan.release
    assert not [s for s in plan.steps if isinstance(s, Delete)]


def test_a_target_is_not_deleted_alone_while_the_array_of_its_source_cannot_be_searched() -> None:
    """Status knows the pair, the source array is down, the target answers: deleting the TARGET
    alone would leave the SOURCE on ibox-1 marked by an object that is gone."""
    source = replica()
    plan = decide(
        desired(None, SYNCED_STATUS, deleting=True), observe(None, peer(source), source_problem=UNREACHABLE)
    )
    assert not plan.steps
    assert not plan.release
    assert plan.blocked == Problem(
        "DeletionBlocked",
        "cannot delete replica 202 on ibox-2 (its source may be on ibox-1, which cannot be searched: "
        f"ibox-1: connection refused); {ESCAPE}",
    )


def test_a_marked_target_found_after_a_crash_waits_for_the_source_array_too() -> None:
    """After a crash status names no replica; the mark finds the TARGET on ibox-2 only, because
    ibox-1 was not searched (not listed yet): still nothing is deleted."""
    target = peer(replica())  # marked by this object, as the builders' replicas are
    observed = dataclasses.replace(
        observe(), source=dataclasses.replace(observe().source, polled=False), marked=(target,)
    )
    plan = decide(desired(deleting=True), observed)
    assert not plan.steps
    assert plan.blocked is not None
    assert "its source may be on ibox-1, which cannot be searched: ibox-1 has not been listed yet" in (
        plan.blocked.message
    )


def test_a_target_is_deleted_alone_once_the_source_array_was_searched_and_holds_no_source() -> None:
    target = peer(replica())
    plan = decide(desired(None, SYNCED_STATUS, deleting=True), observe(None, target))
    deletes = [s for s in plan.steps if isinstance(s, Delete)]
    assert [(d.replica_id, d.force_on_target) for d in deletes] == [(202, True)]
