"""Whose replica it is, decided before any mutating step (issue 14, item 1).

A Full object changes or deletes only a replica pair that carries its own mark (see
:mod:`.ownership`). A pair marked by another object, or marked by nobody (made by hand, or
adopted under ObserveOnly), is someone else's: the object reports ``Synced=False/Conflict``
naming the owner. Taking it over is the user's explicit step, the annotation
:data:`~.desired.TAKE_OVER_ANNOTATION` naming the replica id; the controller then checks
that the marked owner no longer exists before it re-marks the pair.
"""

from __future__ import annotations

from .desired import TAKE_OVER_ANNOTATION, Desired
from .observed import ArrayReplica, Observation, Problem, SideName
from .ownership import not_ours, owner_mark
from .steps import TakeOver


def located(observed: Observation) -> tuple[tuple[SideName, ArrayReplica], ...]:
    """The replicas of the pair that were found, by side."""
    return tuple(
        (name, replica)
        for name in (SideName.SOURCE, SideName.TARGET)
        if (replica := observed.side(name).replica) is not None
    )


def claim(desired: Desired, observed: Observation) -> TakeOver | Problem | None:
    """None when the located pair is ours (or there is none); the user's take-over; else the Conflict.

    A side whose array does not answer is left out: what it showed last is stale, no call goes
    there, and after a take-over while it was away (an unplanned failover) its old mark would
    otherwise ask for the same take-over forever. It is judged again when it answers.
    """
    found = tuple(
        (name, replica) for name, replica in located(observed) if observed.side(name).problem is None
    )
    if not found:
        return None
    owner = not_ours(desired.uid, (replica.description for _, replica in found))
    if owner is None:
        return None
    for name, replica in found:
        if desired.take_over == replica.id:
            return take_over(desired, name, replica, owner)
    return conflict(found[0][1], owner)


def take_over(desired: Desired, side: SideName, replica: ArrayReplica, owner: str) -> TakeOver:
    """Re-mark ``replica`` (and its peer) with this object's mark."""
    mark = owner_mark(desired.uid, desired.namespace, desired.name)
    return TakeOver(
        side=side, replica_id=replica.id, description=mark, peer_id=replica.remote_id, previous=owner
    )


def conflict(replica: ArrayReplica, owner: str) -> Problem:
    """Synced=False/Conflict: the replica is another owner's; how the user takes it over."""
    return Problem(
        "Conflict",
        f"replica {replica.id} on {replica.array} belongs to {owner}; this object never changes or deletes "
        "another owner's replica. If that owner no longer exists or the replica was made by hand, annotate "
        f'this object {TAKE_OVER_ANNOTATION}="{replica.id}" to take it over',
        retryable=False,
    )


def candidate_to_take_over(desired: Desired, candidates: tuple[ArrayReplica, ...]) -> TakeOver | None:
    """The search found the replica the take-over annotation names, and it is not ours yet."""
    for replica in candidates:
        owner = not_ours(desired.uid, (replica.description,))
        if replica.id == desired.take_over and owner is not None:
            return take_over(desired, SideName.SOURCE, replica, owner)
    return None
