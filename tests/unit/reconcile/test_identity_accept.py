"""Accepting a new system forgets the old ids only when the annotation names the serial connected now.

The ids in status are per-system integers: forgetting them on the wrong condition either keeps
someone else's ids in use or drops ours, so each guard of :func:`accept_new_system` is held here.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from replica_operator.reconcile import (
    ACCEPT_ARRAY_ANNOTATION,
    Desired,
    accept_new_system,
    array_changed,
    decide,
)
from tests.unit.reconcile.builders import SYNCED_STATUS, desired, observe

KNOWN = {
    **SYNCED_STATUS,
    "replicaId": 101,
    "remoteReplicaId": 202,
    "sourceSerial": 11,
    "targetSerial": 22,
    "currentTarget": {"array": "ibox-2", "entity": "vol-1"},
}


def accepting(serial: int | None) -> Desired:
    annotations = {ACCEPT_ARRAY_ANNOTATION: str(serial)} if serial is not None else None
    return desired(status=KNOWN, annotations=annotations)


def serials(source: int | None, target: int | None) -> dict[str, int | None]:
    return {"ibox-1": source, "ibox-2": target}


def accept_new_system_of(wanted: Desired, by_array: dict[str, int | None]) -> Desired:
    return accept_new_system(wanted, by_array.get)


def forgotten(result: Desired) -> bool:
    status = result.status
    ids = (status.replica_id, status.remote_replica_id, status.source_serial, status.target_serial)
    return (
        all(value is None for value in ids)
        and status.current_source is None
        and status.current_target is None
    )


@pytest.mark.parametrize(("source", "target"), [(99, 22), (11, 99)])
def test_the_ids_are_forgotten_when_the_annotation_names_the_new_system_of_either_side(
    source: int, target: int
) -> None:
    result = accept_new_system_of(accepting(99), serials(source, target))
    assert forgotten(result)
    assert result.spec == accepting(99).spec


@pytest.mark.parametrize(
    ("annotation", "source", "target", "why"),
    [
        (None, 99, 22, "no annotation"),
        (98, 99, 22, "the annotation names another serial"),
        (11, 11, 22, "the annotation names the recorded system, which has not changed"),
        (99, None, 22, "the source array is not connected"),
        (99, 11, 22, "no side has changed"),
    ],
)
def test_the_ids_are_kept_unless_the_new_system_is_accepted(
    annotation: int | None, source: int | None, target: int | None, why: str
) -> None:
    wanted = accepting(annotation)
    assert accept_new_system_of(wanted, serials(source, target)) is wanted, why


def test_nothing_is_forgotten_for_an_object_that_recorded_no_serial() -> None:
    wanted = desired(status={**SYNCED_STATUS, "replicaId": 101}, annotations={ACCEPT_ARRAY_ANNOTATION: "99"})
    assert accept_new_system_of(wanted, serials(99, 99)) is wanted


@given(recorded=st.integers(1, 10**6), now=st.integers(1, 10**6))
def test_an_accepted_change_is_forgotten_exactly_when_the_serial_differs(recorded: int, now: int) -> None:
    wanted = desired(
        status={**KNOWN, "sourceSerial": recorded, "targetSerial": None},
        annotations={ACCEPT_ARRAY_ANNOTATION: str(now)},
    )
    assert forgotten(accept_new_system_of(wanted, serials(now, None))) is (now != recorded)


def test_a_target_behind_another_system_blocks_the_pass_too() -> None:
    changed = array_changed("ibox-2", 22, 99)
    plan = decide(desired({"suspended": True}, KNOWN), observe(target_problem=changed))
    assert plan.steps == ()
    assert plan.blocked == changed
    assert changed.reason == "ArrayChanged"
    assert changed.retryable is False  # waits for the user, not for time


def test_the_problem_says_how_to_point_back_or_accept() -> None:
    message = array_changed("ibox-2", 22, 99).message
    assert "InfiniBox ibox-2" in message
    assert "serial 99" in message
    assert "Point spec.url back at serial 22" in message
    assert message.endswith(
        f'annotate this object {ACCEPT_ARRAY_ANNOTATION}="99" to forget the old ids and search the new system'
    )
