"""Creating replicas in every way the array supports, listing them, acting on them, deleting them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from replica_operator.array import (
    BadRequest,
    Conflict,
    CreateReplicaRequest,
    EntityType,
    InfiniBoxClient,
    InvalidState,
    NotFound,
    Replica,
    ReplicaState,
    ReplicationType,
    Role,
    SnapshotBase,
    SyncState,
)
from tests.integration.array.conftest import Topology
from tests.integration.array.sim import Sim


async def create_volume_replica(
    array: InfiniBoxClient, sim: Sim, topology: Topology, name: str, **options: Any
) -> Replica:
    volume_id = await sim.volume("ibox-1", name)
    request = CreateReplicaRequest.create_target(
        link_id=topology.link_id,
        entity_type=EntityType.VOLUME,
        local_entity_id=volume_id,
        remote_pool_id=topology.remote_pool_id,
        description=f"test/{name}",
        **options,
    )
    return await array.create_replica(request)


async def test_create_an_async_volume_replica_in_a_remote_pool(
    array: InfiniBoxClient, peer: InfiniBoxClient, sim: Sim, topology: Topology
) -> None:
    volume_id = await sim.volume("ibox-1", "db")
    request = CreateReplicaRequest.create_target(
        link_id=topology.link_id,
        entity_type=EntityType.VOLUME,
        local_entity_id=volume_id,
        remote_pool_id=topology.remote_pool_id,
        rpo=timedelta(minutes=2),
        sync_interval=timedelta(seconds=30),
        description="owner=ns/db",
    )
    replica = await array.create_replica(request)

    assert (replica.entity_type, replica.replication_type, replica.role) == (
        EntityType.VOLUME,
        ReplicationType.ASYNC,
        Role.SOURCE,
    )
    assert (replica.rpo, replica.sync_interval) == (timedelta(minutes=2), timedelta(seconds=30))
    assert (replica.description, replica.link_id, replica.local_entity_id) == (
        "owner=ns/db",
        topology.link_id,
        volume_id,
    )
    assert replica.sync_state is SyncState.INITIALIZING
    assert replica.is_initial
    assert replica.created_at is not None
    assert replica.created_at.tzinfo is not None
    assert await array.get_replica(replica.id) == replica

    target = await peer.get_replica(replica.remote_replica_id or 0)
    assert (target.role, target.state, target.remote_replica_id) == (Role.TARGET, None, replica.id)
    remote_volume = await peer.find_volume("db")
    assert remote_volume is not None
    assert remote_volume.id == replica.remote_entity_id == target.local_entity_id
    assert remote_volume.pool_id == topology.remote_pool_id
    assert remote_volume.rmr_target


async def test_create_a_sync_volume_replica(array: InfiniBoxClient, sim: Sim, topology: Topology) -> None:
    replica = await create_volume_replica(array, sim, topology, "db", replication_type=ReplicationType.SYNC)
    assert replica.replication_type is ReplicationType.SYNC
    assert (replica.rpo, replica.sync_interval) == (None, None)


async def test_create_onto_an_existing_target(
    array: InfiniBoxClient, peer: InfiniBoxClient, sim: Sim, topology: Topology
) -> None:
    local, remote = await sim.volume("ibox-1", "db"), await sim.volume("ibox-2", "db-dr")
    replica = await array.create_replica(
        CreateReplicaRequest.existing_target(
            link_id=topology.link_id,
            entity_type=EntityType.VOLUME,
            local_entity_id=local,
            remote_entity_id=remote,
        )
    )
    assert (replica.local_entity_id, replica.remote_entity_id) == (local, remote)
    assert replica.entity_pairs[0].remote_base_action == "NO_BASE_DATA"
    assert (await peer.get_volume(remote)).rmr_target


async def test_create_from_base_snapshots(array: InfiniBoxClient, sim: Sim, topology: Topology) -> None:
    local, remote = await sim.volume("ibox-1", "db"), await sim.volume("ibox-2", "db")
    base = SnapshotBase(
        local_entity_id=local,
        remote_entity_id=remote,
        local_snapshot_id=await sim.snapshot("ibox-1", local, "db-base"),
        remote_snapshot_id=await sim.snapshot("ibox-2", remote, "db-base"),
    )
    replica = await array.create_replica(
        CreateReplicaRequest.from_base_snapshots(
            link_id=topology.link_id, entity_type=EntityType.VOLUME, base=base
        )
    )
    (pair,) = replica.entity_pairs
    assert (pair.local_base_action, pair.remote_base_action) == ("BASE", "BASE")
    assert (pair.local_base_entity_id, pair.remote_base_entity_id) == (
        base.local_snapshot_id,
        base.remote_snapshot_id,
    )


async def test_create_by_taking_snapshots(array: InfiniBoxClient, sim: Sim, topology: Topology) -> None:
    local, remote = await sim.volume("ibox-1", "db"), await sim.volume("ibox-2", "db")
    replica = await array.create_replica(
        CreateReplicaRequest.take_snapshot(
            link_id=topology.link_id,
            entity_type=EntityType.VOLUME,
            local_entity_id=local,
            remote_entity_id=remote,
            rpo=timedelta(seconds=20),
            sync_interval=timedelta(seconds=4),
        )
    )
    (pair,) = replica.entity_pairs
    assert pair.remote_base_action == "TAKE_SNAP"
    assert pair.local_base_entity_id is not None
    snapshot = await array.get_volume(pair.local_base_entity_id)
    assert snapshot.parent_id == local
    assert replica.sync_interval == timedelta(seconds=4)


async def test_create_a_filesystem_replica(
    array: InfiniBoxClient, peer: InfiniBoxClient, sim: Sim, topology: Topology
) -> None:
    fs_id = await sim.filesystem("ibox-1", "share")
    replica = await array.create_replica(
        CreateReplicaRequest.create_target(
            link_id=topology.link_id,
            entity_type=EntityType.FILESYSTEM,
            local_entity_id=fs_id,
            remote_pool_id=topology.remote_pool_id,
            remote_entity_name="share-dr",
        )
    )
    assert replica.entity_type is EntityType.FILESYSTEM
    assert await peer.find_filesystem("share-dr") is not None


async def test_create_a_consistency_group_replica_in_a_remote_pool(
    array: InfiniBoxClient, peer: InfiniBoxClient, sim: Sim, topology: Topology
) -> None:
    members = [await sim.volume("ibox-1", "m1"), await sim.volume("ibox-1", "m2")]
    cg_id = await sim.cg("ibox-1", "app", members)
    replica = await array.create_replica(
        CreateReplicaRequest.cg_create_target(
            link_id=topology.link_id,
            local_cg_id=cg_id,
            member_ids=[m.id for m in await array.list_cg_members(cg_id)],
            remote_pool_id=topology.remote_pool_id,
            replication_type=ReplicationType.SYNC,
            description="cg",
        )
    )
    assert (replica.entity_type, replica.local_cg_id, replica.local_cg_name) == (
        EntityType.CONSISTENCY_GROUP,
        cg_id,
        "app",
    )
    assert sorted(p.local_entity_id or 0 for p in replica.entity_pairs) == members
    remote_cg = await peer.find_consistency_group("app")
    assert remote_cg is not None
    assert remote_cg.id == replica.remote_cg_id
    assert len(await peer.list_cg_members(remote_cg.id)) == 2
    assert (await array.get_consistency_group(cg_id)).is_replicated


async def test_create_a_consistency_group_replica_onto_an_existing_group(
    array: InfiniBoxClient, sim: Sim, topology: Topology
) -> None:
    local_members = [await sim.volume("ibox-1", "m1"), await sim.volume("ibox-1", "m2")]
    remote_members = [await sim.volume("ibox-2", "r1"), await sim.volume("ibox-2", "r2")]
    local_cg = await sim.cg("ibox-1", "app", local_members)
    remote_cg = await sim.cg("ibox-2", "app-dr", remote_members)
    replica = await array.create_replica(
        CreateReplicaRequest.cg_existing_target(
            link_id=topology.link_id,
            local_cg_id=local_cg,
            remote_cg_id=remote_cg,
            member_mappings=dict(zip(local_members, remote_members, strict=True)),
        )
    )
    assert replica.remote_cg_id == remote_cg
    pairs = sorted((p.local_entity_id or 0, p.remote_entity_id or 0) for p in replica.entity_pairs)
    assert pairs == list(zip(local_members, remote_members, strict=True))


async def test_create_a_consistency_group_replica_from_base_snapshots(
    array: InfiniBoxClient, sim: Sim, topology: Topology
) -> None:
    bases = []
    for name in ("m1", "m2"):
        local, remote = await sim.volume("ibox-1", name), await sim.volume("ibox-2", name)
        bases.append(
            SnapshotBase(
                local_entity_id=local,
                remote_entity_id=remote,
                local_snapshot_id=await sim.snapshot("ibox-1", local, f"{name}-base"),
                remote_snapshot_id=await sim.snapshot("ibox-2", remote, f"{name}-base"),
            )
        )
    local_cg = await sim.cg("ibox-1", "app", [b.local_entity_id for b in bases])
    remote_cg = await sim.cg("ibox-2", "app", [b.remote_entity_id for b in bases])
    replica = await array.create_replica(
        CreateReplicaRequest.cg_from_base_snapshots(
            link_id=topology.link_id, local_cg_id=local_cg, remote_cg_id=remote_cg, members=bases
        )
    )
    assert {p.local_base_entity_id for p in replica.entity_pairs} == {b.local_snapshot_id for b in bases}


async def test_replicating_a_replicated_volume_is_a_conflict(
    array: InfiniBoxClient, sim: Sim, topology: Topology
) -> None:
    replica = await create_volume_replica(array, sim, topology, "db")
    again = CreateReplicaRequest.existing_target(
        link_id=topology.link_id,
        entity_type=EntityType.VOLUME,
        local_entity_id=replica.local_entity_id or 0,
        remote_entity_id=await sim.volume("ibox-2", "elsewhere"),
    )
    with pytest.raises(Conflict) as caught:
        await array.create_replica(again)
    assert (caught.value.status_code, caught.value.code) == (409, "ENTITY_ALREADY_REPLICATED")


async def test_listing_paging_and_finding(array: InfiniBoxClient, sim: Sim, topology: Topology) -> None:
    created = [await create_volume_replica(array, sim, topology, f"v{n}") for n in range(5)]
    cg_id = await sim.cg("ibox-1", "app", [await sim.volume("ibox-1", "m1")])
    cg_replica = await array.create_replica(
        CreateReplicaRequest.cg_create_target(
            link_id=topology.link_id,
            local_cg_id=cg_id,
            member_ids=[m.id for m in await array.list_cg_members(cg_id)],
            remote_pool_id=topology.remote_pool_id,
        )
    )
    ids = [r.id for r in created] + [cg_replica.id]

    page = await array.list_replicas(page=2, page_size=2)
    assert (page.page, page.page_size, page.pages_total, page.number_of_objects) == (2, 2, 3, 6)
    assert [r.id for r in page.items] == ids[2:4]
    assert page.has_next
    assert [r.id async for r in array.iter_replicas(page_size=2)] == ids
    assert [r.id for r in await array.list_all_replicas()] == ids
    assert [r.id for r in await array.list_all_replicas({"entity_type": EntityType.VOLUME})] == ids[:5]

    assert [r.id for r in await array.find_replicas(description="test/v3")] == [created[3].id]
    assert [r.id for r in await array.find_replicas(local_entity_id=created[1].local_entity_id)] == [
        created[1].id
    ]
    assert [r.id for r in await array.find_replicas(local_cg_id=cg_id)] == [cg_replica.id]
    assert len(await array.find_replicas(link_id=topology.link_id)) == 6
    assert await array.find_replicas(description="nobody") == []
    with pytest.raises(BadRequest) as caught:
        await array.list_replicas(filters={"no_such_field": 1})
    assert (caught.value.status_code, caught.value.code) == (400, "UNKNOWN_PARAMETER")


async def test_type_changes_wait_for_initialization(
    array: InfiniBoxClient, sim: Sim, topology: Topology
) -> None:
    replica = await create_volume_replica(array, sim, topology, "db")
    with pytest.raises(InvalidState) as caught:
        await array.change_type(replica.id, ReplicationType.SYNC)
    assert (caught.value.status_code, caught.value.code) == (409, "REPLICA_IS_INITIALIZING")
    assert str(caught.value).startswith("ibox-1: 409 REPLICA_IS_INITIALIZING: ")

    await sim.complete_initialization("ibox-1", replica.id)
    await array.change_type(replica.id, ReplicationType.SYNC)
    assert (await array.get_replica(replica.id)).replication_type is ReplicationType.SYNC

    await array.change_type(
        replica.id, ReplicationType.ASYNC, rpo=timedelta(minutes=10), sync_interval=timedelta(minutes=1)
    )
    back = await array.get_replica(replica.id)
    assert (back.replication_type, back.rpo, back.sync_interval) == (
        ReplicationType.ASYNC,
        timedelta(minutes=10),
        timedelta(minutes=1),
    )


async def test_update_rpo_interval_and_description(
    array: InfiniBoxClient, sim: Sim, topology: Topology
) -> None:
    replica = await create_volume_replica(array, sim, topology, "db", rpo=timedelta(minutes=5))
    updated = await array.update_replica(
        replica.id, rpo=timedelta(minutes=3), sync_interval=timedelta(seconds=45), description="moved"
    )
    assert (updated.rpo, updated.sync_interval, updated.description) == (
        timedelta(minutes=3),
        timedelta(seconds=45),
        "moved",
    )
    with pytest.raises(BadRequest) as caught:
        await array.update_replica(replica.id, sync_interval=timedelta(hours=1))
    assert caught.value.code == "INVALID_VALUE"
    assert (await array.get_replica(replica.id)).sync_interval == timedelta(seconds=45)


async def test_suspend_resume_and_sync_now(array: InfiniBoxClient, sim: Sim, topology: Topology) -> None:
    await sim.configure(job_seconds=600)  # a job started now is still running when looked at
    replica = await create_volume_replica(array, sim, topology, "db")
    await sim.complete_initialization("ibox-1", replica.id)

    await array.suspend(replica.id)
    suspended = await array.get_replica(replica.id)
    assert (suspended.state, suspended.state_reason) == (ReplicaState.SUSPENDED, "USER_SUSPENDED")
    with pytest.raises(InvalidState) as caught:
        await array.suspend(replica.id)
    assert caught.value.code == "REPLICA_IS_SUSPENDED"

    await array.resume(replica.id)
    assert (await array.get_replica(replica.id)).state is ReplicaState.ACTIVE

    await array.sync_now(replica.id)
    syncing = await array.get_replica(replica.id)
    assert syncing.sync_state is SyncState.SYNC_IN_PROGRESS
    assert syncing.jobs


async def test_switch_role_of_a_sync_replica(
    array: InfiniBoxClient, peer: InfiniBoxClient, sim: Sim, topology: Topology
) -> None:
    replica = await create_volume_replica(array, sim, topology, "db", replication_type=ReplicationType.SYNC)
    await sim.complete_initialization("ibox-1", replica.id)
    await array.switch_role(replica.id)
    assert (await array.get_replica(replica.id)).role is Role.TARGET
    assert (await peer.get_replica(replica.remote_replica_id or 0)).role is Role.SOURCE


async def test_change_role_needs_a_stopped_replica(
    array: InfiniBoxClient, sim: Sim, topology: Topology
) -> None:
    replica = await create_volume_replica(array, sim, topology, "db")
    await sim.complete_initialization("ibox-1", replica.id)
    with pytest.raises(InvalidState) as caught:
        await array.change_role(replica.id)
    assert caught.value.code == "REPLICA_NOT_SUSPENDED"
    await array.suspend(replica.id)
    await array.change_role(replica.id)
    assert (await array.get_replica(replica.id)).role is Role.TARGET


async def test_delete_a_target_needs_force(
    array: InfiniBoxClient, peer: InfiniBoxClient, sim: Sim, topology: Topology
) -> None:
    replica = await create_volume_replica(array, sim, topology, "db")
    target_id = replica.remote_replica_id or 0
    with pytest.raises(InvalidState) as caught:
        await peer.delete_replica(target_id)
    assert caught.value.code == "OPERATION_NOT_ALLOWED_ON_TARGET"
    await peer.delete_replica(target_id, force_on_target=True)
    with pytest.raises(NotFound):
        await peer.get_replica(target_id)
    assert (await array.get_replica(replica.id)).id == replica.id, "the source stays"


async def test_delete_from_the_source_keeping_the_staging_area(
    array: InfiniBoxClient, peer: InfiniBoxClient, sim: Sim, topology: Topology
) -> None:
    replica = await create_volume_replica(array, sim, topology, "db")
    deleted = await array.delete_replica(replica.id, retain_staging_area=True)
    assert deleted is not None
    assert deleted.id == replica.id
    kept = deleted.entity_pairs[0].local_reclaimed_snapshot_id
    assert kept is not None
    assert (await array.get_volume(kept)).parent_id == replica.local_entity_id
    with pytest.raises(NotFound) as caught:
        await array.get_replica(replica.id)
    assert caught.value.code == "REPLICA_NOT_FOUND"
    with pytest.raises(NotFound):
        await peer.get_replica(replica.remote_replica_id or 0)
    volume = await array.get_volume(replica.local_entity_id or 0)
    assert not volume.is_replicated, "the dataset stays, unreplicated"
