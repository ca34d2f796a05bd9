"""Issue 14 item 2: ids recorded with the serial; a side behind another system blocks the whole pass."""

from __future__ import annotations

import dataclasses

from replica_operator.reconcile import Plan, array_changed, decide, summarize
from tests.unit.reconcile.builders import NOW, SYNCED_STATUS, desired, observe, peer, replica

KNOWN = {**SYNCED_STATUS, "replicaId": 101, "remoteReplicaId": 202, "sourceSerial": 11, "targetSerial": 22}


def test_a_side_behind_another_system_blocks_changes_and_deletion() -> None:
    changed = array_changed("ibox-1", 11, 99)
    observed = observe(source_problem=changed)
    for wanted in (desired({"suspended": True}, KNOWN), desired(status=KNOWN, deleting=True)):
        plan = decide(wanted, observed)
        assert plan.steps == ()
        assert plan.blocked == changed
        assert not plan.release
    assert "11" in changed.message
    assert "99" in changed.message


def test_status_records_the_serial_of_each_side_with_its_id() -> None:
    source = replica()
    observed = observe(source, peer(source))
    observed = dataclasses.replace(
        observed,
        source=dataclasses.replace(observed.source, serial=11),
        target=dataclasses.replace(observed.target, serial=22),
    )
    update = summarize(desired(), Plan(observation=observed), (), observed, NOW)
    assert (update.status.source_serial, update.status.target_serial) == (11, 22)


def test_an_object_deleted_with_orphan_goes_even_behind_another_system() -> None:
    changed = array_changed("ibox-1", 11, 99)
    observed = observe(source_problem=changed)
    plan = decide(desired({"deletionPolicy": "Orphan"}, KNOWN, deleting=True), observed)
    assert plan.release
    assert plan.steps == ()
