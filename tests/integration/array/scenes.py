"""Objects for the differential test: built directly on the simulator, and named through infinisdk.

Each builder makes one client's objects (called once per client, so both act on equal
but separate objects); the ``sdk_*`` helpers name them as infinisdk objects without I/O.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tests.integration.array.conftest import Topology
from tests.integration.array.sim import Sim

Subject = dict[str, int]
RPO, INTERVAL = timedelta(seconds=90), timedelta(seconds=30)
SDK_TIMES: dict[str, Any] = {"rpo": RPO, "sync_interval": INTERVAL, "replication_type": "ASYNC"}


@dataclass(frozen=True)
class Sdk:
    local: Any  # infinisdk.InfiniBox through the proxy
    peer: Any  # the peer array, directly (its objects are only named, never changed)


# -- building objects (directly on the simulator, not through the proxy)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def volumes(sim: Sim, _: Topology) -> Subject:
    return {
        "volume": await sim.volume("ibox-1", unique("v")),
        "remote": await sim.volume("ibox-2", unique("r")),
    }


async def snapshots(sim: Sim, topology: Topology) -> Subject:
    found = await volumes(sim, topology)
    found["local_snap"] = await sim.snapshot("ibox-1", found["volume"], unique("ls"))
    found["remote_snap"] = await sim.snapshot("ibox-2", found["remote"], unique("rs"))
    return found


async def groups(sim: Sim, _: Topology) -> Subject:
    local = [await sim.volume("ibox-1", unique("m")) for _ in range(2)]
    remote = [await sim.volume("ibox-2", unique("rm")) for _ in range(2)]
    return {
        "cg": await sim.cg("ibox-1", unique("cg"), local),
        "remote_cg": await sim.cg("ibox-2", unique("rcg"), remote),
        "m1": local[0],
        "m2": local[1],
        "r1": remote[0],
        "r2": remote[1],
    }


def replica_setup(
    kind: str = "ASYNC", *, suspended: bool = False
) -> Callable[[Sim, Topology], Awaitable[Subject]]:
    async def setup(sim: Sim, topology: Topology) -> Subject:
        volume = await sim.volume("ibox-1", unique("v"))
        body: dict[str, Any] = {
            "link_id": topology.link_id,
            "entity_type": "VOLUME",
            "entity_pairs": [
                {"local_entity_id": volume, "remote_entity_id": None, "remote_base_action": "CREATE"}
            ],
            "remote_pool_id": topology.remote_pool_id,
            "replication_type": kind,
        }
        created = await sim.rest("ibox-1", "POST", "/replicas", body)
        await sim.complete_initialization("ibox-1", created["id"])
        if suspended:
            await sim.rest("ibox-1", "POST", f"/replicas/{created['id']}/suspend")
        return {"replica": int(created["id"])}

    return setup


async def target_replica(sim: Sim, topology: Topology) -> Subject:
    """A replica from ibox-2 to ibox-1, so that its TARGET side is on the proxied array."""
    volume = await sim.volume("ibox-2", unique("v"))
    body = {
        "link_id": topology.remote_link_id,
        "entity_type": "VOLUME",
        "entity_pairs": [
            {"local_entity_id": volume, "remote_entity_id": None, "remote_base_action": "CREATE"}
        ],
        "remote_pool_id": topology.local_pool_id,
    }
    created = await sim.rest("ibox-2", "POST", "/replicas", body)
    return {"replica": int(created["remote_replica_id"])}


async def cg_replica(sim: Sim, topology: Topology) -> Subject:
    found = await groups(sim, topology)
    body = {
        "link_id": topology.link_id,
        "entity_type": "CONSISTENCY_GROUP",
        "local_cg_id": found["cg"],
        "remote_pool_id": topology.remote_pool_id,
        "entity_pairs": [
            {"local_entity_id": found[m], "remote_entity_id": None, "remote_base_action": "CREATE"}
            for m in ("m1", "m2")
        ],
    }
    await sim.rest("ibox-1", "POST", "/replicas", body)
    return found


# -- the SDK's side, in its own words


def sdk_link(sdk: Sdk, topology: Topology) -> Any:
    return sdk.local.links.get_by_id_lazy(topology.link_id)


def sdk_replica(sdk: Sdk, subject: Subject) -> Any:
    return sdk.local.replicas.get_by_id_lazy(subject["replica"])


def sdk_volume(sdk: Sdk, subject: Subject, key: str = "volume", *, remote: bool = False) -> Any:
    return (sdk.peer if remote else sdk.local).volumes.get_by_id_lazy(subject[key])


def sdk_create_target(sdk: Sdk, subject: Subject, topology: Topology, **times: Any) -> object:
    remote_pool = sdk.peer.pools.get_by_id_lazy(topology.remote_pool_id)
    return sdk.local.replicas.replicate_entity(
        sdk_volume(sdk, subject), link=sdk_link(sdk, topology), remote_pool=remote_pool, **times
    )


def sdk_cg_existing(sdk: Sdk, subject: Subject, topology: Topology) -> object:
    mappings = {
        sdk_volume(sdk, subject, m): sdk_volume(sdk, subject, r, remote=True)
        for m, r in (("m1", "r1"), ("m2", "r2"))
    }
    return sdk.local.replicas.replicate_entity_existing_target(
        sdk.local.cons_groups.get_by_id_lazy(subject["cg"]),
        link=sdk_link(sdk, topology),
        remote_entity=sdk.peer.cons_groups.get_by_id_lazy(subject["remote_cg"]),
        member_mappings=mappings,
        **SDK_TIMES,
    )


LOOKUP_VOLUME, LOOKUP_CG, LOOKUP_POOL, LOOKUP_LINK = "lookup-volume", "lookup-cg", "pool-1", "to-ibox-2"


async def named_objects(sim: Sim, _: Topology) -> Subject:
    """The same named objects for both clients (a look-up changes nothing, so they can share them)."""
    if not await sim.rest("ibox-1", "GET", "/volumes", name=f"eq:{LOOKUP_VOLUME}"):
        await sim.volume("ibox-1", LOOKUP_VOLUME)
        await sim.cg("ibox-1", LOOKUP_CG, [])
    return {}
