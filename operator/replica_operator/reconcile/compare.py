"""Comparing one replica with the spec: the steps that bring it in line, and the differences in words."""

from __future__ import annotations

from datetime import timedelta

from replica_operator.api import ReplicationType, format_duration, schedule_applies

from .desired import Desired
from .observed import (
    ACTIVE,
    AUTO_SUSPENDED,
    SELF_CLEARING_REASONS,
    SUSPENDED,
    ArrayReplica,
    Observation,
    SideName,
)
from .steps import ChangeType, Resume, Step, Suspend, UpdateSchedule


def compare(
    desired: Desired, side: SideName, replica: ArrayReplica
) -> tuple[tuple[Step, ...], tuple[str, ...], ReplicationType | None]:
    """The steps that make the replica match the spec, the differences in words, a deferred type."""
    spec = desired.spec
    steps: list[Step] = []
    differences: list[str] = []
    pending: ReplicationType | None = None
    have_type = replica.replication_type
    if have_type is not None and have_type is not spec.replication_type:
        differences.append(f"replicationType is {have_type}, the spec says {spec.replication_type}")
        if replica.initializing:
            pending = spec.replication_type
        else:
            rpo, sync_interval = spec.schedule()
            steps.append(
                ChangeType(
                    side=side,
                    replica_id=replica.id,
                    to=spec.replication_type,
                    rpo=rpo,
                    sync_interval=sync_interval,
                )
            )
    elif schedule_applies(spec.replication_type):
        rpo = spec.rpo if spec.rpo is not None and replica.rpo != spec.rpo else None
        interval = spec.sync_interval
        if interval is not None and replica.sync_interval == interval:
            interval = None
        if rpo is not None:
            differences.append(f"rpo is {_text(replica.rpo)}, the spec says {format_duration(rpo)}")
        if interval is not None:
            differences.append(
                f"syncInterval is {_text(replica.sync_interval)}, the spec says {format_duration(interval)}"
            )
        elif rpo is not None and spec.sync_interval is None:
            interval = _interval_within(rpo, replica.sync_interval)
        if rpo is not None or interval is not None:
            steps.append(UpdateSchedule(side=side, replica_id=replica.id, rpo=rpo, sync_interval=interval))
    state = replica.state
    if spec.suspended and state == ACTIVE:
        # First: a suspension is often an emergency stop, and it does not depend on the others.
        differences.append("replication is running, the spec says suspended")
        steps.insert(0, Suspend(side=side, replica_id=replica.id))
    elif not spec.suspended and state == SUSPENDED:
        differences.append("replication is suspended, the spec says running")
        steps.append(Resume(side=side, replica_id=replica.id))
    return tuple(steps), tuple(differences), pending


def recovery_steps(
    desired: Desired, observed: Observation, side: SideName, replica: ArrayReplica
) -> tuple[Step, ...]:
    """Resume what the array suspended by itself (link down) once both arrays answer again,
    unless spec.autoResume is false (then the user resumes it: the Ready condition says how).

    A role conflict or a missing peer is not resumed: the array lifts it once resolved and
    refuses a resume meanwhile (a resume per pass, refused forever, was a chaos finding)."""
    auto_suspended = (
        replica.state == AUTO_SUSPENDED
        and desired.spec.auto_resume
        and replica.state_reason not in SELF_CLEARING_REASONS
    )
    link_up = observed.link_problem is None  # a resume over a link that is down is refused anyway
    if auto_suspended and link_up and observed.source.usable and observed.target.usable:
        return (Resume(side=side, replica_id=replica.id),)
    return ()


def _interval_within(rpo: timedelta, interval: timedelta | None) -> timedelta | None:
    """The interval to send with a new ``rpo`` when the spec names none: the array's, unless it
    would be longer than the rpo (the array refuses interval > rpo), then the rpo itself.

    A create with no interval gets ``min(4m, rpo)`` (``array.requests.async_times``); for an rpo
    below 4m that is the rpo too. An unreadable interval is sent as the rpo: always accepted.
    """
    return rpo if interval is None or interval > rpo else None


def _text(value: timedelta | None) -> str:
    return format_duration(value) if value is not None else "unset"
