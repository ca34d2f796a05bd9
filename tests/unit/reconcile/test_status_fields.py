"""The status fields of a pass, whole, per situation: what ``kubectl get -o yaml`` shows of the arrays.

Conditions and lastAction have their own tests (test_conditions.py, test_last_action.py); here
the fields copied from the replica: ids, state, schedule, progress, endpoints and the times.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest

from replica_operator.api import ReplicationType
from replica_operator.reconcile import Desired, Observation, Plan, decide, summarize
from tests.unit.reconcile.builders import NOW, SYNCED_STATUS, UNREACHABLE, desired, observe, peer, replica

HEALTHY = {
    "observedGeneration": 1,
    "replicaId": 101,
    "remoteReplicaId": 202,
    "role": "SOURCE",
    "state": "ACTIVE",
    "syncState": "SYNCHRONIZED",
    "replicationType": "ASYNC",
    "rpo": "5m",
    "syncInterval": "1m",
    "rpoState": "OK",
    "progress": 100,
    "currentSource": {"array": "ibox-1", "entity": "vol-1"},
    "currentTarget": {"array": "ibox-2", "entity": "vol-1-dr"},
    "lastSynchronized": "2026-11-25T11:59:55Z",
    "lastObserved": "2026-11-25T12:00:00Z",
}


def _fields(wanted: Desired, observed: Observation, plan: Plan | None = None) -> dict[str, Any]:
    update = summarize(wanted, plan or decide(wanted, observed), [], observed, NOW)
    fields = update.status.to_cr()
    fields.pop("conditions")
    return fields


def test_an_async_replica_in_line_shows_every_field_of_the_array() -> None:
    assert _fields(desired(status=SYNCED_STATUS), observe(replica(), peer(replica()))) == HEALTHY


def test_a_sync_replica_shows_no_schedule() -> None:
    sync = replica(replication_type=ReplicationType.SYNC)  # the array may still report the old values
    fields = _fields(desired({"replicationType": "SYNC"}, SYNCED_STATUS), observe(sync, peer(sync)))
    assert (fields["replicationType"], "rpo" in fields, "syncInterval" in fields) == ("SYNC", False, False)


def test_without_the_target_side_the_remote_id_comes_from_the_source_replica() -> None:
    fields = _fields(desired(), observe(replica(remote_id=303)))
    assert (fields["replicaId"], fields["remoteReplicaId"]) == (101, 303)


@pytest.mark.parametrize(
    ("reported", "shown"), [(40, 40), (None, 0), (0, 0), (-5, 0), (150, 100), (100, 100)]
)
def test_progress_while_initializing_is_the_arrays_kept_within_0_and_100(
    reported: int | None, shown: int
) -> None:
    copying = replica(initializing=True, sync_state="INITIALIZING", progress=reported)
    assert _fields(desired(), observe(copying, peer(copying)))["progress"] == shown


def test_after_a_switch_the_current_source_is_the_target_array() -> None:
    promoted = replica(array="ibox-2", id=202, remote_id=101, local_entity="vol-1-dr", remote_entity="vol-1")
    demoted = dataclasses.replace(peer(promoted), array="ibox-1", id=101, remote_id=202)
    fields = _fields(desired(status=SYNCED_STATUS), observe(demoted, promoted))
    assert fields["currentSource"] == {"array": "ibox-2", "entity": "vol-1-dr"}
    assert fields["currentTarget"] == {"array": "ibox-1", "entity": "vol-1"}
    assert (fields["replicaId"], fields["remoteReplicaId"], fields["role"]) == (101, 202, "TARGET")


def test_entities_the_array_does_not_name_are_the_specs_on_the_source_only() -> None:
    unnamed = replica(local_entity=None, remote_entity=None)
    fields = _fields(desired(status=SYNCED_STATUS), observe(unnamed, peer(unnamed)))
    assert fields["currentSource"] == {"array": "ibox-1", "entity": "vol-1"}
    assert fields["currentTarget"] == {"array": "ibox-2"}
    promoted = replica(array="ibox-2", id=202, remote_id=101, local_entity=None, remote_entity=None)
    demoted = dataclasses.replace(peer(promoted), array="ibox-1", id=101, remote_id=202)
    switched = _fields(desired(status=SYNCED_STATUS), observe(demoted, promoted))
    assert switched["currentSource"] == {"array": "ibox-2"}  # vol-1 is on ibox-1: not the SOURCE's name
    assert switched["currentTarget"] == {"array": "ibox-1"}


def test_an_unreachable_array_keeps_the_last_known_fields() -> None:
    known = {**HEALTHY, "pendingReplicationType": "SYNC"}
    fields = _fields(desired(status=known), observe(source_problem=UNREACHABLE, polled=False))
    for kept in ("state", "syncState", "progress", "pendingReplicationType", "replicaId", "remoteReplicaId"):
        assert fields[kept] == known[kept], kept


def test_a_replica_deleted_outside_kubernetes_clears_its_state_but_not_its_ids() -> None:
    fields = _fields(desired(status=HEALTHY), observe(searched=True))
    for cleared in ("state", "syncState", "progress"):
        assert cleared not in fields, cleared
    assert (fields["replicaId"], fields["remoteReplicaId"]) == (101, 202)


def test_a_re_create_forgets_the_old_ids_and_serials() -> None:
    known = {**HEALTHY, "sourceSerial": 11, "targetSerial": 22}
    fields = _fields(desired(status=known), observe(searched=True), Plan(forget=True))
    for forgotten in ("replicaId", "remoteReplicaId", "sourceSerial", "targetSerial"):
        assert forgotten not in fields, forgotten


def test_a_re_create_that_found_its_replica_keeps_its_ids() -> None:
    fields = _fields(desired(status=HEALTHY), observe(replica(id=909, remote_id=808)), Plan(forget=True))
    assert (fields["replicaId"], fields["remoteReplicaId"]) == (909, 808)


def test_a_pass_that_changes_nothing_writes_nothing_and_keeps_the_times() -> None:
    wanted, observed = desired(status=SYNCED_STATUS), observe(replica(), peer(replica()))
    first = summarize(wanted, decide(wanted, observed), [], observed, NOW)
    settled = desired(status=first.status.to_cr())
    # Five minutes on, the periodic job has moved lastSynchronized along: not a transition.
    moved = replica(last_synchronized=NOW + timedelta(minutes=5, seconds=-5))
    later = dataclasses.replace(observe(moved, peer(moved)), now=NOW + timedelta(minutes=5))
    again = summarize(settled, decide(settled, later), [], later, NOW + timedelta(minutes=5))
    assert again.changed is False
    assert again.status == settled.status  # lastObserved stays: a quiet replica costs no write
