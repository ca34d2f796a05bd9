"""The SDK's protocol forms against the simulator over HTTP: capabilities, paging, explicit defaults."""

from __future__ import annotations

from datetime import timedelta

import pytest

from replica_operator.array import (
    CreateReplicaRequest,
    DeleteOptions,
    EntityType,
    InfiniBoxClient,
    NotFound,
    Replica,
)
from tests.integration.array.conftest import Topology
from tests.integration.array.sim import Sim


async def replicate(array: InfiniBoxClient, sim: Sim, topology: Topology, name: str) -> Replica:
    volume = await sim.volume("ibox-1", name)
    return await array.create_replica(
        CreateReplicaRequest.create_target(
            link_id=topology.link_id,
            entity_type=EntityType.VOLUME,
            local_entity_id=volume,
            remote_pool_id=topology.remote_pool_id,
        )
    )


async def test_capabilities_are_read_with_the_sdks_two_requests(array: InfiniBoxClient, sim: Sim) -> None:
    await array.login()
    await sim.clear_log()
    read = await array.read_capabilities()
    assert [(e["method"], e["path"]) for e in await sim.request_log() if e["system"] == "ibox-1"] == [
        ("GET", "/api/rest/_features"),
        ("GET", "/api/rest/system"),
    ]
    assert read.system.name == "ibox-1"
    assert read.has_sync_replication
    assert read.has_replica_auto_create
    assert read.has_nas_replication
    assert array.capabilities is read


async def test_an_async_create_says_the_documented_defaults(
    array: InfiniBoxClient, sim: Sim, topology: Topology
) -> None:
    replica = await replicate(array, sim, topology, "defaults")
    assert replica.rpo == timedelta(minutes=5)
    assert replica.sync_interval == timedelta(minutes=4)


async def test_listing_pages_without_sort_and_is_complete(
    array: InfiniBoxClient, sim: Sim, topology: Topology
) -> None:
    created = {(await replicate(array, sim, topology, f"page-{n}")).id for n in range(5)}
    await sim.clear_log()
    listing = await array.scan_replicas(page_size=2)
    assert {replica.id for replica in listing.items} == created
    assert not listing.changed_during_listing
    queries = [e["query"] for e in await sim.request_log() if e["path"] == "/api/rest/replicas"]
    assert len(queries) == 3
    assert all("sort" not in query and "page_size=2" in query for query in queries)


async def test_a_consistency_groups_replicas_by_local_cg_id(
    array: InfiniBoxClient, sim: Sim, topology: Topology
) -> None:
    members = [await sim.volume("ibox-1", f"cgm-{n}") for n in range(2)]
    cg = await sim.cg("ibox-1", "cg-search", members)
    created = await array.create_replica(
        CreateReplicaRequest.cg_create_target(
            link_id=topology.link_id,
            local_cg_id=cg,
            member_ids=members,
            remote_pool_id=topology.remote_pool_id,
        )
    )
    await replicate(array, sim, topology, "not-in-the-group")
    assert [replica.id for replica in await array.find_replicas(local_cg_id=cg)] == [created.id]


@pytest.mark.parametrize("retain", [False, True])
async def test_the_staging_area_goes_or_stays_as_said(
    retain: bool, array: InfiniBoxClient, sim: Sim, topology: Topology
) -> None:
    replica = await replicate(array, sim, topology, f"staging-{retain}")
    await sim.complete_initialization("ibox-1", replica.id)
    gone = await array.delete_replica(replica.id, options=DeleteOptions(retain_staging_area=retain))
    volume_id = replica.local_entity_id or replica.entity_pairs[0].local_entity_id
    snapshots = await sim.rest("ibox-1", "GET", "/volumes", parent_id=f"eq:{volume_id}")
    assert len(snapshots) == (1 if retain else 0)
    if retain:
        assert gone is not None
        assert gone.entity_pairs[0].local_reclaimed_snapshot_id == snapshots[0]["id"]
    with pytest.raises(NotFound):
        await array.get_replica(replica.id)
