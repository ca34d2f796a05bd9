"""The time-driven replication state machine shared by both sides of a replica.

A :class:`ReplicationSession` stores only what changes on events (create, suspend,
resume, type change, link down, ...). Everything that moves with time -- initial-sync
progress, periodic async jobs, ``last_synchronized``, RPO lag -- is computed by
:func:`evaluate` from the clock when a replica is read, so 1,000s of replicas cost
nothing while nobody looks at them and no background task per replica exists.

Rules (docs/simulator.md, "Replica behaviour"):

* INITIALIZING lasts ``initial_sync_seconds`` of *running* time (suspended or
  link-down time does not count); ``complete_initialization`` ends it at once.
* SYNC: SYNCHRONIZED while running (``last_synchronized`` is now), SYNC_IN_PROGRESS
  for ``job_seconds`` after a resume or a change to SYNC, OUT_OF_SYNC when stopped.
* ASYNC: a job starts every ``sync_interval`` (first one ``sync_interval`` after the
  initial sync) and lasts ``job_seconds``: SYNC_IN_PROGRESS during it, SYNCHRONIZED
  between jobs, OUT_OF_SYNC when stopped. ``restore_point`` is the start of the last
  completed job and ``last_synchronized`` its end; ``rpo_state`` is LAGGING once
  ``now - last_synchronized > rpo_value``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Literal

from pydantic import BaseModel

from ibox_sim.config import SimConfig

ReplicationType = Literal["ASYNC", "SYNC"]

#: Shortest period between async job starts, so a zero interval cannot make a busy loop.
MIN_PERIOD_SECONDS = 0.001


class SideRef(BaseModel):
    """One side of a replica: the system it lives on and its replica id there."""

    system: str
    replica_id: int


class ReplicationSession(BaseModel):
    """The replication progress shared by a SOURCE replica and its TARGET peer."""

    id: int
    replication_type: ReplicationType
    #: Remembered while SYNC too, so a change back to ASYNC restores them.
    rpo_ms: int
    interval_ms: int
    created_at: float
    sides: list[SideRef] = []
    user_suspended: bool = False
    jobs_paused: bool = False
    #: Why replication is not running although not suspended by the user (LINK_DOWN, ...).
    stop_reason: str | None = None
    #: When replication (re)started running; None while suspended / link down / role conflict.
    running_since: float | None = None
    started_at: float | None = None
    #: Running time spent initialising before ``running_since``.
    init_active: float = 0.0
    initialized_at: float | None = None
    last_sync: float | None = None
    restore_point: float | None = None
    #: ASYNC: start of the current or next job (None: no job scheduled).
    anchor: float | None = None
    #: SYNC: resynchronising (SYNC_IN_PROGRESS) until then.
    catchup_until: float | None = None
    #: Since when the link has been down (the array keeps retrying, ACTIVE) -- None while it is up.
    link_down_since: float | None = None
    #: Latched by the array after ``auto_suspend_after_seconds`` of link down: only a resume clears it.
    auto_suspended: bool = False
    #: Waiting for an initialization slot (``max_concurrent_inits``): the job shows PENDING.
    pending_since: float | None = None

    @property
    def running(self) -> bool:
        return self.running_since is not None


@dataclass(frozen=True, slots=True)
class JobView:
    id: int
    state: str
    is_initial: bool
    type: str
    start_time: float
    end_time: float | None


@dataclass(frozen=True, slots=True)
class SessionView:
    """The time-dependent fields of a replica at one instant."""

    initialized: bool
    initialized_at: float | None
    sync_state: str
    progress: int
    job: JobView | None
    last_synchronized: float | None
    restore_point: float | None
    next_job_start_time: float | None
    rpo_state: str | None
    in_job: bool
    job_start: float | None
    #: The link has been down for ``auto_suspend_after_seconds``: the array shows AUTO_SUSPENDED.
    link_auto_suspended: bool = False
    #: Until then (exclusive) the view stays the same unless an event changes the session.
    stable_until: float = field(default=math.inf, compare=False)


def job_period(s: ReplicationSession, cfg: SimConfig) -> float:
    """Time between async job starts."""
    return max(s.interval_ms / 1000.0, cfg.job_seconds, MIN_PERIOD_SECONDS)


def _job_length(s: ReplicationSession, cfg: SimConfig) -> float:
    return min(cfg.job_seconds, job_period(s, cfg))


def _init_done_at(s: ReplicationSession, now: float, cfg: SimConfig) -> float | None:
    if s.initialized_at is not None:
        return s.initialized_at
    if s.running_since is None:
        return None
    done = s.running_since + max(0.0, cfg.initial_sync_seconds - s.init_active)
    return done if now >= done else None


def evaluate(s: ReplicationSession, now: float, cfg: SimConfig) -> SessionView:
    """The replica's time-driven fields at ``now``; pure, so reads never change the model."""
    view = _evaluate(s, now, cfg)  # then what an ongoing link outage adds (ibox_sim.suspension)
    if s.link_down_since is None or s.auto_suspended or s.user_suspended:
        return view
    suspend_at = s.link_down_since + cfg.auto_suspend_after_seconds
    if now >= suspend_at:
        return replace(view, link_auto_suspended=True)
    job = view.job
    if job is None:  # the array keeps retrying: a job that cannot progress
        job = JobView(_job_id(s, s.link_down_since), "STALLED", False, "SYNC", s.link_down_since, None)
    return replace(view, job=job, stable_until=min(view.stable_until, suspend_at))


def _evaluate(s: ReplicationSession, now: float, cfg: SimConfig) -> SessionView:
    is_async = s.replication_type == "ASYNC"
    done_at = _init_done_at(s, now, cfg)
    if done_at is None:
        return _initializing(s, now, cfg, is_async)

    last: float | None
    restore: float | None
    anchor: float | None
    catchup: float | None
    if s.initialized_at is None:  # finished since the last event: as if latched at done_at
        last, restore = done_at, done_at
        anchor = done_at + job_period(s, cfg) if is_async and not s.jobs_paused else None
        catchup = None
    else:
        last, restore, anchor, catchup = s.last_sync, s.restore_point, s.anchor, s.catchup_until
    if not is_async:
        return _sync(s, now, cfg, done_at, last, restore, catchup)

    period, length = job_period(s, cfg), _job_length(s, cfg)
    in_job, next_start = False, anchor if s.running else None
    job_start: float | None = None
    stable = math.inf
    if s.running and anchor is not None:
        if now >= anchor:
            k = math.floor((now - anchor) / period)
            start = anchor + k * period
            if now < start + length:
                in_job, job_start, next_start = True, start, start + period
                stable = min(_next_step(now, start, length), start + length)
                if k >= 1:
                    restore, last = start - period, start - period + length
            else:
                restore, last, next_start = start, start + length, start + period
                stable = next_start
        else:
            stable = anchor
    rpo = s.rpo_ms / 1000.0
    lagging = last is None or now - last > rpo
    if last is not None and not lagging:
        stable = min(stable, last + rpo)
    job = None
    if in_job and job_start is not None:
        job = JobView(_job_id(s, job_start), "REPLICATING", False, "SYNC", job_start, None)
    return SessionView(
        initialized=True,
        initialized_at=done_at,
        sync_state="SYNC_IN_PROGRESS" if in_job else ("SYNCHRONIZED" if s.running else "OUT_OF_SYNC"),
        progress=_fraction(now, job_start, length) if in_job and job_start is not None else 100,
        job=job,
        last_synchronized=last,
        restore_point=restore,
        next_job_start_time=next_start,
        rpo_state="LAGGING" if lagging else "OK",
        in_job=in_job,
        job_start=job_start,
        stable_until=stable,
    )


def _initializing(s: ReplicationSession, now: float, cfg: SimConfig, is_async: bool) -> SessionView:
    running = s.running_since is not None
    active = s.init_active + (now - s.running_since if s.running_since is not None else 0.0)
    total = cfg.initial_sync_seconds
    progress = 0 if total <= 0 else min(99, int(100 * active / total))
    stable = math.inf
    if s.running_since is not None and total > 0:
        done = s.running_since + max(0.0, total - s.init_active)
        stable = min(_next_step(active, 0.0, total) - active + now, done)
    start = s.started_at if s.started_at is not None else s.created_at
    job_state = "INITIALIZING" if running else "STALLED"
    if s.pending_since is not None:
        job_state, start = "PENDING", s.pending_since
    job = JobView(
        id=_job_id(s, start),
        state=job_state,
        is_initial=True,
        type="INITIAL",
        start_time=start,
        end_time=None,
    )
    return SessionView(
        initialized=False,
        initialized_at=None,
        sync_state="INITIALIZING_PENDING" if s.pending_since is not None else "INITIALIZING",
        progress=progress,
        job=job,
        last_synchronized=None,
        restore_point=None,
        next_job_start_time=None,
        rpo_state="OK" if is_async else None,
        in_job=False,
        job_start=None,
        stable_until=stable,
    )


def _sync(
    s: ReplicationSession,
    now: float,
    cfg: SimConfig,
    done_at: float,
    last: float | None,
    restore: float | None,
    catchup: float | None,
) -> SessionView:
    job: JobView | None = None
    if not s.running:
        state, progress, stable = "OUT_OF_SYNC", 100, math.inf
    elif catchup is not None and now < catchup:
        start = catchup - cfg.job_seconds
        state, progress = "SYNC_IN_PROGRESS", _fraction(now, start, cfg.job_seconds)
        job = JobView(_job_id(s, start), "REPLICATING", False, "RESYNC", start, None)
        stable = min(_next_step(now, start, cfg.job_seconds), catchup)
    else:
        # reported to the second, as arrays do; it also lets rendered replicas be reused
        tick = float(math.floor(now))
        state, progress, last, restore, stable = "SYNCHRONIZED", 100, tick, tick, tick + 1.0
    return SessionView(
        initialized=True,
        initialized_at=done_at,
        sync_state=state,
        progress=progress,
        job=job,
        last_synchronized=last,
        restore_point=restore,
        next_job_start_time=None,
        rpo_state=None,
        in_job=job is not None,
        job_start=job.start_time if job is not None else None,
        stable_until=stable,
    )


def _next_step(now: float, start: float, length: float) -> float:
    """When the integer percentage of ``[start, start + length)`` reached at ``now`` next changes."""
    if length <= 0:
        return now
    step = length / 100.0
    return start + (math.floor((now - start) / step) + 1) * step


def _fraction(now: float, start: float, length: float) -> int:
    if length <= 0:
        return 100
    return max(0, min(99, int(100 * (now - start) / length)))


def _job_id(s: ReplicationSession, start: float) -> int:
    """Stable id of the job that started at ``start`` (the same on every read)."""
    return s.id * 1_000_000_000 + int(start * 1000) % 1_000_000_000
