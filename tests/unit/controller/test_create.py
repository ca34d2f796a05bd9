"""Create requests for every mode, built from the spec through the rules' Create step."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from replica_operator.array import BaseAction, CreateReplicaRequest, EntityType, ReplicationType
from replica_operator.controller import LookupProblem, build_request
from replica_operator.reconcile import Create, create_step, recreate_step
from tests.unit.controller.fakes import World
from tests.unit.reconcile.builders import SYNCED_STATUS, desired


async def _request(world: World, step: Create) -> CreateReplicaRequest:
    await world.connect()
    source, target = world.registry.get("ibox-1"), world.registry.get("ibox-2")
    assert source is not None
    assert target is not None
    return await build_request(step, source, target, world.registry)


def _dataset_world(kind: EntityType) -> tuple[World, dict[str, int]]:
    world = World()
    local, remote = world.arrays["ibox-1"], world.arrays["ibox-2"]
    vol = local.add_dataset("vol-1", kind)
    dr = remote.add_dataset("vol-1-dr", kind)
    snap_a = local.add_dataset("snap-a", kind, parent_id=vol.id)
    snap_b = remote.add_dataset("snap-b", kind, parent_id=dr.id)
    return world, {"vol": vol.id, "dr": dr.id, "snap_a": snap_a.id, "snap_b": snap_b.id}


def _source(kind: EntityType) -> dict[str, Any]:
    field = "volume" if kind is EntityType.VOLUME else "filesystem"
    return {"array": "ibox-1", field: "vol-1"}


@pytest.mark.parametrize("kind", [EntityType.VOLUME, EntityType.FILESYSTEM])
async def test_mode_create_makes_the_target_in_the_pool(kind: EntityType) -> None:
    world, ids = _dataset_world(kind)
    spec = {
        "source": _source(kind),
        "target": {"array": "ibox-2", "pool": "pool-1", "name": "vol-1-dr"},
        "rpo": "5m",
    }
    request = await _request(world, create_step(desired(spec)))
    (pair,) = request.entity_pairs
    assert request.entity_type is kind
    assert (request.link_id, request.remote_pool_id) == (7, 31)
    assert (pair.local_entity_id, pair.remote_base_action, pair.remote_entity_name) == (
        ids["vol"],
        BaseAction.CREATE,
        "vol-1-dr",
    )
    assert request.replication_type is ReplicationType.ASYNC
    assert request.rpo == timedelta(minutes=5)
    assert request.description is not None
    assert "k8s-uid=" in request.description


@pytest.mark.parametrize("kind", [EntityType.VOLUME, EntityType.FILESYSTEM])
async def test_mode_existing_replicates_onto_the_named_remote_dataset(kind: EntityType) -> None:
    world, ids = _dataset_world(kind)
    spec = {"source": _source(kind), "target": {"array": "ibox-2", "mode": "Existing", "name": "vol-1-dr"}}
    request = await _request(world, create_step(desired(spec)))
    (pair,) = request.entity_pairs
    assert (pair.local_entity_id, pair.remote_entity_id) == (ids["vol"], ids["dr"])
    assert pair.remote_base_action is BaseAction.NO_BASE_DATA
    assert request.remote_pool_id is None


@pytest.mark.parametrize("kind", [EntityType.VOLUME, EntityType.FILESYSTEM])
async def test_mode_base_snapshot_pairs_the_snapshots_and_their_parents(kind: EntityType) -> None:
    world, ids = _dataset_world(kind)
    target = {
        "array": "ibox-2",
        "mode": "BaseSnapshot",
        "baseSnapshot": {"local": "snap-a", "remote": "snap-b"},
    }
    request = await _request(world, create_step(desired({"source": _source(kind), "target": target})))
    (pair,) = request.entity_pairs
    assert (pair.local_entity_id, pair.remote_entity_id) == (ids["vol"], ids["dr"])
    assert (pair.local_base_entity_id, pair.remote_base_entity_id) == (ids["snap_a"], ids["snap_b"])
    assert pair.remote_base_action is BaseAction.BASE


def _group_world() -> tuple[World, dict[str, int]]:
    world = World()
    local, remote = world.arrays["ibox-1"], world.arrays["ibox-2"]
    group = local.add_group("cg-1", ("m1", "m2"))
    remote_group = remote.add_group("cg-1-dr", ("r1", "r2"))
    same_name = remote.add_group("cg-1")
    m1, r1 = local.datasets["m1"], remote.datasets["r1"]
    s1 = local.add_dataset("s1", parent_id=m1.id)
    t1 = remote.add_dataset("t1", parent_id=r1.id)
    ids = {"cg": group.id, "cg_dr": remote_group.id, "cg_same": same_name.id, "m1": m1.id, "r1": r1.id}
    return world, {
        **ids,
        "m2": local.datasets["m2"].id,
        "r2": remote.datasets["r2"].id,
        "s1": s1.id,
        "t1": t1.id,
    }


async def test_group_mode_create_sends_every_member() -> None:
    world, ids = _group_world()
    request = await _request(world, create_step(desired(kind="ConsistencyGroupReplica")))
    assert request.entity_type is EntityType.CONSISTENCY_GROUP
    assert (request.local_cg_id, request.remote_pool_id) == (ids["cg"], 31)
    assert [p.local_entity_id for p in request.entity_pairs] == [ids["m1"], ids["m2"]]


async def test_group_mode_existing_maps_members_onto_the_remote_group() -> None:
    world, ids = _group_world()
    target = {
        "array": "ibox-2",
        "mode": "Existing",
        "name": "cg-1-dr",
        "memberMappings": [{"local": "m1", "remote": "r1"}, {"local": "m2", "remote": "r2"}],
    }
    request = await _request(world, create_step(desired({"target": target}, kind="ConsistencyGroupReplica")))
    assert request.remote_cg_id == ids["cg_dr"]
    pairs = {(p.local_entity_id, p.remote_entity_id) for p in request.entity_pairs}
    assert pairs == {(ids["m1"], ids["r1"]), (ids["m2"], ids["r2"])}


async def test_group_mode_base_snapshot_uses_the_remote_group_of_the_same_name() -> None:
    world, ids = _group_world()
    target = {
        "array": "ibox-2",
        "mode": "BaseSnapshot",
        "memberMappings": [{"localSnapshot": "s1", "remoteSnapshot": "t1"}],
    }
    request = await _request(world, create_step(desired({"target": target}, kind="ConsistencyGroupReplica")))
    (pair,) = request.entity_pairs
    assert request.remote_cg_id == ids["cg_same"]  # BaseSnapshot names no group: the local group's name
    assert (pair.local_entity_id, pair.remote_entity_id) == (ids["m1"], ids["r1"])
    assert (pair.local_base_entity_id, pair.remote_base_entity_id) == (ids["s1"], ids["t1"])


async def test_recreate_replicates_onto_the_previous_target_not_into_the_pool() -> None:
    world, ids = _dataset_world(EntityType.VOLUME)
    status = {**SYNCED_STATUS, "currentTarget": {"array": "ibox-2", "entity": "vol-1-dr"}}
    request = await _request(world, recreate_step(desired(status=status)))
    (pair,) = request.entity_pairs
    assert (pair.remote_entity_id, pair.remote_base_action) == (ids["dr"], BaseAction.NO_BASE_DATA)
    assert request.remote_pool_id is None


async def test_group_recreate_maps_the_members_it_had() -> None:
    world, ids = _group_world()
    status = {
        **SYNCED_STATUS,
        "currentTarget": {"array": "ibox-2", "entity": "cg-1-dr"},
        "members": [{"local": "m1", "remote": "r1"}, {"local": "m2", "remote": "r2"}],
    }
    request = await _request(world, recreate_step(desired(status=status, kind="ConsistencyGroupReplica")))
    assert request.remote_cg_id == ids["cg_dr"]
    assert {(p.local_entity_id, p.remote_entity_id) for p in request.entity_pairs} == {
        (ids["m1"], ids["r1"]),
        (ids["m2"], ids["r2"]),
    }


async def test_sync_replica_is_created_without_a_schedule() -> None:
    world, _ = _dataset_world(EntityType.VOLUME)
    step = create_step(desired({"replicationType": "SYNC", "rpo": "5m", "syncInterval": "1m"}))
    request = await _request(world, step)
    assert request.replication_type is ReplicationType.SYNC
    assert (request.rpo, request.sync_interval) == (None, None)


async def test_entity_found_by_the_search_is_not_looked_up_again() -> None:
    world, ids = _dataset_world(EntityType.VOLUME)
    request = await _request(world, create_step(desired(), entity_id=ids["vol"]))
    assert request.entity_pairs[0].local_entity_id == ids["vol"]
    assert "find_volume" not in world.log.names("ibox-1")


async def test_a_name_that_does_not_resolve_says_which_and_where() -> None:
    world, _ = _dataset_world(EntityType.VOLUME)
    spec = {"target": {"array": "ibox-2", "mode": "Existing", "name": "no-such-volume"}}
    with pytest.raises(LookupProblem) as raised:
        await _request(world, create_step(desired(spec)))
    assert raised.value.problem.reason == "EntityNotFound"
    assert "no-such-volume" in raised.value.problem.message
    assert "ibox-2" in raised.value.problem.message
