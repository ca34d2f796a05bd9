"""Reading the system, pools, datasets, snapshots, consistency groups and links from ibox-sim."""

from __future__ import annotations

import pytest

from replica_operator.array import EntityType, Filesystem, InfiniBoxClient, LinkState, NotFound, Volume
from tests.integration.array.conftest import Topology
from tests.integration.array.sim import GB, Sim


async def test_system_info(array: InfiniBoxClient, peer: InfiniBoxClient) -> None:
    first, second = await array.get_system(), await peer.get_system()
    assert (first.name, first.serial) == ("ibox-1", 10001)
    assert (second.name, second.serial) == ("ibox-2", 10002)
    assert first.version.count(".") >= 1
    assert first.model


async def test_pools(array: InfiniBoxClient, topology: Topology) -> None:
    pool = await array.find_pool("pool-1")
    assert pool is not None
    assert pool.id == topology.local_pool_id
    assert await array.get_pool(pool.id) == pool
    assert await array.find_pool("no-such-pool") is None
    with pytest.raises(NotFound) as caught:
        await array.get_pool(pool.id + 999_999)
    assert (caught.value.status_code, caught.value.code) == (404, "POOL_NOT_FOUND")


async def test_volumes_and_their_snapshots(array: InfiniBoxClient, sim: Sim, topology: Topology) -> None:
    volume_id = await sim.volume("ibox-1", "db", size=3 * GB)
    snapshot_id = await sim.snapshot("ibox-1", volume_id, "db-snap")

    volume = await array.find_volume("db")
    assert volume is not None
    assert (volume.id, volume.size, volume.pool_id, volume.is_snapshot) == (
        volume_id,
        3 * GB,
        topology.local_pool_id,
        False,
    )
    assert await array.get_volume(volume_id) == volume
    assert await array.find_volume("nothing") is None

    snapshot = await array.find_snapshot("db-snap")
    assert snapshot is not None
    assert isinstance(snapshot, Volume)
    assert (snapshot.id, snapshot.parent_id) == (snapshot_id, volume_id)
    assert await array.find_snapshot("db") is None, "a master volume is not a snapshot"
    assert await array.find_snapshot("db-snap", entity_type=EntityType.FILESYSTEM) is None

    with pytest.raises(NotFound) as caught:
        await array.get_volume(volume_id + 999_999)
    assert caught.value.code == "VOLUME_NOT_FOUND"


async def test_filesystems_and_their_snapshots(array: InfiniBoxClient, sim: Sim) -> None:
    fs_id = await sim.filesystem("ibox-1", "share")
    snap_id = await sim.snapshot("ibox-1", fs_id, "share-snap", collection="filesystems")

    filesystem = await array.find_filesystem("share")
    assert filesystem is not None
    assert isinstance(filesystem, Filesystem)
    assert filesystem.id == fs_id
    assert await array.get_filesystem(fs_id) == filesystem
    assert await array.find_filesystem("db") is None

    snapshot = await array.find_snapshot("share-snap", entity_type=EntityType.FILESYSTEM)
    assert snapshot is not None
    assert (snapshot.id, snapshot.parent_id) == (snap_id, fs_id)
    with pytest.raises(NotFound) as caught:
        await array.get_filesystem(fs_id + 999_999)
    assert caught.value.code == "FILESYSTEM_NOT_FOUND"


async def test_consistency_groups_and_members(array: InfiniBoxClient, sim: Sim) -> None:
    members = [await sim.volume("ibox-1", "m1"), await sim.filesystem("ibox-1", "m2")]
    cg_id = await sim.cg("ibox-1", "app", members)

    cg = await array.find_consistency_group("app")
    assert cg is not None
    assert (cg.id, cg.members_count, cg.parent_id, cg.is_replicated) == (cg_id, 2, None, False)
    assert await array.get_consistency_group(cg_id) == cg
    assert await array.find_consistency_group("other") is None

    found = await array.list_cg_members(cg_id)
    assert [(type(m), m.id, m.cg_id) for m in found] == [
        (Volume, members[0], cg_id),
        (Filesystem, members[1], cg_id),
    ]
    with pytest.raises(NotFound) as caught:
        await array.list_cg_members(cg_id + 999_999)
    assert caught.value.code == "CG_NOT_FOUND"


async def test_links(array: InfiniBoxClient, topology: Topology) -> None:
    link = await array.find_link("to-ibox-2")
    assert link is not None
    assert (link.id, link.remote_system_name, link.remote_system_serial_number) == (
        topology.link_id,
        "ibox-2",
        10002,
    )
    assert link.remote_link_id == topology.remote_link_id
    assert link.link_state is LinkState.UP
    assert link.is_up
    assert await array.get_link(link.id) == link
    assert await array.list_links() == [link]
    assert await array.find_link("to-ibox-9") is None
    with pytest.raises(NotFound) as caught:
        await array.get_link(link.id + 999_999)
    assert caught.value.code == "LINK_NOT_FOUND"
