"""``POST /replicas``: validate the whole request, then build the SOURCE here and the TARGET on the peer.

Every check runs before anything changes, so a refused create leaves nothing behind.
A new replica starts initializing at once, or waits with a PENDING job while the array
already runs ``max_concurrent_inits`` initializations (:mod:`ibox_sim.replicas.queue`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ibox_sim import store
from ibox_sim.context import Ctx, check_keys, ensure_unique_name, get_bool, get_int, get_str, require_dict
from ibox_sim.errors import ApiError, conflict, invalid_state, invalid_value, missing_parameter
from ibox_sim.model import ConsGroup, DatasetKind, EntityType, Link, Pool, Replica, System
from ibox_sim.replicas.common import link_is_up
from ibox_sim.replicas.pairs import PairPlan, auto_create_pairs, build_pair, check_plans, plan_pair
from ibox_sim.replicas.queue import admit
from ibox_sim.state import ReplicationSession, ReplicationType, SideRef

DEFAULT_RPO_MS = 300_000
DEFAULT_INTERVAL_MS = 60_000

_CREATE_KEYS = frozenset(
    {
        "link_id",
        "entity_type",
        "entity_pairs",
        "remote_pool_id",
        "replication_type",
        "sync_interval",
        "rpo_value",
        "description",
        "local_cg_id",
        "remote_cg_id",
        "including_snapshots",
        "snapshots_retention",
        "remote_snapshot_suffix",
        "lock_remote_snapshot_retention",
        "is_preferred",
        "local_entity_id",
        "remote_entity_id",
        "local_entity_name",
        "remote_entity_name",
        "base_action",
        "permanent_failure_wait_interval",
        "temporary_failure_retry_interval",
        "temporary_failure_retry_count",
    }
)
_EXTRA_KEYS = (
    "permanent_failure_wait_interval",
    "temporary_failure_retry_interval",
    "temporary_failure_retry_count",
    "snapshots_retention",
    "remote_snapshot_suffix",
    "lock_remote_snapshot_retention",
)
_ENTITY_TYPES: tuple[EntityType, ...] = ("VOLUME", "FILESYSTEM", "CONSISTENCY_GROUP")


@dataclass
class CreateRequest:
    """A create request that passed every check: what both sides will be built from."""

    data: Mapping[str, Any]
    link: Link
    peer: System
    entity_type: EntityType
    replication_type: ReplicationType
    rpo_ms: int
    interval_ms: int
    description: str | None
    auto_style: bool
    remote_pool: Pool | None
    plans: list[PairPlan]
    local_cg: ConsGroup | None = None
    remote_cg: ConsGroup | None = None


def create(ctx: Ctx, body: Any) -> Replica:
    """``POST /replicas``: the SOURCE here, the TARGET (and, for CREATE, the target datasets) on the peer."""
    return _build(ctx, validate_create(ctx, body))


def validate_create(ctx: Ctx, body: Any) -> CreateRequest:
    """Check the whole create request; nothing changes here."""
    data = require_dict(body)
    check_keys(data, _CREATE_KEYS)
    system = ctx.system
    link = store.get_link(system, get_int(data, "link_id", required=True) or 0)
    etype = _entity_type(data.get("entity_type"))
    rtype = _replication_type(data.get("replication_type"))
    if etype == "FILESYSTEM" and rtype == "SYNC" and not ctx.cfg.sync_filesystems:
        raise invalid_value("replication_type", "SYNC", "filesystems replicate ASYNC only")
    rpo_ms, interval_ms = _interval_settings(data, rtype)
    description = get_str(data, "description", max_length=1024)
    if not link_is_up(ctx.world, system, link):
        raise invalid_state("LINK_DISCONNECTED", f"link {link.name!r} is not connected")
    peer = ctx.world.systems[link.remote_system or ""]
    remote_pool_id = get_int(data, "remote_pool_id")
    remote_pool = store.get_pool(peer, remote_pool_id) if remote_pool_id is not None else None
    auto_style = "entity_pairs" not in data and "local_entity_id" in data
    raw_pairs = auto_create_pairs(data, etype, system) if auto_style else data.get("entity_pairs")
    if raw_pairs is None:
        raise missing_parameter("entity_pairs")
    if not isinstance(raw_pairs, list):
        raise invalid_value("entity_pairs", raw_pairs, "expected a list")
    request = CreateRequest(
        data, link, peer, etype, rtype, rpo_ms, interval_ms, description, auto_style, remote_pool, []
    )
    kind: DatasetKind | None = None
    if etype == "CONSISTENCY_GROUP":
        _check_cgs(ctx, request)
    elif len(raw_pairs) != 1:
        raise invalid_value("entity_pairs", raw_pairs, f"a {etype} replica has exactly one pair")
    else:
        kind = "VOLUME" if etype == "VOLUME" else "FILESYSTEM"
    as_member = request.local_cg is not None
    request.plans = [
        plan_pair(ctx, peer, kind, raw, remote_pool, as_cg_member=as_member) for raw in raw_pairs
    ]
    check_plans(request.plans, peer)
    if request.local_cg is not None:
        _check_cg_plans(request)
    return request


def _check_cgs(ctx: Ctx, request: CreateRequest) -> None:
    """A CG replica: the local CG (and ``remote_cg_id``'s) exist and are not replicated yet."""
    data, peer = request.data, request.peer
    cg_id = get_int(data, "local_cg_id") or (get_int(data, "local_entity_id") if request.auto_style else None)
    if cg_id is None:
        raise missing_parameter("local_cg_id")
    local_cg = store.get_cg(ctx.system, cg_id)
    if local_cg.parent_id:
        raise invalid_value("local_cg_id", cg_id, "snapshot groups cannot be replicated")
    duplicates = ctx.cfg.allow_duplicate_replicas
    if local_cg.replica_ids and not duplicates:
        raise conflict(
            "ENTITY_ALREADY_REPLICATED", f"consistency group {local_cg.name!r} is already replicated"
        )
    request.local_cg = local_cg
    remote_cg_id = get_int(data, "remote_cg_id")
    if remote_cg_id is not None:
        remote_cg = store.get_cg(peer, remote_cg_id)
        if remote_cg.replica_ids and not duplicates:
            raise conflict("ENTITY_ALREADY_REPLICATED", f"remote CG {remote_cg.name!r} is already replicated")
        request.remote_cg = remote_cg


def _check_cg_plans(request: CreateRequest) -> None:
    """A CG's pairs cover exactly its members (and, with ``remote_cg_id``, the remote CG's)."""
    local_cg, remote_cg, plans = request.local_cg, request.remote_cg, request.plans
    assert local_cg is not None
    covered = sorted(p.local.id for p in plans)
    if covered != sorted(local_cg.member_ids):
        raise invalid_value(
            "entity_pairs", covered, f"must pair exactly the CG's members {local_cg.member_ids}"
        )
    if remote_cg is not None:
        remote_ids = sorted(p.remote.id for p in plans if p.remote is not None)
        if remote_cg.member_ids and sorted(remote_cg.member_ids) != remote_ids:
            raise invalid_value(
                "entity_pairs", remote_ids, f"must pair the remote CG's members {remote_cg.member_ids}"
            )
        if any(p.remote is None for p in plans):
            raise invalid_value("entity_pairs", "CREATE", "pairs must name existing members of remote_cg_id")
    elif request.remote_pool is None:
        raise missing_parameter("remote_pool_id")
    else:
        ensure_unique_name(local_cg.name, request.peer.cgs.values(), "consistency group")


def _build(ctx: Ctx, request: CreateRequest) -> Replica:
    """Everything is valid: build the remote CG, the pairs, the shared session and both replicas."""
    world, system, peer = ctx.world, ctx.system, request.peer
    remote_ctx = ctx.on(peer)
    local_id, remote_id = system.allocate_id(), peer.allocate_id()
    if request.local_cg is not None and request.remote_cg is None:
        assert request.remote_pool is not None
        request.remote_cg = ConsGroup(
            id=peer.allocate_id(),
            name=request.local_cg.name,
            pool_id=request.remote_pool.id,
            created_at=ctx.now,
            updated_at=ctx.now,
        )
        peer.cgs[request.remote_cg.id] = request.remote_cg
    built = [
        build_pair(ctx, remote_ctx, plan, (local_id, remote_id), request.remote_pool, request.remote_cg)
        for plan in request.plans
    ]
    session = ReplicationSession(
        id=world.next_session_id,
        replication_type=request.replication_type,
        rpo_ms=request.rpo_ms,
        interval_ms=request.interval_ms,
        created_at=ctx.now,
        sides=[
            SideRef(system=system.name, replica_id=local_id),
            SideRef(system=peer.name, replica_id=remote_id),
        ],
    )
    world.next_session_id += 1
    world.sessions[session.id] = session
    local, remote = _replicas(ctx, request, session.id, (local_id, remote_id))
    local.pairs = [pair for pair, _ in built]
    remote.pairs = [pair for _, pair in built]
    system.replicas[local_id] = local
    peer.replicas[remote_id] = remote
    if request.local_cg is not None and request.remote_cg is not None:
        request.local_cg.replica_ids.append(local_id)
        request.remote_cg.replica_ids.append(remote_id)
    admit(ctx, session)
    return local


def _replicas(
    ctx: Ctx, request: CreateRequest, session_id: int, ids: tuple[int, int]
) -> tuple[Replica, Replica]:
    """The SOURCE and TARGET replica objects (pairs are filled in by the caller)."""
    data, local_cg, remote_cg, plans = request.data, request.local_cg, request.remote_cg, request.plans
    local_id, remote_id = ids
    extras = {key: data[key] for key in _EXTRA_KEYS if data.get(key) is not None}
    first_remote = plans[0].remote if plans else None
    first_local = plans[0].local if plans else None
    remote_pool_id = (
        request.remote_pool.id
        if request.remote_pool
        else (remote_cg.pool_id if remote_cg else (first_remote.pool_id if first_remote else None))
    )
    base_action = data.get("base_action")
    common: dict[str, Any] = {
        "session_id": session_id,
        "entity_type": request.entity_type,
        "pairs": [],
        "description": request.description,
        "base_action": str(base_action).upper() if request.auto_style and base_action else None,
        "created_at": ctx.now,
        "updated_at": ctx.now,
        "including_snapshots": get_bool(data, "including_snapshots", False),
        **extras,
    }
    local = Replica(
        id=local_id,
        role="SOURCE",
        link_id=request.link.id,
        peer_system=request.peer.name,
        remote_replica_id=remote_id,
        local_cg_id=local_cg.id if local_cg else None,
        remote_cg_id=remote_cg.id if remote_cg else None,
        remote_pool_id=remote_pool_id,
        **common,
    )
    remote = Replica(
        id=remote_id,
        role="TARGET",
        link_id=request.link.remote_link_id or 0,
        peer_system=ctx.system.name,
        remote_replica_id=local_id,
        local_cg_id=remote_cg.id if remote_cg else None,
        remote_cg_id=local_cg.id if local_cg else None,
        remote_pool_id=local_cg.pool_id if local_cg else (first_local.pool_id if first_local else None),
        **common,
    )
    return local, remote


def _interval_settings(data: Mapping[str, Any], replication_type: ReplicationType) -> tuple[int, int]:
    rpo = get_int(data, "rpo_value", minimum=1)
    interval = get_int(data, "sync_interval", minimum=0)
    if replication_type == "SYNC":
        if rpo is not None or interval is not None:
            raise ApiError(
                400, "INVALID_PARAMETER", "rpo_value and sync_interval apply to ASYNC replicas only"
            )
        return DEFAULT_RPO_MS, DEFAULT_INTERVAL_MS
    if rpo is None:
        rpo = max(DEFAULT_RPO_MS, interval or 0)
    if interval is None:
        interval = min(DEFAULT_INTERVAL_MS, rpo)
    if interval > rpo:
        raise invalid_value("sync_interval", interval, f"must not exceed rpo_value ({rpo})")
    return rpo, interval


def _entity_type(raw: Any) -> EntityType:
    value = str(raw or "VOLUME").upper()
    for candidate in _ENTITY_TYPES:
        if candidate == value:
            return candidate
    raise invalid_value("entity_type", raw, "VOLUME, FILESYSTEM or CONSISTENCY_GROUP")


def _replication_type(raw: Any) -> ReplicationType:
    value = str(raw or "ASYNC").upper()
    if value == "ASYNC":
        return "ASYNC"
    if value == "SYNC":
        return "SYNC"
    if value == "ACTIVE_ACTIVE":
        raise invalid_value("replication_type", raw, "ACTIVE_ACTIVE is not simulated")
    raise invalid_value("replication_type", raw, "ASYNC or SYNC")
