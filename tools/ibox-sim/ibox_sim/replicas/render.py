"""A replica as the API shows it: every field infinisdk declares, time-driven ones evaluated at read time.

Two modes change the picture without changing the model: ``null_optional_fields`` shows
optional values as ``null`` where a real array may (infinisdk handles a null ``jobs``
explicitly: ``Replica._get_jobs``), and a replica's ``overrides`` (set through
``/_sim/``) replace fields with odd values for tolerant-parsing tests.
"""

from __future__ import annotations

from typing import Any

from ibox_sim.clock import to_ms
from ibox_sim.model import Pair, Replica, System, World
from ibox_sim.state import JobView, ReplicationSession, SessionView, evaluate
from ibox_sim.suspension import replica_state

#: Replica fields shown as null (when empty or false) in ``null_optional_fields`` mode.
NULLABLE_REPLICA_FIELDS = (
    "jobs",
    "description",
    "local_pool_name",
    "remote_pool_name",
    "_assigned_sync_remote_ips",
    "base_action",
)
#: Entity-pair fields always shown as null in that mode (a client must fall back to the ids).
NULLABLE_PAIR_FIELDS = ("local_entity_name", "remote_entity_name")


def nullify(data: dict[str, Any], keys: tuple[str, ...]) -> None:
    """Show empty or false optional values as null, as a real array may."""
    for key in keys:
        if key in data and not data[key]:
            data[key] = None


def _name_of(system: System | None, ident: int | None) -> str | None:
    if system is None or ident is None:
        return None
    d = system.volumes.get(ident) or system.filesystems.get(ident)
    return d.name if d is not None else None


def _pair(
    pair: Pair, replica: Replica, local: System, peer: System | None, view: SessionView
) -> dict[str, Any]:
    return {
        "id": pair.id,
        "replica_id": replica.id,
        "remote_pair_id": pair.remote_pair_id,
        "local_entity_id": pair.local_entity_id,
        "remote_entity_id": pair.remote_entity_id,
        "local_entity_name": _name_of(local, pair.local_entity_id),
        "remote_entity_name": _name_of(peer, pair.remote_entity_id),
        "local_base_action": pair.local_base_action,
        "remote_base_action": pair.remote_base_action,
        "local_base_entity_id": pair.local_base_entity_id,
        "remote_base_entity_id": pair.remote_base_entity_id,
        "progress": view.progress,
        "last_synchronized": to_ms(view.last_synchronized),
        "restore_point": to_ms(view.restore_point),
        "is_initial": not view.initialized,
        "_local_reclaimed_snapshot_id": None,
        "_remote_reclaimed_snapshot_id": None,
    }


def _job(job: JobView) -> dict[str, Any]:
    return {
        "id": job.id,
        "state": job.state,
        "is_initial": job.is_initial,
        "type": job.type,
        "start_time": to_ms(job.start_time),
        "end_time": to_ms(job.end_time),
    }


def _entities(world: World, system: System, replica: Replica) -> dict[str, Any]:
    """The entity, CG and pool fields, for a dataset replica or a CG replica."""
    peer = world.systems.get(replica.peer_system)
    local_cg = system.cgs.get(replica.local_cg_id) if replica.local_cg_id is not None else None
    remote_cg = peer.cgs.get(replica.remote_cg_id) if peer and replica.remote_cg_id is not None else None
    first = replica.pairs[0] if replica.pairs else None
    if replica.entity_type == "CONSISTENCY_GROUP":
        local_id, remote_id = replica.local_cg_id, replica.remote_cg_id
        local_name = local_cg.name if local_cg else None
        remote_name = remote_cg.name if remote_cg else None
        local_pool_id = local_cg.pool_id if local_cg else None
    else:
        local_id = first.local_entity_id if first else None
        remote_id = first.remote_entity_id if first else None
        local_name, remote_name = _name_of(system, local_id), _name_of(peer, remote_id)
        local_ds = system.dataset(local_id) if local_id is not None else None
        local_pool_id = local_ds.pool_id if local_ds else None
    local_pool = system.pools.get(local_pool_id) if local_pool_id is not None else None
    remote_pool = peer.pools.get(replica.remote_pool_id) if peer and replica.remote_pool_id else None
    return {
        "local_cg_id": replica.local_cg_id,
        "local_cg_name": local_cg.name if local_cg else None,
        "remote_cg_id": replica.remote_cg_id,
        "remote_cg_name": remote_cg.name if remote_cg else None,
        "local_pool_id": local_pool_id,
        "local_pool_name": local_pool.name if local_pool else None,
        "remote_pool_id": replica.remote_pool_id,
        "remote_pool_name": remote_pool.name if remote_pool else None,
        "local_entity_id": local_id,
        "remote_entity_id": remote_id,
        "local_entity_name": local_name,
        "remote_entity_name": remote_name,
        "remote_system_name": peer.name if peer else None,
        "remote_system_serial_number": peer.serial if peer else None,
    }


def _progress(session: ReplicationSession, view: SessionView, job_seconds: float) -> dict[str, Any]:
    """The time-driven fields: state of the sync, jobs, schedule and RPO."""
    is_async = session.replication_type == "ASYNC"
    job, next_job = view.job, view.next_job_start_time
    return {
        "replication_type": session.replication_type,
        "sync_state": view.sync_state,
        "progress": view.progress,
        "is_initial": not view.initialized,
        "jobs": [_job(job)] if job is not None else [],
        "job_state": job.state if job else None,
        "pending_job_count": 1 if job is not None and job.state == "PENDING" else 0,
        "throughput": 104_857_600 if job is not None and job.state not in ("STALLED", "PENDING") else 0,
        "last_synchronized": to_ms(view.last_synchronized),
        "restore_point": to_ms(view.restore_point),
        "next_job_start_time": to_ms(next_job),
        "next_restore_point": to_ms(next_job),
        "started_at": to_ms(session.started_at),
        "sync_duration": int(job_seconds * 1000) if is_async and view.initialized else None,
        "rpo_value": session.rpo_ms if is_async else None,
        "sync_interval": session.interval_ms if is_async else None,
        "rpo_state": view.rpo_state,
        "rpo_type": "RPO_VALUE" if is_async else None,
        "latency": 0 if not is_async else None,
    }


def _settings(replica: Replica) -> dict[str, Any]:
    """Fields that are plain settings of the replica."""
    return {
        "base_action": replica.base_action,
        "staging_area_allocated_size": 0,
        "permanent_failure_wait_interval": replica.permanent_failure_wait_interval,
        "temporary_failure_retry_interval": replica.temporary_failure_retry_interval,
        "temporary_failure_retry_count": replica.temporary_failure_retry_count,
        "is_preferred": False,
        "concurrent_replica": False,
        "suspended_from_local": False,
        "including_snapshots": replica.including_snapshots,
        "snapshots_retention": replica.snapshots_retention,
        "remote_snapshot_suffix": replica.remote_snapshot_suffix,
        "lock_remote_snapshot_retention": replica.lock_remote_snapshot_retention,
        "async_mode": False,
        "domino": False,
        "_assigned_sync_remote_ips": [],
        "_consistent_guid": None,
        "_local_reclaimed_sg_id": None,
        "_remote_reclaimed_sg_id": None,
    }


def render_replica(
    world: World, system: System, replica: Replica, now: float, view: SessionView | None = None
) -> dict[str, Any]:
    """A replica with its time-driven fields evaluated at ``now`` (``view``: already evaluated)."""
    session = world.sessions[replica.session_id]
    cfg = world.config
    if view is None:
        view = evaluate(session, now, cfg)
    peer = world.systems.get(replica.peer_system)
    state, reason, description = replica_state(replica.role, session, now, cfg)
    pairs = [_pair(p, replica, system, peer, view) for p in replica.pairs]
    out: dict[str, Any] = {
        "id": replica.id,
        "description": replica.description,
        "created_at": to_ms(replica.created_at),
        "updated_at": to_ms(replica.updated_at),
        "link_id": replica.link_id,
        "entity_type": replica.entity_type,
        "entity_pairs": pairs,
        "remote_replica_id": replica.remote_replica_id,
        "role": replica.role,
        "state": state,
        "state_reason": reason,
        "state_description": description,
        **_progress(session, view, cfg.job_seconds),
        **_entities(world, system, replica),
        **_settings(replica),
    }
    if cfg.null_optional_fields:
        nullify(out, NULLABLE_REPLICA_FIELDS)
        for pair in pairs:
            pair.update(dict.fromkeys(NULLABLE_PAIR_FIELDS))
    out.update(replica.overrides)
    return out
