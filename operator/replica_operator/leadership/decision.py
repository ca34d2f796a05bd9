"""May I lead? The pure part of leader election, with client-go's semantics and no I/O.

Semantics from client-go ``tools/leaderelection`` (``tryAcquireOrRenew``) and its Lease lock:

- a lease held by someone else is valid until ``leaseDurationSeconds`` after the moment *we* last
  saw its record change (our own monotonic clock, never the holder's ``renewTime``: the clocks of
  two nodes need not agree);
- an empty holder (a released lease) may be taken at once;
- the holder renewing keeps ``acquireTime`` and ``leaseTransitions``; a new holder sets
  ``acquireTime`` and adds one transition;
- releasing empties the holder and shortens the duration to 1 s (client-go's ``release``).

Writing the record is optimistic (the caller sends the resourceVersion it read); a 409 means
someone else wrote first and this attempt failed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

RELEASED_LEASE_SECONDS = 1


@dataclass(frozen=True)
class LeaseRecord:
    """The Lease's spec, as leader election reads and writes it."""

    holder: str
    lease_duration_seconds: int
    acquire_time: datetime | None
    renew_time: datetime | None
    transitions: int


@dataclass(frozen=True)
class Observation:
    """The record last read and when it last *changed* (our monotonic clock, in seconds)."""

    record: LeaseRecord
    changed_at: float


@dataclass(frozen=True)
class Take:
    """Write this record (create when there is no Lease yet, else update at the version read)."""

    record: LeaseRecord
    create: bool


@dataclass(frozen=True)
class HeldByOther:
    """Someone else holds a valid lease; try again in at most ``expires_in`` seconds."""

    holder: str
    expires_in: float


Decision = Take | HeldByOther


def observe(previous: Observation | None, current: LeaseRecord, now: float) -> Observation:
    """Track when the record last changed: the start of the holder's validity as we see it."""
    if previous is not None and previous.record == current:
        return previous
    return Observation(current, now)


def decide(
    current: Observation | None, identity: str, lease_seconds: int, wall_now: datetime, now: float
) -> Decision:
    """What to do with the lease as last read (None: there is no Lease object yet)."""
    if current is None:
        return Take(LeaseRecord(identity, lease_seconds, wall_now, wall_now, 0), create=True)
    record = current.record
    if record.holder and record.holder != identity:
        expires_in = current.changed_at + record.lease_duration_seconds - now
        if expires_in > 0:
            return HeldByOther(record.holder, expires_in)
    if record.holder == identity:
        renewed = replace(record, lease_duration_seconds=lease_seconds, renew_time=wall_now)
        return Take(renewed, create=False)
    taken = LeaseRecord(identity, lease_seconds, wall_now, wall_now, record.transitions + 1)
    return Take(taken, create=False)


def released(record: LeaseRecord, wall_now: datetime) -> LeaseRecord:
    """The record a leader writes on a clean shutdown: no holder, so a standby takes over at once."""
    return LeaseRecord("", RELEASED_LEASE_SECONDS, wall_now, wall_now, record.transitions)
