"""Replica actions (suspend, resume, sync, type and role changes), ``PUT`` updates and simulator controls.

Each action validates completely, then changes the shared session and answers the replica.
"""

from __future__ import annotations

from typing import Any

from ibox_sim import transitions
from ibox_sim.context import Ctx, check_keys, get_int, get_str, require_dict
from ibox_sim.errors import ApiError, invalid_state, invalid_value
from ibox_sim.model import Replica
from ibox_sim.replicas.common import (
    peer_of,
    refresh_session,
    require_connected,
    require_initialized,
    require_source,
    session_of,
    touch,
    view_of,
)
from ibox_sim.state import ReplicationType
from ibox_sim.suspension import auto_suspend_pending

_MUTABLE = frozenset(
    {
        "description",
        "rpo_value",
        "sync_interval",
        "permanent_failure_wait_interval",
        "temporary_failure_retry_interval",
        "temporary_failure_retry_count",
        "snapshots_retention",
        "remote_snapshot_suffix",
        "lock_remote_snapshot_retention",
    }
)


def suspend(ctx: Ctx, replica: Replica) -> Replica:
    require_source(replica, "suspend")
    session = session_of(ctx.world, replica)
    if session.user_suspended:
        raise invalid_state("REPLICA_IS_SUSPENDED", f"replica {replica.id} is already suspended")
    session.user_suspended = True
    refresh_session(ctx.world, session, ctx.now)
    touch(ctx, replica)
    return replica


def resume(ctx: Ctx, replica: Replica) -> Replica:
    """Resume what the user or the array suspended (AUTO_SUSPENDED needs this, as on real arrays)."""
    require_source(replica, "resume")
    session = session_of(ctx.world, replica)
    auto = session.auto_suspended or auto_suspend_pending(session, ctx.now, ctx.cfg)
    if not (session.user_suspended or auto):
        raise invalid_state("REPLICA_NOT_SUSPENDED", f"replica {replica.id} is not suspended")
    require_connected(ctx, replica, "resume")
    session.user_suspended = False
    session.auto_suspended = False
    refresh_session(ctx.world, session, ctx.now)
    touch(ctx, replica)
    return replica


def sync(ctx: Ctx, replica: Replica) -> Replica:
    """Start an async job now (a no-op while one runs)."""
    require_source(replica, "sync")
    session = session_of(ctx.world, replica)
    if session.replication_type != "ASYNC":
        raise invalid_state("REPLICA_TYPE_MISMATCH", "sync now applies to ASYNC replicas only")
    if session.user_suspended:
        raise invalid_state("REPLICA_IS_SUSPENDED", f"replica {replica.id} is suspended")
    require_initialized(view_of(ctx, replica), "sync")
    if not session.running:
        raise invalid_state("LINK_DISCONNECTED", "cannot sync: replication is not running")
    transitions.sync_now(session, ctx.now, ctx.cfg)
    return replica


def change_type(ctx: Ctx, replica: Replica, new_type: ReplicationType, body: Any) -> Replica:
    """``change_type_to_sync`` / ``change_type_to_async``; refused while INITIALIZING."""
    data = require_dict(body)
    require_source(replica, f"change_type_to_{new_type.lower()}")
    session = session_of(ctx.world, replica)
    require_initialized(view_of(ctx, replica), f"change the type to {new_type}")
    if session.replication_type == new_type:
        raise invalid_state("REPLICA_TYPE_MISMATCH", f"replica {replica.id} is already {new_type}")
    rpo: int | None = None
    interval: int | None = None
    if new_type == "SYNC":
        check_keys(data, ())
        if replica.entity_type == "FILESYSTEM" and not ctx.cfg.sync_filesystems:
            raise invalid_value("replication_type", "SYNC", "filesystems replicate ASYNC only")
    else:
        check_keys(data, ("rpo_value", "sync_interval"))
        rpo = get_int(data, "rpo_value", minimum=1)
        interval = get_int(data, "sync_interval", minimum=0)
        effective_rpo = rpo if rpo is not None else session.rpo_ms
        effective_interval = interval if interval is not None else min(session.interval_ms, effective_rpo)
        if effective_interval > effective_rpo:
            raise invalid_value(
                "sync_interval", effective_interval, f"must not exceed rpo_value ({effective_rpo})"
            )
        interval = effective_interval
    require_connected(ctx, replica, f"change the type to {new_type}")
    transitions.change_type(session, ctx.now, ctx.cfg, new_type, rpo, interval)
    touch(ctx, replica)
    return replica


def switch_role(ctx: Ctx, replica: Replica) -> Replica:
    """Swap SOURCE and TARGET on both systems (SYNC, initialised, replicating)."""
    if replica.role != "SOURCE":
        raise invalid_state("REPLICA_NOT_SOURCE", "switch_role is called on the SOURCE replica")
    session = session_of(ctx.world, replica)
    if session.replication_type != "SYNC":
        raise invalid_state("REPLICA_TYPE_MISMATCH", "switch_role applies to SYNC replicas only")
    require_initialized(view_of(ctx, replica), "switch roles")
    if session.user_suspended:
        raise invalid_state("REPLICA_IS_SUSPENDED", f"replica {replica.id} is suspended")
    _, peer = peer_of(ctx.world, replica)
    if peer is None or not session.running:
        raise invalid_state("LINK_DISCONNECTED", "cannot switch roles: replication is not running")
    replica.role, peer.role = "TARGET", "SOURCE"
    refresh_session(ctx.world, session, ctx.now)
    touch(ctx, replica)
    return replica


def change_role(ctx: Ctx, replica: Replica, body: Any) -> Replica:
    """Flip this side's role without touching the peer (failover); needs replication to be stopped."""
    if body is not None:
        data = require_dict(body)
        check_keys(data, ("entity_pairs",))
        if data.get("entity_pairs") is not None and not isinstance(data["entity_pairs"], list):
            raise invalid_value("entity_pairs", data["entity_pairs"], "expected a list")
    session = session_of(ctx.world, replica)
    require_initialized(view_of(ctx, replica), "change the role")
    if session.running:
        raise invalid_state(
            "REPLICA_NOT_SUSPENDED", "change_role needs the replica suspended or its link down"
        )
    replica.role = "TARGET" if replica.role == "SOURCE" else "SOURCE"
    replica.updated_at = ctx.now
    refresh_session(ctx.world, session, ctx.now)
    return replica


def update(ctx: Ctx, replica: Replica, body: Any) -> Replica:
    """``PUT /replicas/<id>``: description, rpo_value, sync_interval and the other mutable fields."""
    data = require_dict(body)
    from ibox_sim.fields import field_names

    known = field_names("replicas")
    for key in data:
        if key not in _MUTABLE:
            if key in known:
                raise ApiError(400, "INVALID_PARAMETER", f"field {key!r} cannot be changed")
            raise ApiError(400, "UNKNOWN_PARAMETER", f"unknown parameter {key!r}")
    session = session_of(ctx.world, replica)
    rpo = get_int(data, "rpo_value", minimum=1)
    interval = get_int(data, "sync_interval", minimum=0)
    if rpo is not None or interval is not None:
        require_source(replica, "changing rpo_value / sync_interval")
        if session.replication_type != "ASYNC":
            raise ApiError(
                400, "INVALID_PARAMETER", "rpo_value and sync_interval apply to ASYNC replicas only"
            )
        new_rpo = rpo if rpo is not None else session.rpo_ms
        new_interval = interval if interval is not None else session.interval_ms
        if new_interval > new_rpo:
            raise invalid_value("sync_interval", new_interval, f"must not exceed rpo_value ({new_rpo})")
    ints = {}
    for key in (
        "permanent_failure_wait_interval",
        "temporary_failure_retry_interval",
        "temporary_failure_retry_count",
        "snapshots_retention",
        "lock_remote_snapshot_retention",
    ):
        if key in data:
            ints[key] = get_int(data, key, minimum=0)
    description = get_str(data, "description", max_length=1024)
    suffix = get_str(data, "remote_snapshot_suffix")
    # -- valid: apply
    if rpo is not None or interval is not None:
        transitions.set_schedule(session, ctx.now, ctx.cfg, rpo, interval)
    if "description" in data:
        replica.description = description
    if "remote_snapshot_suffix" in data:
        replica.remote_snapshot_suffix = suffix
    for key, value in ints.items():
        if value is not None or key in ("snapshots_retention", "lock_remote_snapshot_retention"):
            setattr(replica, key, value)
    replica.updated_at = ctx.now
    return replica


# ------------------------------------------------------------------------------ simulator controls


def complete_initialization(ctx: Ctx, replica: Replica) -> Replica:
    """End INITIALIZING now; a replica still waiting for a slot starts (and ends) at once."""
    session = session_of(ctx.world, replica)
    if session.pending_since is not None:
        session.pending_since = None
        ctx.world.pending = [i for i in ctx.world.pending if i != session.id]
        refresh_session(ctx.world, session, ctx.now)
    transitions.complete_initialization(session, ctx.now, ctx.cfg)
    return replica


def set_jobs_paused(ctx: Ctx, replica: Replica, paused: bool) -> Replica:
    transitions.set_jobs_paused(session_of(ctx.world, replica), ctx.now, ctx.cfg, paused)
    return replica
