"""A claim-selector group's status.members: each member's persistentVolumeClaim (written by the
controller) is kept across passes while the array still holds that member; a member the array
added has none yet, one it dropped is gone."""

from __future__ import annotations

from replica_operator.reconcile import decide, summarize
from tests.unit.reconcile.builders import NOW, desired, observe, replica


def test_each_members_claim_is_kept_while_the_array_holds_that_member() -> None:
    previous = {
        "members": [
            {"local": "m1", "remote": "m1-dr", "persistentVolumeClaim": "data-0"},
            {"local": "m2", "remote": "m2-dr", "persistentVolumeClaim": "data-1"},
        ]
    }
    obj = desired(status=previous, kind="ConsistencyGroupReplica")
    group = replica(members=(("m2", "m2-dr"), ("m3", "m3-dr")), local_entity="cg-1", remote_entity="cg-1-dr")
    update = summarize(obj, decide(obj, observe(group)), [], observe(group), NOW)
    assert update.status.to_cr()["members"] == [
        {"local": "m2", "remote": "m2-dr", "persistentVolumeClaim": "data-1"},
        {"local": "m3", "remote": "m3-dr"},
    ]
