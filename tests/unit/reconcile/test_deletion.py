"""Issue 14 item 6: deletion removes every replica carrying the object's mark, on both arrays."""

from __future__ import annotations

import dataclasses

from replica_operator.reconcile import Delete, SideName, decide
from tests.unit.reconcile.builders import desired, observe, peer, replica


def test_after_a_crash_the_marked_source_replica_is_deleted_not_only_its_peer() -> None:
    source = replica(id=101)
    target = peer(source)
    observed = dataclasses.replace(observe(None, target), marked=(source, target))
    plan = decide(desired(deleting=True), observed)
    assert plan.steps == (Delete(side=SideName.SOURCE, replica_id=101),)  # its peer goes with it


def test_a_marked_leftover_beside_the_known_pair_is_deleted_too() -> None:
    source = replica(id=101)
    leftover = dataclasses.replace(peer(replica(id=105, remote_id=206)), id=206)
    observed = dataclasses.replace(observe(source, peer(source)), marked=(leftover,))
    plan = decide(desired(status={"replicaId": 101, "remoteReplicaId": 202}, deleting=True), observed)
    assert plan.steps == (
        Delete(side=SideName.SOURCE, replica_id=101),
        Delete(side=SideName.TARGET, replica_id=206, force_on_target=True),
    )


def test_nothing_marked_and_nothing_known_releases() -> None:
    plan = decide(desired(deleting=True), observe())
    assert plan.steps == ()
    assert plan.release


def test_after_a_switch_the_source_on_the_target_array_is_deleted_and_takes_its_peer_along() -> None:
    """spec.target's replica is the SOURCE now: its peer on spec.source's array goes with it."""
    promoted = replica(array="ibox-2", id=202, remote_id=101, local_entity="vol-1-dr")
    demoted = dataclasses.replace(peer(promoted), array="ibox-1", id=101, remote_id=202)
    observed = dataclasses.replace(observe(demoted, promoted), marked=(promoted, demoted))
    plan = decide(desired(status={"replicaId": 101, "remoteReplicaId": 202}, deleting=True), observed)
    assert plan.steps == (Delete(side=SideName.TARGET, replica_id=202),)


def test_nothing_is_deleted_while_both_infiniboxes_lead_to_one_system() -> None:
    """A url pointed at the other array: a mark search on both names finds that array's TARGET
    twice and none of the SOURCE; deleting it alone left the SOURCE without a peer (chaos, seed 404)."""
    target = peer(replica(id=101))
    observed = dataclasses.replace(observe(None, target), marked=(target,))
    observed = dataclasses.replace(
        observed,
        source=dataclasses.replace(observed.source, serial=2),
        target=dataclasses.replace(observed.target, serial=2),
    )
    plan = decide(desired(deleting=True), observed)
    assert plan.steps == ()
    assert plan.blocked is not None
    assert plan.blocked.reason == "DeletionBlocked"
    assert not plan.release
