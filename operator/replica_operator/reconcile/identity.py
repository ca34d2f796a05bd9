"""Replica ids belong to one system: the serial recorded with them guards every use (issue 14, item 2).

An InfiniBox object's url may come to point at another system (a typo fixed the wrong way, a
DNS change, a DR drill). Replica ids are per-system integers, so an id kept in status would
then name someone else's replica there. The observer compares the serial recorded in status
(``sourceSerial``/``targetSerial``) with the serial of the system it is connected to now; a
difference is ``ArrayChanged`` and blocks the whole pass (deletion included) until the url
leads back to the recorded system, or the user accepts the new one with the annotation
:data:`~.desired.ACCEPT_ARRAY_ANNOTATION` naming its serial: the ids are then forgotten and
the object searches afresh (adopts its own marked replica there, or creates one).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from .desired import ACCEPT_ARRAY_ANNOTATION, Desired
from .observed import Observation, Problem

ARRAY_CHANGED = "ArrayChanged"


def array_changed(array: str, recorded: int, serial: int) -> Problem:
    """The problem of a side whose url now leads to another system than the ids in status."""
    return Problem(
        ARRAY_CHANGED,
        f"InfiniBox {array} now leads to the system with serial {serial}, but the replica ids in status "
        f"belong to serial {recorded}: no call uses them there. Point spec.url back at serial {recorded}, or "
        f'annotate this object {ACCEPT_ARRAY_ANNOTATION}="{serial}" to forget the old ids and '
        "search the new system",
        retryable=False,
    )


def changed_array(observed: Observation) -> Problem | None:
    """The ArrayChanged problem of either side, if there is one."""
    for side in (observed.source, observed.target):
        if side.problem is not None and side.problem.reason == ARRAY_CHANGED:
            return side.problem
    return None


def accept_new_system(desired: Desired, serial_of: Callable[[str], int | None]) -> Desired:
    """``desired`` without the ids of the old system, when the user accepted the new one; else as is."""
    status = desired.status
    recorded = (
        (desired.spec.source.array, status.source_serial),
        (desired.spec.target.array, status.target_serial),
    )
    for array, serial in recorded:
        now = serial_of(array)
        if serial is not None and now is not None and now != serial and desired.accept_serial == now:
            forgotten = status.model_copy(
                update={
                    "replica_id": None,
                    "remote_replica_id": None,
                    "source_serial": None,
                    "target_serial": None,
                    "current_source": None,
                    "current_target": None,
                }
            )
            return dataclasses.replace(desired, status=forgotten)
    return desired
