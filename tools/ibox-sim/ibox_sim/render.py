"""Objects as the API shows them: full dicts with every field a real array (and infinisdk) knows.

Derived values (replication flags, names of related objects, counts, the replica's
time-driven state) are computed here at read time, so the model never goes stale.
Times are ms since the epoch, intervals ms, sizes bytes.
"""

from __future__ import annotations

from typing import Any

from ibox_sim.clock import to_ms
from ibox_sim.model import ConsGroup, Dataset, Link, NetworkSpace, Pool, System, World

BLOCK_SIZE = 512

_DATASET_DEFAULTS: dict[str, Any] = {
    "used": 0,
    "tree_allocated": 0,
    "compression_suppressed": False,
    "capacity_savings": 0,
    "mapped": False,
    "rmr_active_active_peer": False,
    "rmr_snapshot_guid": None,
    "data_snapshot_guid": None,
    "mgmt_snapshot_guid": None,
    "lock_state": "UNLOCKED",
    "snapshot_expires_at": None,
    "snapshot_policy_id": None,
    "snapshot_policy_name": None,
    "created_by_snapshot_policy_id": None,
    "created_by_snapshot_policy_name": None,
    "created_by_schedule_id": None,
    "created_by_schedule_name": None,
    "source_replicated_sg_id": None,
    "remote_snapshot_retention": None,
    "remote_snapshot_retention_lock": None,
    "qos_policy_id": None,
    "qos_shared_policy_id": None,
    "tenant_id": 1,
    "paths_available": False,
    "udid": None,
    "ssa_express_enabled": False,
    "ssa_express_status": None,
    "disk_usage": 0,
    "data_reduction_ratio": 1.0,
    "capacity_savings_per_entity": 0,
    "promote_source_id": None,
    "has_internal_children": False,
    "is_internal": False,
}

_FILESYSTEM_DEFAULTS: dict[str, Any] = {
    "root_mode": "777",
    "atime_mode": "NOATIME",
    "atime_granularity": 3600000,
    "_is_established": True,
    "snapdir_name": ".snapshot",
    "visible_in_snapdir": True,
    "snapdir_accessible": True,
    "security_style": "UNIX",
    "posix_file_ownership": None,
    "used_capacity_warning": None,
    "used_capacity_critical": None,
}

_CG_DEFAULTS: dict[str, Any] = {
    "rmr_snapshot_guid": None,
    "lock_state": "UNLOCKED",
    "tenant_id": 1,
    "snapshot_expires_at": None,
    "snapshot_policy_id": None,
    "snapshot_policy_name": None,
    "created_by_snapshot_policy_id": None,
    "created_by_snapshot_policy_name": None,
    "created_by_schedule_id": None,
    "created_by_schedule_name": None,
    "remote_snapshot_retention": None,
    "remote_snapshot_retention_lock": None,
}

_POOL_ZERO_FIELDS = (
    "reserved_capacity",
    "capacity_savings",
    "vvol_volumes_count",
    "vvol_entities_count",
    "vvol_snapshots_count",
    "thick_capacity_savings",
    "thin_capacity_savings",
    "allocated_internal_physical_space",
    "internal_entities_count",
    "zeros_capacity",
    "host_written_data",
    "reducible_host_written_data",
    "reducible_data_disk_usage_capacity",
    "reducible_data_percents",
    "non_reducible_host_written_data",
    "non_reducible_data_disk_usage_capacity",
    "non_reducible_data_percents",
    "s3_buckets_count",
)

_LINK_DEFAULTS: dict[str, Any] = {
    "connect_timeout": 30000,
    "keep_alive_time": 60000,
    "retry_count": 3,
    "retry_wait": 5000,
    "async_only": False,
    "link_mode": "ASYNC_AND_SYNC",
    "resiliency_mode": "ASYNC_ONLY",
    "witness_address": None,
    "local_witness_state": None,
    "local_witness_state_description": None,
    "remote_witness_state": None,
    "local_link_replication_type": ["ASYNC", "SYNC"],
    "link_replication_type": ["ASYNC", "SYNC"],
    "_version": 1,
}


def render_system(system: System, now: float) -> dict[str, Any]:
    return {
        "id": 0,
        "name": system.name,
        "serial_number": system.serial,
        "version": system.version,
        "model": "InfiniBox",
        "model_description": "InfiniBox REST simulator (ibox-sim)",
        "release": {"system": {"revision": system.version, "version": system.version}},
        "operational_state": {
            "state": "ACTIVE",
            "read_only_system": False,
            "init_state": "DONE",
            "mode": "NORMAL",
        },
        "security": {"fips": False},
        "uptime": 0,
        "system_time": to_ms(now),
        "wwnn": f"57:42:b0:f0:00:{system.index:02x}:00:00",
    }


def render_pool(system: System, pool: Pool) -> dict[str, Any]:
    volumes = [d for d in system.volumes.values() if d.pool_id == pool.id]
    filesystems = [d for d in system.filesystems.values() if d.pool_id == pool.id]
    allocated = sum(d.size for d in (*volumes, *filesystems) if d.provtype == "THICK" and not d.is_snapshot)
    virtual = sum(d.size for d in (*volumes, *filesystems) if not d.is_snapshot)
    counts = {
        "volumes_count": sum(1 for d in volumes if not d.is_snapshot),
        "snapshots_count": sum(1 for d in volumes if d.is_snapshot),
        "filesystems_count": sum(1 for d in filesystems if not d.is_snapshot),
        "filesystem_snapshots_count": sum(1 for d in filesystems if d.is_snapshot),
    }
    out: dict[str, Any] = dict.fromkeys(_POOL_ZERO_FIELDS, 0)
    out.update(
        id=pool.id,
        name=pool.name,
        created_at=to_ms(pool.created_at),
        updated_at=to_ms(pool.updated_at),
        physical_capacity=pool.physical_capacity,
        virtual_capacity=pool.virtual_capacity,
        physical_capacity_warning=pool.physical_capacity_warning,
        physical_capacity_critical=pool.physical_capacity_critical,
        state=pool.state,
        type=pool.type,
        max_extend=pool.max_extend,
        ssd_enabled=pool.ssd_enabled,
        compression_enabled=pool.compression_enabled,
        allocated_physical_space=allocated,
        free_physical_space=max(0, pool.physical_capacity - allocated),
        free_virtual_space=max(0, pool.virtual_capacity - virtual),
        total_disk_usage=allocated,
        data_reduction_ratio=1.0,
        reducible_data_reduction_ratio=1.0,
        non_reducible_data_reduction_ratio=1.0,
        owners=[],
        qos_policies=[],
        tenant_id=1,
        entities_count=len(volumes) + len(filesystems),
        standard_entities_count=len(volumes) + len(filesystems),
        standard_volumes_count=counts["volumes_count"],
        standard_snapshots_count=counts["snapshots_count"],
        standard_filesystems_count=counts["filesystems_count"],
        standard_filesystem_snapshots_count=counts["filesystem_snapshots_count"],
        fs_used_default_warning=None,
        fs_used_default_critical=None,
        s3_bound=False,
        **counts,
    )
    return out


def _replication_flags(world: World, system: System, replica_ids: list[int]) -> tuple[bool, bool, list[str]]:
    """``(rmr_source, rmr_target, replication_types)`` of a dataset or CG from its replicas."""
    source = target = False
    types: set[str] = set()
    for rid in replica_ids:
        replica = system.replicas.get(rid)
        if replica is None:
            continue
        if replica.role == "SOURCE":
            source = True
        else:
            target = True
        session = world.sessions.get(replica.session_id)
        types.add(session.replication_type if session is not None else "ASYNC")
    return source, target, sorted(types)


#: Replication fields of datasets and CGs a real array may show as null when they are empty or false.
NULLABLE_ENTITY_FIELDS = ("rmr_source", "rmr_target", "replica_ids", "replication_types", "cg_name")


def _nullify(out: dict[str, Any]) -> None:
    for key in NULLABLE_ENTITY_FIELDS:
        if key in out and not out[key]:
            out[key] = None


def render_dataset(world: World, system: System, d: Dataset) -> dict[str, Any]:
    pool = system.pools.get(d.pool_id)
    cg = system.cgs.get(d.cg_id) if d.cg_id is not None else None
    source, target, types = _replication_flags(world, system, d.replica_ids)
    thick = d.provtype == "THICK" and not d.is_snapshot
    out = dict(_DATASET_DEFAULTS)
    out.update(
        id=d.id,
        name=d.name,
        dataset_type=d.kind,
        type="SNAPSHOT" if d.is_snapshot else "MASTER",
        size=d.size,
        num_blocks=d.size // BLOCK_SIZE,
        allocated=d.size if thick else 0,
        pool_id=d.pool_id,
        pool_name=pool.name if pool else None,
        parent_id=d.parent_id,
        family_id=d.family_id,
        depth=d.depth,
        provtype=d.provtype,
        created_at=to_ms(d.created_at),
        updated_at=to_ms(d.updated_at),
        ssd_enabled=d.ssd_enabled,
        write_protected=d.write_protected or target,
        mapped=d.mapped,
        compression_enabled=d.compression_enabled,
        serial=f"742b0f{system.serial:08x}{d.id:018x}",
        nguid=f"742b0f{system.serial:010x}{d.id:016x}",
        has_children=bool(d.child_ids),
        cg_id=d.cg_id,
        cg_name=cg.name if cg else None,
        rmr_source=source,
        rmr_target=target,
        replica_ids=list(d.replica_ids),
        replication_types=types,
        lock_expires_at=d.lock_expires_at,
        snapshot_retention=d.snapshot_retention,
    )
    if d.kind == "FILESYSTEM":
        out.update(_FILESYSTEM_DEFAULTS)
    if world.config.null_optional_fields:
        _nullify(out)
    return out


def render_cg(world: World, system: System, cg: ConsGroup) -> dict[str, Any]:
    pool = system.pools.get(cg.pool_id)
    source, target, types = _replication_flags(world, system, cg.replica_ids)
    out = dict(_CG_DEFAULTS)
    out.update(
        id=cg.id,
        name=cg.name,
        type="SNAPSHOT" if cg.parent_id else "MASTER",
        pool_id=cg.pool_id,
        pool_name=pool.name if pool else None,
        parent_id=cg.parent_id,
        is_replicated=bool(cg.replica_ids),
        rmr_source=source,
        rmr_target=target,
        members_count=len(cg.member_ids),
        has_children=bool(cg.child_ids),
        created_at=to_ms(cg.created_at),
        updated_at=to_ms(cg.updated_at),
        replication_types=types,
        replica_ids=list(cg.replica_ids),
        lock_expires_at=cg.lock_expires_at,
        snapshot_retention=cg.snapshot_retention,
    )
    if world.config.null_optional_fields:
        _nullify(out)
    return out


def render_network_space(space: NetworkSpace) -> dict[str, Any]:
    return {
        "id": space.id,
        "name": space.name,
        "service": space.service,
        "network_config": dict(space.network_config),
        "interfaces": list(space.interfaces),
        "ips": [dict(ip) for ip in space.ips],
        "mtu": space.mtu,
        "rate_limit": space.rate_limit,
        "properties": dict(space.properties),
        "automatic_ip_failback": space.automatic_ip_failback,
        "routes": [],
        "vmac_addresses": [],
        "tenant_id": 1,
    }


def render_link(world: World, system: System, link: Link) -> dict[str, Any]:
    remote = world.systems.get(link.remote_system) if link.remote_system else None
    up = link.up and remote is not None and link.local_replication_network_space_id is not None
    remote_ips: list[dict[str, Any]] = []
    if remote is not None and link.remote_replication_network_space_id is not None:
        space = remote.network_spaces.get(link.remote_replication_network_space_id)
        for n, ip in enumerate(space.ips if space else []):
            remote_ips.append(
                {
                    "id": n + 1,
                    "ip_address": ip["ip_address"],
                    "local": False,
                    "management": ip["type"] == "MANAGEMENT",
                    "type": ip["type"],
                    "link_id": link.id,
                }
            )
    out = dict(_LINK_DEFAULTS)
    out.update(
        id=link.id,
        name=link.name,
        remote_host=link.remote_host,
        local_replication_network_space_id=link.local_replication_network_space_id,
        remote_replication_network_space_id=link.remote_replication_network_space_id,
        remote_link_id=link.remote_link_id,
        remote_system_name=remote.name if remote else None,
        remote_system_serial_number=remote.serial if remote else None,
        remote_version=remote.version if remote else None,
        link_state="UP" if up else "DOWN",
        state_description=None if up else "Link is disconnected",
        is_local_link_ready_for_sync=up,
        last_connection_timestamp=to_ms(link.last_connection_timestamp),
        remote_replication_ip_addresses=remote_ips,
        _remote_management_ip=link.remote_host,
        _local_host=None,
        _link_configuration_guid=f"{system.serial:08x}-{link.id:08x}",
        created_at=to_ms(link.created_at),
    )
    return out
