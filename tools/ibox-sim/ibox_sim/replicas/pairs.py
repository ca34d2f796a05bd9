"""The entity pairs of a new replica: checking each pair, then building both views of it.

Planning validates everything (datasets exist, sizes match, nothing replicated twice) and
changes nothing; :func:`build_pair` then creates what the pair needs on the peer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ibox_sim import store
from ibox_sim.context import Ctx, check_keys, ensure_unique_name, get_int, get_str
from ibox_sim.errors import ApiError, conflict, invalid_value, missing_parameter, not_found
from ibox_sim.model import ConsGroup, Dataset, DatasetKind, EntityType, Pair, Pool, System

PAIR_KEYS = frozenset(
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
REMOTE_ACTIONS = ("CREATE", "NO_BASE_DATA", "BASE", "TAKE_SNAP")


@dataclass
class PairPlan:
    local: Dataset
    remote_action: str
    local_action: str | None
    remote: Dataset | None = None  # existing remote dataset
    remote_name: str | None = None  # for CREATE
    local_base: Dataset | None = None
    remote_base: Dataset | None = None


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


def check_not_replicated(system: System, dataset: Dataset, *, as_cg_member: bool = False) -> None:
    """A dataset belongs to one replica at most (409 ENTITY_ALREADY_REPLICATED)."""
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


def auto_create_pairs(
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


def plan_pair(
    ctx: Ctx,
    peer: System,
    kind: DatasetKind | None,
    raw: Any,
    remote_pool: Pool | None,
    *,
    as_cg_member: bool,
) -> PairPlan:
    if not isinstance(raw, dict):
        raise invalid_value("entity_pairs", raw, "each pair is an object")
    check_keys(raw, PAIR_KEYS)
    local = _find_dataset(ctx.system, kind, get_int(raw, "local_entity_id", required=True) or 0)
    if local.is_snapshot:
        raise invalid_value("local_entity_id", local.id, "only master datasets can be replicated")
    duplicates = ctx.cfg.allow_duplicate_replicas
    if not duplicates:
        check_not_replicated(ctx.system, local, as_cg_member=as_cg_member)
    remote_id = get_int(raw, "remote_entity_id")
    action = str(raw.get("remote_base_action") or ("CREATE" if remote_id is None else "NO_BASE_DATA")).upper()
    if action not in REMOTE_ACTIONS:
        raise invalid_value("remote_base_action", action, " / ".join(REMOTE_ACTIONS))
    local_action = raw.get("local_base_action")
    plan = PairPlan(
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
    if not duplicates:
        check_not_replicated(peer, remote, as_cg_member=as_cg_member)
    if remote.size != local.size:
        raise conflict(
            "SIZE_MISMATCH", f"{remote.name!r} has {remote.size} bytes, {local.name!r} has {local.size}"
        )
    plan.remote = remote
    return plan


def check_plans(plans: list[PairPlan], peer: System) -> None:
    locals_ = [p.local.id for p in plans]
    remotes = [p.remote.id for p in plans if p.remote is not None]
    names = [(p.local.kind, p.remote_name) for p in plans if p.remote_name is not None]
    if (
        len(set(locals_)) != len(locals_)
        or len(set(remotes)) != len(remotes)
        or len(set(names)) != len(names)
    ):
        raise invalid_value("entity_pairs", locals_, "each entity may appear in one pair only")


def build_pair(
    ctx: Ctx,
    remote_ctx: Ctx,
    plan: PairPlan,
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
