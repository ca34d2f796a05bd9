"""Replicas: creation on both systems, actions, deletion, and what links going down does to them.

A replica exists twice: the SOURCE on the system it was created on and the TARGET on
the link's remote system, each with its own id (``remote_replica_id`` points across)
and its own view of the entity pairs. Both share one :class:`ReplicationSession`, whose
progress :mod:`ibox_sim.state` derives from the clock.

Every call validates completely before it changes anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ibox_sim import state, store
from ibox_sim.context import (
    Ctx,
    check_keys,
    ensure_unique_name,
    flag,
    get_bool,
    get_int,
    get_str,
    require_dict,
)
from ibox_sim.errors import ApiError, conflict, invalid_state, invalid_value, missing_parameter, not_found
from ibox_sim.model import (
    ConsGroup,
    Dataset,
    DatasetKind,
    EntityType,
    Link,
    Pair,
    Pool,
    Replica,
    System,
    World,
)
from ibox_sim.render import field_names, render_replica
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
_PAIR_KEYS = frozenset(
    {
        "local_entity_id",
        "remote_entity_id",
        "remote_base_action",
        "local_base_action",
        "local_base_entity_id",
        "remote_base_entity_id",
        "remote_entity_name",
    }
)
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
_ENTITY_TYPES: tuple[EntityType, ...] = ("VOLUME", "FILESYSTEM", "CONSISTENCY_GROUP")
_REMOTE_ACTIONS = ("CREATE", "NO_BASE_DATA", "BASE", "TAKE_SNAP")


# ------------------------------------------------------------------------------------------ lookups


def get_replica(system: System, replica_id: int) -> Replica:
    replica = system.replicas.get(replica_id)
    if replica is None:
        raise not_found("replica", replica_id)
    return replica


def session_of(world: World, replica: Replica) -> ReplicationSession:
    return world.sessions[replica.session_id]


def peer_of(world: World, replica: Replica) -> tuple[System | None, Replica | None]:
    peer_system = world.systems.get(replica.peer_system)
    if peer_system is None:
        return None, None
    return peer_system, peer_system.replicas.get(replica.remote_replica_id)


def link_is_up(world: World, system: System, link: Link | None) -> bool:
    """Connected: switched up, attached to a local network space, and something answers at the far end."""
    if link is None or not link.up or link.local_replication_network_space_id is None:
        return False
    remote = world.systems.get(link.remote_system) if link.remote_system else None
    if remote is None:
        return False
    mirror = remote.links.get(link.remote_link_id) if link.remote_link_id is not None else None
    return mirror is not None and mirror.up and mirror.local_replication_network_space_id is not None


def render(ctx: Ctx, replica: Replica) -> dict[str, Any]:
    return render_replica(ctx.world, ctx.system, replica, ctx.now)


def view_of(ctx: Ctx, replica: Replica) -> state.SessionView:
    return state.evaluate(session_of(ctx.world, replica), ctx.now, ctx.cfg)


# --------------------------------------------------------------------------------- running or not


def refresh_session(world: World, session: ReplicationSession, now: float) -> None:
    """Recompute whether replication runs.

    It runs when both sides exist, one is SOURCE and the other TARGET, the link is up and
    the user has not suspended it.
    """
    sides: list[tuple[System, Replica]] = []
    for ref in session.sides:
        system = world.systems.get(ref.system)
        replica = system.replicas.get(ref.replica_id) if system else None
        if system is not None and replica is not None:
            sides.append((system, replica))
    reason: str | None = None
    if len(sides) < 2:
        reason = "REMOTE_REPLICA_MISSING"
    elif not all(link_is_up(world, system, system.links.get(replica.link_id)) for system, replica in sides):
        reason = "LINK_DOWN"
    elif {replica.role for _, replica in sides} != {"SOURCE", "TARGET"}:
        reason = "ROLE_CONFLICT"
    session.stop_reason = reason
    state.set_running(session, now, world.config, reason is None and not session.user_suspended)


def refresh_link(ctx: Ctx, link: Link) -> None:
    """After a link changed: re-evaluate every replica carried by it (on both systems)."""
    touched: set[int] = set()
    for replica in ctx.system.replicas.values():
        if replica.link_id == link.id:
            touched.add(replica.session_id)
    remote = ctx.world.systems.get(link.remote_system) if link.remote_system else None
    if remote is not None:
        for replica in remote.replicas.values():
            if replica.link_id == link.remote_link_id:
                touched.add(replica.session_id)
    for session_id in sorted(touched):
        session = ctx.world.sessions.get(session_id)
        if session is not None:
            refresh_session(ctx.world, session, ctx.now)


def set_link_state(ctx: Ctx, link: Link, up: bool) -> None:
    """Switch a link (and its mirror) up or down: replicas on it become AUTO_SUSPENDED or resume."""
    link.up = up
    remote = ctx.world.systems.get(link.remote_system) if link.remote_system else None
    mirror = remote.links.get(link.remote_link_id) if remote and link.remote_link_id is not None else None
    if mirror is not None:
        mirror.up = up
    if up:
        link.last_connection_timestamp = ctx.now
        if mirror is not None:
            mirror.last_connection_timestamp = ctx.now
    refresh_link(ctx, link)


# ------------------------------------------------------------------------------------------- create


@dataclass
class _PairPlan:
    local: Dataset
    remote_action: str
    local_action: str | None
    remote: Dataset | None = None  # existing remote dataset
    remote_name: str | None = None  # for CREATE
    local_base: Dataset | None = None
    remote_base: Dataset | None = None


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


def _dataset_not_found(kind: DatasetKind | None, ident: int) -> ApiError:
    return not_found("filesystem" if kind == "FILESYSTEM" else "volume", ident)


def _find_dataset(system: System, kind: DatasetKind | None, ident: int) -> Dataset:
    dataset = system.datasets(kind).get(ident) if kind else system.dataset(ident)
    if dataset is None:
        raise _dataset_not_found(kind, ident)
    return dataset


def _find_snapshot(system: System, ident: int, parent: Dataset) -> Dataset:
    snap = system.datasets(parent.kind).get(ident)
    if snap is None or not snap.is_snapshot:
        raise not_found("snapshot", ident)
    if snap.parent_id != parent.id:
        raise invalid_value("base entity", ident, f"is not a snapshot of {parent.name!r}")
    return snap


def _check_not_replicated(system: System, dataset: Dataset, *, as_cg_member: bool = False) -> None:
    if dataset.replica_ids:
        raise conflict(
            "ENTITY_ALREADY_REPLICATED",
            f"{dataset.kind.lower()} {dataset.name!r} is already replicated"
            f" (replica {dataset.replica_ids[0]})",
        )
    cg = system.cgs.get(dataset.cg_id) if dataset.cg_id is not None else None
    if cg is not None and cg.replica_ids and not as_cg_member:
        raise conflict(
            "ENTITY_ALREADY_REPLICATED", f"{dataset.name!r} is a member of replicated CG {cg.name!r}"
        )


def _auto_create_pairs(
    data: Mapping[str, Any], entity_type: EntityType, local: System
) -> list[dict[str, Any]]:
    """The ``replica_auto_create`` body style (``local_entity_id`` + ``base_action``) as entity pairs."""
    base_action = str(data.get("base_action") or "NEW").upper()
    local_id = get_int(data, "local_entity_id", required=True)
    assert local_id is not None
    if base_action not in ("NEW", "EXISTING"):
        raise invalid_value("base_action", base_action, "NEW or EXISTING")
    if entity_type == "CONSISTENCY_GROUP":
        cg = store.get_cg(local, local_id)
        return [
            {"local_entity_id": m, "remote_entity_id": None, "remote_base_action": "CREATE"}
            for m in cg.member_ids
        ]
    if base_action == "EXISTING":
        remote_id = get_int(data, "remote_entity_id", required=True)
        return [
            {"local_entity_id": local_id, "remote_entity_id": remote_id, "remote_base_action": "NO_BASE_DATA"}
        ]
    pair: dict[str, Any] = {
        "local_entity_id": local_id,
        "remote_entity_id": None,
        "remote_base_action": "CREATE",
    }
    if data.get("remote_entity_name"):
        pair["remote_entity_name"] = data["remote_entity_name"]
    return [pair]


def create(ctx: Ctx, body: Any) -> Replica:
    """``POST /replicas``: the SOURCE here, the TARGET (and, for CREATE, the target datasets) on the peer."""
    data = require_dict(body)
    check_keys(data, _CREATE_KEYS)
    world, system = ctx.world, ctx.system
    link = store.get_link(system, get_int(data, "link_id", required=True) or 0)
    etype = _entity_type(data.get("entity_type"))
    rtype = _replication_type(data.get("replication_type"))
    if etype == "FILESYSTEM" and rtype == "SYNC" and not ctx.cfg.sync_filesystems:
        raise invalid_value("replication_type", "SYNC", "filesystems replicate ASYNC only")
    rpo_ms, interval_ms = _interval_settings(data, rtype)
    description = get_str(data, "description", max_length=1024)
    if not link_is_up(world, system, link):
        raise invalid_state("LINK_DISCONNECTED", f"link {link.name!r} is not connected")
    peer = world.systems[link.remote_system or ""]
    remote_pool: Pool | None = None
    remote_pool_id = get_int(data, "remote_pool_id")
    if remote_pool_id is not None:
        remote_pool = store.get_pool(peer, remote_pool_id)

    auto_style = "entity_pairs" not in data and "local_entity_id" in data
    raw_pairs = _auto_create_pairs(data, etype, system) if auto_style else data.get("entity_pairs")
    if raw_pairs is None:
        raise missing_parameter("entity_pairs")
    if not isinstance(raw_pairs, list):
        raise invalid_value("entity_pairs", raw_pairs, "expected a list")

    local_cg: ConsGroup | None = None
    remote_cg: ConsGroup | None = None
    kind: DatasetKind | None = None
    if etype != "CONSISTENCY_GROUP":
        kind = "VOLUME" if etype == "VOLUME" else "FILESYSTEM"
    if etype == "CONSISTENCY_GROUP":
        cg_id = get_int(data, "local_cg_id") or (get_int(data, "local_entity_id") if auto_style else None)
        if cg_id is None:
            raise missing_parameter("local_cg_id")
        local_cg = store.get_cg(system, cg_id)
        if local_cg.parent_id:
            raise invalid_value("local_cg_id", cg_id, "snapshot groups cannot be replicated")
        if local_cg.replica_ids:
            raise conflict(
                "ENTITY_ALREADY_REPLICATED", f"consistency group {local_cg.name!r} is already replicated"
            )
        remote_cg_id = get_int(data, "remote_cg_id")
        if remote_cg_id is not None:
            remote_cg = store.get_cg(peer, remote_cg_id)
            if remote_cg.replica_ids:
                raise conflict(
                    "ENTITY_ALREADY_REPLICATED", f"remote CG {remote_cg.name!r} is already replicated"
                )
    elif len(raw_pairs) != 1:
        raise invalid_value("entity_pairs", raw_pairs, f"a {etype} replica has exactly one pair")

    plans = [
        _plan_pair(ctx, peer, kind, raw, remote_pool, as_cg_member=local_cg is not None) for raw in raw_pairs
    ]
    _check_plans(plans, peer)
    if local_cg is not None:
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
                raise invalid_value(
                    "entity_pairs", "CREATE", "pairs must name existing members of remote_cg_id"
                )
        elif remote_pool is None:
            raise missing_parameter("remote_pool_id")
        else:
            ensure_unique_name(local_cg.name, peer.cgs.values(), "consistency group")

    # -- everything is valid: build both sides
    remote_ctx = ctx.on(peer)
    local_id, remote_id = system.allocate_id(), peer.allocate_id()
    if local_cg is not None and remote_cg is None:
        assert remote_pool is not None
        remote_cg = ConsGroup(
            id=peer.allocate_id(),
            name=local_cg.name,
            pool_id=remote_pool.id,
            created_at=ctx.now,
            updated_at=ctx.now,
        )
        peer.cgs[remote_cg.id] = remote_cg
    local_pairs, remote_pairs = [], []
    for plan in plans:
        local_pair, remote_pair = _build_pair(
            ctx, remote_ctx, plan, (local_id, remote_id), remote_pool, remote_cg
        )
        local_pairs.append(local_pair)
        remote_pairs.append(remote_pair)
    session = ReplicationSession(
        id=world.next_session_id,
        replication_type=rtype,
        rpo_ms=rpo_ms,
        interval_ms=interval_ms,
        created_at=ctx.now,
        sides=[
            SideRef(system=system.name, replica_id=local_id),
            SideRef(system=peer.name, replica_id=remote_id),
        ],
    )
    world.next_session_id += 1
    world.sessions[session.id] = session
    first_remote = plans[0].remote if plans else None
    extras = {
        key: data[key]
        for key in (
            "permanent_failure_wait_interval",
            "temporary_failure_retry_interval",
            "temporary_failure_retry_count",
            "snapshots_retention",
            "remote_snapshot_suffix",
            "lock_remote_snapshot_retention",
        )
        if data.get(key) is not None
    }
    local = Replica(
        id=local_id,
        session_id=session.id,
        role="SOURCE",
        link_id=link.id,
        peer_system=peer.name,
        remote_replica_id=remote_id,
        entity_type=etype,
        pairs=local_pairs,
        local_cg_id=local_cg.id if local_cg else None,
        remote_cg_id=remote_cg.id if remote_cg else None,
        remote_pool_id=remote_pool.id
        if remote_pool
        else (remote_cg.pool_id if remote_cg else (first_remote.pool_id if first_remote else None)),
        description=description,
        base_action=str(data["base_action"]).upper() if auto_style and data.get("base_action") else None,
        created_at=ctx.now,
        updated_at=ctx.now,
        including_snapshots=get_bool(data, "including_snapshots", False),
        **extras,
    )
    first_local = plans[0].local if plans else None
    remote = Replica(
        id=remote_id,
        session_id=session.id,
        role="TARGET",
        link_id=link.remote_link_id or 0,
        peer_system=system.name,
        remote_replica_id=local_id,
        entity_type=etype,
        pairs=remote_pairs,
        local_cg_id=remote_cg.id if remote_cg else None,
        remote_cg_id=local_cg.id if local_cg else None,
        remote_pool_id=local_cg.pool_id if local_cg else (first_local.pool_id if first_local else None),
        description=description,
        base_action=local.base_action,
        created_at=ctx.now,
        updated_at=ctx.now,
        including_snapshots=local.including_snapshots,
        **extras,
    )
    system.replicas[local_id] = local
    peer.replicas[remote_id] = remote
    if local_cg is not None and remote_cg is not None:
        local_cg.replica_ids.append(local_id)
        remote_cg.replica_ids.append(remote_id)
    refresh_session(world, session, ctx.now)
    return local


def _plan_pair(
    ctx: Ctx,
    peer: System,
    kind: DatasetKind | None,
    raw: Any,
    remote_pool: Pool | None,
    *,
    as_cg_member: bool,
) -> _PairPlan:
    if not isinstance(raw, dict):
        raise invalid_value("entity_pairs", raw, "each pair is an object")
    check_keys(raw, _PAIR_KEYS)
    local = _find_dataset(ctx.system, kind, get_int(raw, "local_entity_id", required=True) or 0)
    if local.is_snapshot:
        raise invalid_value("local_entity_id", local.id, "only master datasets can be replicated")
    _check_not_replicated(ctx.system, local, as_cg_member=as_cg_member)
    remote_id = get_int(raw, "remote_entity_id")
    action = str(raw.get("remote_base_action") or ("CREATE" if remote_id is None else "NO_BASE_DATA")).upper()
    if action not in _REMOTE_ACTIONS:
        raise invalid_value("remote_base_action", action, " / ".join(_REMOTE_ACTIONS))
    local_action = raw.get("local_base_action")
    plan = _PairPlan(
        local=local, remote_action=action, local_action=str(local_action).upper() if local_action else None
    )
    if action == "CREATE":
        if remote_pool is None:
            raise missing_parameter("remote_pool_id")
        plan.remote_name = get_str(raw, "remote_entity_name") or local.name
        ensure_unique_name(plan.remote_name, peer.datasets(local.kind).values(), local.kind.lower())
        return plan
    if remote_id is None:
        raise missing_parameter("remote_entity_id")
    remote = _find_dataset(peer, local.kind, remote_id)
    if remote.is_snapshot:
        raise invalid_value("remote_entity_id", remote_id, "the target must be a master dataset")
    if action == "BASE":
        local_base_id = get_int(raw, "local_base_entity_id", required=True) or 0
        remote_base_id = get_int(raw, "remote_base_entity_id", required=True) or 0
        plan.local_base = _find_snapshot(ctx.system, local_base_id, local)
        plan.remote_base = _find_snapshot(peer, remote_base_id, remote)
    _check_not_replicated(peer, remote, as_cg_member=as_cg_member)
    if remote.size != local.size:
        raise conflict(
            "SIZE_MISMATCH", f"{remote.name!r} has {remote.size} bytes, {local.name!r} has {local.size}"
        )
    plan.remote = remote
    return plan


def _check_plans(plans: list[_PairPlan], peer: System) -> None:
    locals_ = [p.local.id for p in plans]
    remotes = [p.remote.id for p in plans if p.remote is not None]
    names = [(p.local.kind, p.remote_name) for p in plans if p.remote_name is not None]
    if (
        len(set(locals_)) != len(locals_)
        or len(set(remotes)) != len(remotes)
        or len(set(names)) != len(names)
    ):
        raise invalid_value("entity_pairs", locals_, "each entity may appear in one pair only")


def _build_pair(
    ctx: Ctx,
    remote_ctx: Ctx,
    plan: _PairPlan,
    replica_ids: tuple[int, int],
    remote_pool: Pool | None,
    remote_cg: ConsGroup | None,
) -> tuple[Pair, Pair]:
    """Create what the pair needs on the peer (target dataset, base snapshots) and both views of the pair."""
    local, peer = plan.local, remote_ctx.system
    remote = plan.remote
    replica_id, remote_replica_id = replica_ids
    if remote is None:  # CREATE
        assert remote_pool is not None
        assert plan.remote_name is not None
        remote = Dataset(
            id=peer.allocate_id(),
            kind=local.kind,
            name=plan.remote_name,
            size=local.size,
            pool_id=remote_pool.id,
            provtype=local.provtype,
            family_id=0,
            created_at=ctx.now,
            updated_at=ctx.now,
        )
        remote.family_id = remote.id
        peer.datasets(local.kind)[remote.id] = remote
    if remote_cg is not None and remote.cg_id is None:
        remote.cg_id = remote_cg.id
        remote_cg.member_ids.append(remote.id)
    local_base = plan.local_base.id if plan.local_base else None
    remote_base = plan.remote_base.id if plan.remote_base else None
    if plan.remote_action == "TAKE_SNAP":
        local_base = _base_snapshot(ctx, local, replica_id).id
        remote_base = _base_snapshot(remote_ctx, remote, replica_id).id
    local_pair = Pair(
        id=ctx.system.allocate_id(),
        local_entity_id=local.id,
        remote_entity_id=remote.id,
        local_base_action=plan.local_action,
        remote_base_action=plan.remote_action,
        local_base_entity_id=local_base,
        remote_base_entity_id=remote_base,
    )
    remote_pair = Pair(
        id=peer.allocate_id(),
        local_entity_id=remote.id,
        remote_entity_id=local.id,
        local_base_action=plan.remote_action,
        remote_base_action=plan.local_action,
        local_base_entity_id=remote_base,
        remote_base_entity_id=local_base,
        remote_pair_id=local_pair.id,
    )
    local_pair.remote_pair_id = remote_pair.id
    local.replica_ids.append(replica_id)
    remote.replica_ids.append(remote_replica_id)
    local.updated_at = remote.updated_at = ctx.now
    return local_pair, remote_pair


def _base_snapshot(ctx: Ctx, dataset: Dataset, replica_id: int) -> Dataset:
    taken = {d.name for d in ctx.system.datasets(dataset.kind).values()}
    return store.snapshot_of(
        ctx, dataset, store.unique_name(f"{dataset.name}-replica-{replica_id}-base", taken)
    )


# ------------------------------------------------------------------------------------------ actions


def _require_source(replica: Replica, action: str) -> None:
    if replica.role != "SOURCE":
        raise invalid_state("OPERATION_NOT_ALLOWED_ON_TARGET", f"{action} is not allowed on a TARGET replica")


def _require_initialized(view: state.SessionView, action: str) -> None:
    if not view.initialized:
        raise invalid_state("REPLICA_IS_INITIALIZING", f"cannot {action} while the replica is INITIALIZING")


def _require_connected(ctx: Ctx, replica: Replica, action: str) -> None:
    if not link_is_up(ctx.world, ctx.system, ctx.system.links.get(replica.link_id)):
        raise invalid_state("LINK_DISCONNECTED", f"cannot {action}: the replication link is down")


def _touch(ctx: Ctx, replica: Replica) -> None:
    replica.updated_at = ctx.now
    _, peer = peer_of(ctx.world, replica)
    if peer is not None:
        peer.updated_at = ctx.now


def suspend(ctx: Ctx, replica: Replica) -> Replica:
    _require_source(replica, "suspend")
    session = session_of(ctx.world, replica)
    if session.user_suspended:
        raise invalid_state("REPLICA_IS_SUSPENDED", f"replica {replica.id} is already suspended")
    session.user_suspended = True
    refresh_session(ctx.world, session, ctx.now)
    _touch(ctx, replica)
    return replica


def resume(ctx: Ctx, replica: Replica) -> Replica:
    _require_source(replica, "resume")
    session = session_of(ctx.world, replica)
    if not session.user_suspended:
        raise invalid_state("REPLICA_NOT_SUSPENDED", f"replica {replica.id} is not suspended")
    _require_connected(ctx, replica, "resume")
    session.user_suspended = False
    refresh_session(ctx.world, session, ctx.now)
    _touch(ctx, replica)
    return replica


def sync(ctx: Ctx, replica: Replica) -> Replica:
    """Start an async job now (a no-op while one runs)."""
    _require_source(replica, "sync")
    session = session_of(ctx.world, replica)
    if session.replication_type != "ASYNC":
        raise invalid_state("REPLICA_TYPE_MISMATCH", "sync now applies to ASYNC replicas only")
    if session.user_suspended:
        raise invalid_state("REPLICA_IS_SUSPENDED", f"replica {replica.id} is suspended")
    _require_initialized(view_of(ctx, replica), "sync")
    if not session.running:
        raise invalid_state("LINK_DISCONNECTED", "cannot sync: replication is not running")
    state.sync_now(session, ctx.now, ctx.cfg)
    return replica


def change_type(ctx: Ctx, replica: Replica, new_type: ReplicationType, body: Any) -> Replica:
    """``change_type_to_sync`` / ``change_type_to_async``; refused while INITIALIZING."""
    data = require_dict(body)
    _require_source(replica, f"change_type_to_{new_type.lower()}")
    session = session_of(ctx.world, replica)
    _require_initialized(view_of(ctx, replica), f"change the type to {new_type}")
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
    _require_connected(ctx, replica, f"change the type to {new_type}")
    state.change_type(session, ctx.now, ctx.cfg, new_type, rpo, interval)
    _touch(ctx, replica)
    return replica


def switch_role(ctx: Ctx, replica: Replica) -> Replica:
    """Swap SOURCE and TARGET on both systems (SYNC, initialised, replicating)."""
    if replica.role != "SOURCE":
        raise invalid_state("REPLICA_NOT_SOURCE", "switch_role is called on the SOURCE replica")
    session = session_of(ctx.world, replica)
    if session.replication_type != "SYNC":
        raise invalid_state("REPLICA_TYPE_MISMATCH", "switch_role applies to SYNC replicas only")
    _require_initialized(view_of(ctx, replica), "switch roles")
    if session.user_suspended:
        raise invalid_state("REPLICA_IS_SUSPENDED", f"replica {replica.id} is suspended")
    _, peer = peer_of(ctx.world, replica)
    if peer is None or not session.running:
        raise invalid_state("LINK_DISCONNECTED", "cannot switch roles: replication is not running")
    replica.role, peer.role = "TARGET", "SOURCE"
    refresh_session(ctx.world, session, ctx.now)
    _touch(ctx, replica)
    return replica


def change_role(ctx: Ctx, replica: Replica, body: Any) -> Replica:
    """Flip this side's role without touching the peer (failover); needs replication to be stopped."""
    if body is not None:
        data = require_dict(body)
        check_keys(data, ("entity_pairs",))
        if data.get("entity_pairs") is not None and not isinstance(data["entity_pairs"], list):
            raise invalid_value("entity_pairs", data["entity_pairs"], "expected a list")
    session = session_of(ctx.world, replica)
    _require_initialized(view_of(ctx, replica), "change the role")
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
        _require_source(replica, "changing rpo_value / sync_interval")
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
        state.set_schedule(session, ctx.now, ctx.cfg, rpo, interval)
    if "description" in data:
        replica.description = description
    if "remote_snapshot_suffix" in data:
        replica.remote_snapshot_suffix = suffix
    for key, value in ints.items():
        if value is not None or key in ("snapshots_retention", "lock_remote_snapshot_retention"):
            setattr(replica, key, value)
    replica.updated_at = ctx.now
    return replica


# ------------------------------------------------------------------------------------------- delete

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
    _require_initialized(view_of(ctx, replica), "expose a snapshot")
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


# ------------------------------------------------------------------------------- CG member changes


def _cg_source_replica(ctx: Ctx, cg: ConsGroup) -> tuple[Replica, System, Replica]:
    replica = ctx.system.replicas[cg.replica_ids[0]]
    if replica.role != "SOURCE":
        raise invalid_state("OPERATION_NOT_ALLOWED_ON_TARGET", f"CG {cg.name!r} is a replication TARGET")
    peer_system, peer = peer_of(ctx.world, replica)
    if (
        peer is None
        or peer_system is None
        or not link_is_up(ctx.world, ctx.system, ctx.system.links.get(replica.link_id))
    ):
        raise invalid_state("LINK_DISCONNECTED", "the CG's replica cannot reach its peer")
    return replica, peer_system, peer


def add_cg_member(ctx: Ctx, cg: ConsGroup, dataset: Dataset, data: Mapping[str, Any]) -> None:
    """Adding a member to a replicated CG adds a pair (new target dataset, or ``replication_pair_info``'s)."""
    replica, peer_system, peer = _cg_source_replica(ctx, cg)
    info = data.get("replication_pair_info")
    infos = data.get("replication_pairs_info")
    if infos is not None:
        if not isinstance(infos, list) or len(infos) != 1:
            raise invalid_value("replication_pairs_info", infos, "one item per replica of the CG")
        info = infos[0]
    remote_cg = peer_system.cgs.get(replica.remote_cg_id) if replica.remote_cg_id is not None else None
    pool = peer_system.pools.get(remote_cg.pool_id) if remote_cg else None
    raw: dict[str, Any] = {
        "local_entity_id": dataset.id,
        "remote_entity_id": None,
        "remote_base_action": "CREATE",
    }
    if info is not None:
        if not isinstance(info, dict):
            raise invalid_value("replication_pair_info", info, "expected an object")
        raw["remote_entity_id"] = info.get("remote_entity_id")
        raw["remote_base_action"] = info.get("remote_base_action") or (
            "CREATE" if info.get("remote_entity_id") is None else "NO_BASE_DATA"
        )
        if info.get("remote_entity_name"):
            raw["remote_entity_name"] = info["remote_entity_name"]
    elif data.get("remote_entity_name"):
        raw["remote_entity_name"] = data["remote_entity_name"]
    plan = _plan_pair(ctx, peer_system, None, raw, pool, as_cg_member=True)
    local_pair, remote_pair = _build_pair(
        ctx, ctx.on(peer_system), plan, (replica.id, peer.id), pool, remote_cg
    )
    replica.pairs.append(local_pair)
    peer.pairs.append(remote_pair)
    _touch(ctx, replica)


def remove_cg_member(ctx: Ctx, cg: ConsGroup, dataset: Dataset, params: Mapping[str, str]) -> None:
    """Removing a member of a replicated CG drops its pair; the remote dataset leaves the remote CG."""
    replica, peer_system, peer = _cg_source_replica(ctx, cg)
    pair = next((p for p in replica.pairs if p.local_entity_id == dataset.id), None)
    if pair is None:
        return
    replica.pairs.remove(pair)
    if replica.id in dataset.replica_ids:
        dataset.replica_ids.remove(replica.id)
    remote_pair = next((p for p in peer.pairs if p.local_entity_id == pair.remote_entity_id), None)
    if remote_pair is not None:
        peer.pairs.remove(remote_pair)
    remote = peer_system.dataset(pair.remote_entity_id)
    if remote is not None:
        if peer.id in remote.replica_ids:
            remote.replica_ids.remove(peer.id)
        remote_cg = peer_system.cgs.get(remote.cg_id) if remote.cg_id is not None else None
        if remote_cg is not None and remote.id in remote_cg.member_ids:
            remote_cg.member_ids.remove(remote.id)
        remote.cg_id = None
    _touch(ctx, replica)


# ------------------------------------------------------------------------------ simulator controls


def complete_initialization(ctx: Ctx, replica: Replica) -> Replica:
    state.complete_initialization(session_of(ctx.world, replica), ctx.now, ctx.cfg)
    return replica


def set_jobs_paused(ctx: Ctx, replica: Replica, paused: bool) -> Replica:
    state.set_jobs_paused(session_of(ctx.world, replica), ctx.now, ctx.cfg, paused)
    return replica
