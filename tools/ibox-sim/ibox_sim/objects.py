"""Pools, volumes, filesystems, snapshots and consistency groups (CGs: ibox_sim.cgs).

Each function validates everything first and only then changes the model, so a refused
call leaves nothing half-done. Replication-specific work is delegated to
:mod:`ibox_sim.replicas`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ibox_sim import metadata
from ibox_sim.context import (
    Ctx,
    check_keys,
    check_name,
    ensure_unique_name,
    get_bool,
    get_int,
    get_str,
    require_dict,
    require_int,
)
from ibox_sim.errors import ApiError, conflict, invalid_value, not_found
from ibox_sim.fields import field_names
from ibox_sim.model import Dataset, DatasetKind, Pool, System
from ibox_sim.store import (
    get_dataset,
    get_pool,
    kind_word,
    snapshot_of,
)

# ---------------------------------------------------------------------------------------------- pools

_POOL_CREATE_KEYS = frozenset(
    {
        "name",
        "virtual_capacity",
        "physical_capacity",
        "physical_capacity_warning",
        "physical_capacity_critical",
        "ssd_enabled",
        "compression_enabled",
        "max_extend",
        "type",
        "owners",
    }
)
_POOL_MUTABLE = _POOL_CREATE_KEYS - {"type"}


def create_pool(ctx: Ctx, body: Any) -> Pool:
    data = require_dict(body)
    check_keys(data, _POOL_CREATE_KEYS)
    system = ctx.system
    pool_id = system.next_id
    name = check_name(data.get("name") or f"pool_{pool_id}")
    ensure_unique_name(name, system.pools.values(), "pool")
    capacity = 10**12
    pool = Pool(
        id=pool_id,
        name=name,
        created_at=ctx.now,
        updated_at=ctx.now,
        physical_capacity=get_int(data, "physical_capacity", minimum=0) or capacity,
        virtual_capacity=get_int(data, "virtual_capacity", minimum=0) or capacity,
        physical_capacity_warning=get_int(data, "physical_capacity_warning", minimum=0) or 80,
        physical_capacity_critical=get_int(data, "physical_capacity_critical", minimum=0) or 90,
        ssd_enabled=get_bool(data, "ssd_enabled", True),
        compression_enabled=get_bool(data, "compression_enabled", True),
        max_extend=get_int(data, "max_extend") or -1,
        type=get_str(data, "type") or "STANDARD",
    )
    system.allocate_id()
    system.pools[pool.id] = pool
    return pool


def update_pool(ctx: Ctx, pool_id: int, body: Any) -> Pool:
    pool = get_pool(ctx.system, pool_id)
    data = require_dict(body)
    check_mutable(data, _POOL_MUTABLE, "pools")
    if "name" in data and data["name"] != pool.name:
        ensure_unique_name(check_name(data["name"]), ctx.system.pools.values(), "pool")
    changes: dict[str, Any] = {}
    for key in (
        "physical_capacity",
        "virtual_capacity",
        "physical_capacity_warning",
        "physical_capacity_critical",
        "max_extend",
    ):
        if key in data:
            changes[key] = get_int(data, key)
    for key in ("ssd_enabled", "compression_enabled"):
        if key in data:
            changes[key] = get_bool(data, key)
    if "name" in data:
        changes["name"] = data["name"]
    for key, value in changes.items():
        setattr(pool, key, value)
    pool.updated_at = ctx.now
    return pool


def delete_pool(ctx: Ctx, pool_id: int) -> Pool:
    system = ctx.system
    pool = get_pool(system, pool_id)
    used = any(d.pool_id == pool_id for d in (*system.volumes.values(), *system.filesystems.values()))
    if used or any(cg.pool_id == pool_id for cg in system.cgs.values()):
        raise conflict("POOL_NOT_EMPTY", f"pool {pool.name!r} still holds datasets or consistency groups")
    del system.pools[pool_id]
    return pool


def check_mutable(data: Mapping[str, Any], mutable: frozenset[str], collection: str) -> None:
    known = field_names(collection)
    for key in data:
        if key in mutable:
            continue
        if key in known:
            raise ApiError(400, "INVALID_PARAMETER", f"field {key!r} cannot be changed")
        raise ApiError(400, "UNKNOWN_PARAMETER", f"unknown parameter {key!r}")


# ------------------------------------------------------------------------------------------- datasets

_DATASET_CREATE_KEYS = frozenset(
    {
        "name",
        "size",
        "pool_id",
        "provtype",
        "ssd_enabled",
        "write_protected",
        "compression_enabled",
        "lock_expires_at",
        "snapshot_policy_id",
        "snapshot_retention",
        "udid",
        "parent_id",
        "qos_policy_id",
        "atime_mode",
        "root_mode",
        "snapdir_name",
        "visible_in_snapdir",
        "snapdir_accessible",
        "security_style",
        "atime_granularity",
        "used_capacity_warning",
        "used_capacity_critical",
    }
)
_DATASET_MUTABLE = frozenset(
    {
        "name",
        "size",
        "provtype",
        "ssd_enabled",
        "write_protected",
        "compression_enabled",
        "lock_expires_at",
        "snapshot_retention",
    }
)


def create_dataset(ctx: Ctx, kind: DatasetKind, body: Any) -> Dataset:
    """A volume/filesystem, or a snapshot of one when the body names ``parent_id``."""
    data = require_dict(body)
    check_keys(data, _DATASET_CREATE_KEYS)
    system = ctx.system
    collection = system.datasets(kind)
    parent_id = get_int(data, "parent_id")
    ident = system.next_id
    if parent_id:
        parent = collection.get(parent_id)
        if parent is None:
            raise not_found(kind_word(kind), parent_id)
        name = check_name(data.get("name") or f"{parent.name}_snap_{ident}")
        ensure_unique_name(name, collection.values(), kind_word(kind))
        snap = snapshot_of(ctx, parent, name)
        snap.write_protected = get_bool(data, "write_protected", False)
        snap.lock_expires_at = get_int(data, "lock_expires_at")
        snap.snapshot_retention = get_int(data, "snapshot_retention")
        return snap
    size = require_int(data, "size", minimum=1)
    pool = get_pool(system, require_int(data, "pool_id"))
    name = check_name(data.get("name") or f"{kind_word(kind)[:3]}_{ident}")
    ensure_unique_name(name, collection.values(), kind_word(kind))
    provtype = (get_str(data, "provtype") or "THICK").upper()
    if provtype not in ("THICK", "THIN"):
        raise invalid_value("provtype", provtype, "THICK or THIN")
    dataset = Dataset(
        id=system.allocate_id(),
        kind=kind,
        name=name,
        size=size,
        pool_id=pool.id,
        provtype=provtype,
        family_id=ident,
        created_at=ctx.now,
        updated_at=ctx.now,
        ssd_enabled=get_bool(data, "ssd_enabled", True),
        write_protected=get_bool(data, "write_protected", False),
        compression_enabled=get_bool(data, "compression_enabled", True),
        lock_expires_at=get_int(data, "lock_expires_at"),
        snapshot_retention=get_int(data, "snapshot_retention"),
    )
    collection[dataset.id] = dataset
    return dataset


def update_dataset(ctx: Ctx, kind: DatasetKind, ident: int, body: Any) -> Dataset:
    dataset = get_dataset(ctx.system, kind, ident)
    data = require_dict(body)
    check_mutable(data, _DATASET_MUTABLE, "volumes" if kind == "VOLUME" else "filesystems")
    if "name" in data and data["name"] != dataset.name:
        ensure_unique_name(check_name(data["name"]), ctx.system.datasets(kind).values(), kind_word(kind))
    if "size" in data:
        size = require_int(data, "size", minimum=1)
        if size < dataset.size:
            raise invalid_value("size", size, "datasets can only grow")
        if dataset.replica_ids:
            raise conflict("ENTITY_ALREADY_REPLICATED", f"{kind_word(kind)} {dataset.name!r} is replicated")
        dataset.size = size
    if "provtype" in data:
        provtype = str(data["provtype"]).upper()
        if provtype not in ("THICK", "THIN"):
            raise invalid_value("provtype", provtype, "THICK or THIN")
        dataset.provtype = provtype
    if "name" in data:
        dataset.name = data["name"]
    for key in ("ssd_enabled", "write_protected", "compression_enabled"):
        if key in data:
            setattr(dataset, key, get_bool(data, key))
    for key in ("lock_expires_at", "snapshot_retention"):
        if key in data:
            setattr(dataset, key, get_int(data, key))
    dataset.updated_at = ctx.now
    return dataset


def delete_dataset(ctx: Ctx, kind: DatasetKind, ident: int) -> Dataset:
    """Delete a dataset and its snapshots; replicated datasets and members of replicated CGs are refused."""
    system = ctx.system
    dataset = get_dataset(system, kind, ident)
    if dataset.replica_ids:
        raise conflict(
            "ENTITY_ALREADY_REPLICATED",
            f"{kind_word(kind)} {dataset.name!r} is replicated (replicas {dataset.replica_ids});"
            " delete them first",
        )
    cg = system.cgs.get(dataset.cg_id) if dataset.cg_id is not None else None
    if cg is not None and cg.replica_ids and not dataset.is_snapshot:
        raise conflict(
            "ENTITY_ALREADY_REPLICATED", f"{dataset.name!r} is a member of replicated CG {cg.name!r}"
        )
    remove_dataset(system, dataset)
    return dataset


def remove_dataset(system: System, dataset: Dataset) -> None:
    collection = system.datasets(dataset.kind)
    for child_id in list(dataset.child_ids):
        child = collection.get(child_id)
        if child is not None:
            remove_dataset(system, child)
    parent = collection.get(dataset.parent_id) if dataset.parent_id else None
    if parent is not None and dataset.id in parent.child_ids:
        parent.child_ids.remove(dataset.id)
    cg = system.cgs.get(dataset.cg_id) if dataset.cg_id is not None else None
    if cg is not None and dataset.id in cg.member_ids:
        cg.member_ids.remove(dataset.id)
    collection.pop(dataset.id, None)
    metadata.forget(system, dataset.id)
