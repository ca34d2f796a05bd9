"""Events that change a replication session: start/stop, type and schedule changes, sync now.

Each folds what already happened into the stored fields first (:func:`materialize`), so a
change only affects the future; :func:`ibox_sim.state.evaluate` derives the rest from the clock.
"""

from __future__ import annotations

from ibox_sim.config import SimConfig
from ibox_sim.state import ReplicationSession, ReplicationType, SessionView, evaluate, job_period


def materialize(s: ReplicationSession, now: float, cfg: SimConfig) -> SessionView:
    """Fold everything that happened up to ``now`` into the stored fields.

    Called before any event changes the session, so the change only affects the future.
    """
    view = evaluate(s, now, cfg)
    if not view.initialized:
        if s.running_since is not None:
            s.init_active += now - s.running_since
            s.running_since = now
        return view
    if s.initialized_at is None:
        s.initialized_at = view.initialized_at
    s.last_sync, s.restore_point = view.last_synchronized, view.restore_point
    if s.replication_type == "ASYNC":
        s.anchor = view.job_start if view.in_job else view.next_job_start_time
        if s.jobs_paused or not s.running:
            s.anchor = None
    elif not view.in_job:
        s.catchup_until = None
    return view


def set_running(s: ReplicationSession, now: float, cfg: SimConfig, running: bool) -> None:
    """Start or stop replication (suspend/resume, link down/up, role conflict)."""
    if s.running == running:
        return
    view = materialize(s, now, cfg)
    if running:
        s.running_since = now
        if s.started_at is None:
            s.started_at = now
        if view.initialized:
            if s.replication_type == "ASYNC":
                s.anchor = None if s.jobs_paused else now  # catch up at once
            else:
                s.catchup_until = now + cfg.job_seconds
    else:
        s.running_since = None
        s.anchor = None  # a running job is abandoned
        s.catchup_until = None


def complete_initialization(s: ReplicationSession, now: float, cfg: SimConfig) -> None:
    """End INITIALIZING now (``/_sim/.../complete-initialization``)."""
    view = materialize(s, now, cfg)
    if view.initialized:
        return
    s.initialized_at = now
    s.last_sync = s.restore_point = now
    s.anchor = None
    if s.replication_type == "ASYNC" and s.running and not s.jobs_paused:
        s.anchor = now + job_period(s, cfg)


def sync_now(s: ReplicationSession, now: float, cfg: SimConfig) -> None:
    """Start an async job now unless one is running (``POST replicas/<id>/sync``)."""
    view = materialize(s, now, cfg)
    if not view.in_job:
        s.anchor = now


def change_type(
    s: ReplicationSession,
    now: float,
    cfg: SimConfig,
    new_type: ReplicationType,
    rpo_ms: int | None = None,
    interval_ms: int | None = None,
) -> None:
    """Switch between SYNC and ASYNC on an initialised session."""
    view = materialize(s, now, cfg)
    if rpo_ms is not None:
        s.rpo_ms = rpo_ms
    if interval_ms is not None:
        s.interval_ms = interval_ms
    s.replication_type = new_type
    if new_type == "SYNC":
        s.anchor = None
        s.catchup_until = now + cfg.job_seconds if s.running else None
        return
    s.catchup_until = None
    s.anchor = None
    if s.running and not s.jobs_paused:
        if view.in_job:  # was resynchronising: carry on as an async job
            s.anchor = now
        else:
            s.last_sync = s.restore_point = now
            s.anchor = now + job_period(s, cfg)


def set_schedule(
    s: ReplicationSession, now: float, cfg: SimConfig, rpo_ms: int | None, interval_ms: int | None
) -> None:
    """Change ``rpo_value`` / ``sync_interval``; a running job finishes, the next follows the new interval."""
    view = materialize(s, now, cfg)
    if rpo_ms is not None:
        s.rpo_ms = rpo_ms
    if interval_ms is not None:
        s.interval_ms = interval_ms
    if s.replication_type == "ASYNC" and s.anchor is not None and not view.in_job:
        base = s.restore_point if s.restore_point is not None else now
        s.anchor = max(now, base + job_period(s, cfg))


def set_jobs_paused(s: ReplicationSession, now: float, cfg: SimConfig, paused: bool) -> None:
    """Stop (or restart) periodic async jobs so the replica falls behind its RPO."""
    view = materialize(s, now, cfg)
    s.jobs_paused = paused
    if paused:
        s.anchor = None
    elif s.running and view.initialized and s.replication_type == "ASYNC":
        s.anchor = now
