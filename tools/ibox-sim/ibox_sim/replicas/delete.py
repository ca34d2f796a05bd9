"""Deleting a replica (from the SOURCE the peer goes too) and exposing its last consistent snapshot.

Datasets are never deleted with a replica; ``retain_staging_area=true`` keeps a snapshot
of each entity on both sides, as infinisdk's ``Replica.delete`` expects [SDK replica.py].
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ibox_sim import store
from ibox_sim.context import Ctx, flag
from ibox_sim.errors import ApiError, invalid_state
from ibox_sim.model import Replica, System
from ibox_sim.replicas.common import (
    link_is_up,
    peer_of,
    refresh_session,
    render,
    require_initialized,
    view_of,
)

DELETE_FLAGS = frozenset(
    {
        "force_if_remote_error",
        "force_on_target",
        "force_if_no_remote_credentials",
        "force_on_local",
        "keep_serial_on_local",
        "retain_staging_area",
        "approved",
    }
)


def delete(ctx: Ctx, replica: Replica, params: Mapping[str, str]) -> dict[str, Any]:
    """Delete a replica; from the SOURCE the peer goes too. Returns the deleted replica as last seen.

    ``retain_staging_area=true`` keeps the last replicated data as a snapshot (or snapshot
    group) of each entity on both sides and reports its id in ``_local_reclaimed_*``.
    """
    for key in params:
        if key not in DELETE_FLAGS:
            raise ApiError(400, "UNKNOWN_PARAMETER", f"unknown parameter {key!r}")
    world = ctx.world
    force_target, force_remote = flag(params, "force_on_target"), flag(params, "force_if_remote_error")
    force_local, retain = flag(params, "force_on_local"), flag(params, "retain_staging_area")
    if replica.role == "TARGET" and not force_target:
        raise invalid_state(
            "OPERATION_NOT_ALLOWED_ON_TARGET", "deleting a TARGET replica needs force_on_target=true"
        )
    peer_system, peer = peer_of(world, replica)
    with_peer = replica.role == "SOURCE" and peer is not None and peer_system is not None
    connected = link_is_up(world, ctx.system, ctx.system.links.get(replica.link_id))
    if with_peer and not connected:
        if not (force_remote or force_local):
            raise invalid_state(
                "LINK_DISCONNECTED",
                "the peer cannot be reached; use force_if_remote_error=true to delete locally",
            )
        with_peer = False
    result = render(ctx, replica)
    if retain:
        _retain_staging(ctx, replica, result, "local")
        if with_peer and peer is not None and peer_system is not None:
            _retain_staging(ctx.on(peer_system), peer, result, "remote")
    _remove(ctx.system, replica)
    if with_peer and peer is not None and peer_system is not None:
        _remove(peer_system, peer)
    session = world.sessions.get(replica.session_id)
    if session is not None:
        if any(
            (s := world.systems.get(ref.system)) is not None and ref.replica_id in s.replicas
            for ref in session.sides
        ):
            refresh_session(world, session, ctx.now)
        else:
            del world.sessions[session.id]
    return result


def expose_last_consistent_snapshot(ctx: Ctx, replica: Replica) -> dict[str, Any]:
    """Snapshot the last replicated data of this side; ids as in a delete retaining the staging area."""
    require_initialized(view_of(ctx, replica), "expose a snapshot")
    result = render(ctx, replica)
    _retain_staging(ctx, replica, result, "local")
    return result


def _retain_staging(ctx: Ctx, replica: Replica, result: dict[str, Any], side: str) -> None:
    """Snapshot the entities of ``replica`` and note the ids in the delete result under ``side``."""
    system = ctx.system
    if replica.entity_type == "CONSISTENCY_GROUP":
        cg = system.cgs.get(replica.local_cg_id) if replica.local_cg_id is not None else None
        if cg is not None:
            taken = {c.name for c in system.cgs.values()}
            name = store.unique_name(f"{cg.name}-replica-{replica.id}-staging", taken)
            result[f"_{side}_reclaimed_sg_id"] = store.snapshot_group(
                ctx, cg, name, None, f"-{replica.id}"
            ).id
        return
    for n, pair in enumerate(replica.pairs):
        dataset = system.dataset(pair.local_entity_id)
        if dataset is None or n >= len(result["entity_pairs"]):
            continue
        taken = {d.name for d in system.datasets(dataset.kind).values()}
        snap = store.snapshot_of(
            ctx, dataset, store.unique_name(f"{dataset.name}-replica-{replica.id}", taken)
        )
        result["entity_pairs"][n][f"_{side}_reclaimed_snapshot_id"] = snap.id


def _remove(system: System, replica: Replica) -> None:
    for pair in replica.pairs:
        dataset = system.dataset(pair.local_entity_id)
        if dataset is not None and replica.id in dataset.replica_ids:
            dataset.replica_ids.remove(replica.id)
    cg = system.cgs.get(replica.local_cg_id) if replica.local_cg_id is not None else None
    if cg is not None and replica.id in cg.replica_ids:
        cg.replica_ids.remove(replica.id)
    system.replicas.pop(replica.id, None)
