"""Consistency groups and their members (a member change of a replicated CG goes to :mod:`ibox_sim.replicas`).

Each function validates everything first and only then changes the model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ibox_sim import metadata, replicas
from ibox_sim.context import (
    Ctx,
    check_keys,
    check_name,
    ensure_unique_name,
    flag,
    get_int,
    get_str,
    require_dict,
    require_int,
)
from ibox_sim.errors import bad_request, conflict, invalid_value, not_found, unknown_parameter
from ibox_sim.model import ConsGroup, Dataset
from ibox_sim.objects import check_mutable, remove_dataset
from ibox_sim.store import (
    get_cg,
    get_pool,
    snapshot_group,
)

# ---------------------------------------------------------------------------------- consistency groups

_CG_CREATE_KEYS = frozenset(
    {
        "name",
        "pool_id",
        "parent_id",
        "snap_prefix",
        "snap_suffix",
        "lock_expires_at",
        "snapshot_policy_id",
        "snapshot_retention",
        "remote_snapshot_retention",
        "remote_snapshot_retention_lock",
    }
)


def create_cg(ctx: Ctx, body: Any) -> ConsGroup:
    """A consistency group, or a snapshot group of an existing one when ``parent_id`` is given."""
    data = require_dict(body)
    check_keys(data, _CG_CREATE_KEYS)
    system = ctx.system
    ident = system.next_id
    parent_id = get_int(data, "parent_id")
    if parent_id:
        parent = get_cg(system, parent_id)
        name = check_name(data.get("name") or f"{parent.name}_sg_{ident}")
        ensure_unique_name(name, system.cgs.values(), "consistency group")
        return snapshot_group(ctx, parent, name, get_str(data, "snap_prefix"), get_str(data, "snap_suffix"))
    pool = get_pool(system, require_int(data, "pool_id"))
    name = check_name(data.get("name") or f"cg_{ident}")
    ensure_unique_name(name, system.cgs.values(), "consistency group")
    cg = ConsGroup(
        id=system.allocate_id(),
        name=name,
        pool_id=pool.id,
        created_at=ctx.now,
        updated_at=ctx.now,
        lock_expires_at=get_int(data, "lock_expires_at"),
        snapshot_retention=get_int(data, "snapshot_retention"),
    )
    system.cgs[cg.id] = cg
    return cg


def update_cg(ctx: Ctx, cg_id: int, body: Any) -> ConsGroup:
    cg = get_cg(ctx.system, cg_id)
    data = require_dict(body)
    check_mutable(data, frozenset({"name", "lock_expires_at", "snapshot_retention"}), "cgs")
    if "name" in data and data["name"] != cg.name:
        ensure_unique_name(check_name(data["name"]), ctx.system.cgs.values(), "consistency group")
        cg.name = data["name"]
    for key in ("lock_expires_at", "snapshot_retention"):
        if key in data:
            setattr(cg, key, get_int(data, key))
    cg.updated_at = ctx.now
    return cg


def delete_cg(ctx: Ctx, cg_id: int, params: Mapping[str, str]) -> ConsGroup:
    system = ctx.system
    cg = get_cg(system, cg_id)
    if cg.replica_ids:
        raise conflict(
            "ENTITY_ALREADY_REPLICATED", f"consistency group {cg.name!r} is replicated; delete the replica"
        )
    delete_members = flag(params, "delete_members") or bool(cg.parent_id)
    if delete_members:
        replicated = [m for m in cg.member_ids if (d := system.dataset(m)) is not None and d.replica_ids]
        if replicated:
            raise conflict("ENTITY_ALREADY_REPLICATED", f"members {replicated} are replicated")
    for child_id in list(cg.child_ids):
        child = system.cgs.get(child_id)
        if child is not None:
            delete_cg(ctx, child_id, {})
    for member_id in list(cg.member_ids):
        member = system.dataset(member_id)
        if member is None:
            continue
        if delete_members:
            remove_dataset(system, member)
        else:
            member.cg_id = None
    parent = system.cgs.get(cg.parent_id) if cg.parent_id else None
    if parent is not None and cg.id in parent.child_ids:
        parent.child_ids.remove(cg.id)
    system.cgs.pop(cg.id, None)
    metadata.forget(system, cg.id)
    return cg


def add_member(ctx: Ctx, cg_id: int, body: Any) -> ConsGroup:
    system = ctx.system
    cg = get_cg(system, cg_id)
    data = require_dict(body)
    check_keys(
        data,
        {
            "dataset_id",
            "replication_pair_info",
            "replication_pairs_info",
            "remote_entity_name",
            "active_active_info",
        },
    )
    dataset_id = require_int(data, "dataset_id")
    dataset = system.dataset(dataset_id)
    if dataset is None:
        raise not_found("volume", dataset_id)
    if cg.parent_id:
        raise bad_request(f"{cg.name!r} is a snapshot group; members cannot be added")
    if dataset.is_snapshot:
        raise invalid_value("dataset_id", dataset_id, "snapshots cannot be CG members")
    if dataset.cg_id is not None:
        raise conflict("ENTITY_ALREADY_IN_CG", f"{dataset.name!r} is already a member of a consistency group")
    if dataset.pool_id != cg.pool_id:
        raise invalid_value("dataset_id", dataset_id, f"members must be in the CG's pool ({cg.pool_id})")
    if dataset.replica_ids:
        raise conflict("ENTITY_ALREADY_REPLICATED", f"{dataset.name!r} is replicated on its own")
    if cg.replica_ids:
        replicas.add_cg_member(ctx, cg, dataset, data)
    else:
        check_keys(data, {"dataset_id"})
    dataset.cg_id = cg.id
    cg.member_ids.append(dataset.id)
    cg.updated_at = dataset.updated_at = ctx.now
    return cg


#: The query parameters infinisdk's ``ConsGroup.remove_member`` may send (infinibox-api.md §5.4).
REMOVE_MEMBER_FLAGS = frozenset(
    {
        "retain_staging_area",
        "create_replica",
        "replica_name",
        "force_if_no_remote_credentials",
        "force_if_remote_error",
        "force_on_target",
        "force_on_local",
        "keep_serial_on_local",
        "approved",
    }
)


def remove_member(ctx: Ctx, cg_id: int, dataset_id: int, params: Mapping[str, str]) -> Dataset:
    """A member leaves its group; of a replicated group, its pair goes and the remote dataset stays.

    ``create_replica=true`` (keep replicating the member on its own) is not simulated: 400.
    """
    for key in params:
        if key not in REMOVE_MEMBER_FLAGS:
            raise unknown_parameter(key)
    if flag(params, "create_replica"):
        raise bad_request("create_replica=true is not simulated", "NOT_SUPPORTED")
    for key in REMOVE_MEMBER_FLAGS - {"replica_name", "approved", "create_replica"}:
        flag(params, key)  # a malformed boolean is refused before anything changes
    system = ctx.system
    cg = get_cg(system, cg_id)
    dataset = system.dataset(dataset_id)
    if dataset is None or dataset.id not in cg.member_ids:
        raise not_found("volume", dataset_id)
    if cg.replica_ids:
        replicas.remove_cg_member(ctx, cg, dataset, params)
    cg.member_ids.remove(dataset.id)
    dataset.cg_id = None
    cg.updated_at = dataset.updated_at = ctx.now
    return dataset
