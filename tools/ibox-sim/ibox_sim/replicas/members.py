"""Member changes of a replicated consistency group: a member added gets a pair, one removed loses it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ibox_sim.context import Ctx
from ibox_sim.errors import invalid_state, invalid_value
from ibox_sim.model import ConsGroup, Dataset, Replica, System
from ibox_sim.replicas.common import link_is_up, peer_of, touch
from ibox_sim.replicas.pairs import build_pair, plan_pair


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
    plan = plan_pair(ctx, peer_system, None, raw, pool, as_cg_member=True)
    local_pair, remote_pair = build_pair(
        ctx, ctx.on(peer_system), plan, (replica.id, peer.id), pool, remote_cg
    )
    replica.pairs.append(local_pair)
    peer.pairs.append(remote_pair)
    touch(ctx, replica)


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
    touch(ctx, replica)
