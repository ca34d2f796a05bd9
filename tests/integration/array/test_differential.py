"""The operator's client and infinisdk 289.1.4 put the same requests on the wire, operation by operation.

Each scenario builds two sets of objects on the simulator (one per client), runs the
operation once through infinisdk and once through :class:`InfiniBoxClient`, both through a
recording proxy on loopback, and compares the requests (see :mod:`.differential`). A
difference kept on purpose is listed on its scenario with the reason; the test checks that
it is still real (without it the requests differ) and that it is the only difference.
``deletionPolicy: Orphan`` sends nothing from either side, so it has no scenario.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from infinisdk import InfiniBox

from replica_operator.array import (
    CreateReplicaRequest,
    DeleteOptions,
    EntityType,
    InfiniBoxClient,
    ReplicationType,
    SnapshotBase,
)
from tests.integration.array.conftest import ClientFactory, Topology
from tests.integration.array.differential import Intended, add_body, add_query, changes, shapes
from tests.integration.array.proxy import RecordingProxy, Wire
from tests.integration.array.scenes import (
    INTERVAL,
    LOOKUP_CG,
    LOOKUP_LINK,
    LOOKUP_POOL,
    LOOKUP_VOLUME,
    RPO,
    SDK_TIMES,
    Sdk,
    Subject,
    cg_replica,
    groups,
    named_objects,
    replica_setup,
    sdk_cg_existing,
    sdk_create_target,
    sdk_link,
    sdk_replica,
    sdk_volume,
    snapshots,
    target_replica,
    volumes,
)
from tests.integration.array.sim import PASSWORD, USERNAME, Sim


@dataclass(frozen=True)
class Scenario:
    name: str
    setup: Callable[[Sim, Topology], Awaitable[Subject]]
    sdk: Callable[[Sdk, Subject, Topology], object]
    ours: Callable[[InfiniBoxClient, Subject, Topology], Awaitable[object]]
    intended: tuple[Intended, ...] = ()
    compared: Callable[[Wire], bool] | None = None


# -- ours


def times(**extra: Any) -> dict[str, Any]:
    return {"rpo": RPO, "sync_interval": INTERVAL, **extra}


def volume_request(subject: Subject, topology: Topology, **options: Any) -> CreateReplicaRequest:
    return CreateReplicaRequest.create_target(
        link_id=topology.link_id,
        entity_type=EntityType.VOLUME,
        local_entity_id=subject["volume"],
        remote_pool_id=topology.remote_pool_id,
        **options,
    )


FLAGS_FALSE = (
    ("force_if_remote_error", "false"),
    ("force_on_target", "false"),
    ("force_if_no_remote_credentials", "false"),
    ("retain_staging_area", "false"),
)
SDK_DELETE_FLAGS = {
    "retain_staging_area": False,
    "force_if_remote_error": False,
    "force_if_no_remote_credentials": False,
}


def replica_list(wire: Wire) -> bool:
    return wire.method == "GET" and wire.path == "/api/rest/replicas"


def by_name(wire: Wire) -> bool:
    return wire.method == "GET" and any(key == "name" for key, _ in wire.query)


LOOKUPS = [
    Scenario(
        f"look-up of a {kind} by name",
        named_objects,
        lambda sdk, s, t, collection=collection, name=name: getattr(sdk.local, collection).get(name=name),
        lambda o, s, t, method=method, name=name: getattr(o, method)(name),
        compared=by_name,
    )
    for kind, collection, method, name in (
        ("volume", "volumes", "find_volume", LOOKUP_VOLUME),
        ("pool", "pools", "find_pool", LOOKUP_POOL),
        ("link", "links", "find_link", LOOKUP_LINK),
        ("consistency group", "cons_groups", "find_consistency_group", LOOKUP_CG),
    )
]


SCENARIOS = [
    Scenario(
        "create target, documented defaults",
        volumes,
        lambda sdk, s, t: sdk_create_target(sdk, s, t),
        lambda ours, s, t: ours.create_replica(volume_request(s, t)),
        intended=(
            Intended(
                "ASYNC creates say rpo_value and sync_interval (300000 / 240000 ms, the CSI driver's "
                "defaults) instead of leaving them to the array",
                add_body(rpo_value=300_000, sync_interval=240_000),
            ),
            Intended(
                "every create says its replication_type (ASYNC, the array's default)",
                add_body(replication_type="ASYNC"),
            ),
        ),
    ),
    Scenario(
        "create target, rpo and interval",
        volumes,
        lambda sdk, s, t: sdk_create_target(sdk, s, t, **SDK_TIMES),
        lambda ours, s, t: ours.create_replica(volume_request(s, t, **times())),
    ),
    Scenario(
        "existing target",
        volumes,
        lambda sdk, s, t: sdk.local.replicas.replicate_entity_existing_target(
            sdk_volume(sdk, s),
            link=sdk_link(sdk, t),
            remote_entity=sdk_volume(sdk, s, "remote", remote=True),
            **SDK_TIMES,
        ),
        lambda ours, s, t: ours.create_replica(
            CreateReplicaRequest.existing_target(
                link_id=t.link_id,
                entity_type=EntityType.VOLUME,
                local_entity_id=s["volume"],
                remote_entity_id=s["remote"],
                **times(),
            )
        ),
    ),
    Scenario(
        "base snapshots",
        snapshots,
        lambda sdk, s, t: sdk.local.replicas.replicate_entity_use_base(
            sdk_volume(sdk, s),
            link=sdk_link(sdk, t),
            local_snapshot=sdk_volume(sdk, s, "local_snap"),
            remote_snapshot=sdk_volume(sdk, s, "remote_snap", remote=True),
            **SDK_TIMES,
        ),
        lambda ours, s, t: ours.create_replica(
            CreateReplicaRequest.from_base_snapshots(
                link_id=t.link_id,
                entity_type=EntityType.VOLUME,
                base=SnapshotBase(
                    local_entity_id=s["volume"],
                    remote_entity_id=s["remote"],
                    local_snapshot_id=s["local_snap"],
                    remote_snapshot_id=s["remote_snap"],
                ),
                **times(),
            )
        ),
    ),
    Scenario(
        "take snapshot",
        volumes,
        lambda sdk, s, t: sdk.local.replicas.replicate_entity_take_snap(
            sdk_volume(sdk, s),
            link=sdk_link(sdk, t),
            remote_entity=sdk_volume(sdk, s, "remote", remote=True),
            **SDK_TIMES,
        ),
        lambda ours, s, t: ours.create_replica(
            CreateReplicaRequest.take_snapshot(
                link_id=t.link_id,
                entity_type=EntityType.VOLUME,
                local_entity_id=s["volume"],
                remote_entity_id=s["remote"],
                **times(),
            )
        ),
    ),
    Scenario(
        "consistency group, create target",
        groups,
        lambda sdk, s, t: sdk.local.replicas.replicate_cons_group(
            sdk.local.cons_groups.get_by_id_lazy(s["cg"]),
            link=sdk_link(sdk, t),
            remote_pool=sdk.peer.pools.get_by_id_lazy(t.remote_pool_id),
            **SDK_TIMES,
        ),
        lambda ours, s, t: ours.create_replica(
            CreateReplicaRequest.cg_create_target(
                link_id=t.link_id,
                local_cg_id=s["cg"],
                member_ids=[s["m1"], s["m2"]],
                remote_pool_id=t.remote_pool_id,
                **times(),
            )
        ),
    ),
    Scenario(
        "consistency group, existing target",
        groups,
        sdk_cg_existing,
        lambda ours, s, t: ours.create_replica(
            CreateReplicaRequest.cg_existing_target(
                link_id=t.link_id,
                local_cg_id=s["cg"],
                remote_cg_id=s["remote_cg"],
                member_mappings={s["m1"]: s["r1"], s["m2"]: s["r2"]},
                **times(),
            )
        ),
    ),
    Scenario(
        "type change to SYNC",
        replica_setup(),
        lambda sdk, s, t: sdk_replica(sdk, s).change_type_to_sync(),
        lambda ours, s, t: ours.change_type(s["replica"], ReplicationType.SYNC),
    ),
    Scenario(
        "type change to ASYNC with rpo and interval",
        replica_setup("SYNC"),
        lambda sdk, s, t: sdk_replica(sdk, s).change_type_to_async(
            params={"rpo_value": 90_000, "sync_interval": 30_000}
        ),
        lambda ours, s, t: ours.change_type(s["replica"], ReplicationType.ASYNC, **times()),
    ),
    Scenario(
        "rpo update",
        replica_setup(),
        lambda sdk, s, t: sdk_replica(sdk, s).update_rpo(timedelta(seconds=600)),
        lambda ours, s, t: ours.update_replica(s["replica"], rpo=timedelta(seconds=600)),
    ),
    Scenario(
        "interval update",
        replica_setup(),
        lambda sdk, s, t: sdk_replica(sdk, s).update_sync_interval(timedelta(seconds=120)),
        lambda ours, s, t: ours.update_replica(s["replica"], sync_interval=timedelta(seconds=120)),
    ),
    Scenario(
        "suspend",
        replica_setup(),
        lambda sdk, s, t: sdk_replica(sdk, s).suspend(),
        lambda o, s, t: o.suspend(s["replica"]),
    ),
    Scenario(
        "resume",
        replica_setup(suspended=True),
        lambda sdk, s, t: sdk_replica(sdk, s).resume(),
        lambda o, s, t: o.resume(s["replica"]),
    ),
    Scenario(
        "sync now",
        replica_setup(),
        lambda sdk, s, t: sdk_replica(sdk, s).sync(),
        lambda o, s, t: o.sync_now(s["replica"]),
    ),
    Scenario(
        "switch role",
        replica_setup("SYNC"),
        lambda sdk, s, t: sdk_replica(sdk, s).switch_role(),
        lambda o, s, t: o.switch_role(s["replica"]),
    ),
    Scenario(
        "change role",
        replica_setup(suspended=True),
        lambda sdk, s, t: sdk_replica(sdk, s).change_role(),
        lambda o, s, t: o.change_role(s["replica"]),
    ),
    Scenario(
        "delete, deletionPolicy Delete, on the SOURCE",
        replica_setup(),
        lambda sdk, s, t: sdk_replica(sdk, s).delete(force_on_target=False, **SDK_DELETE_FLAGS),
        lambda o, s, t: o.delete_replica(s["replica"], options=DeleteOptions.for_delete_policy()),
    ),
    Scenario(
        "delete, deletionPolicy Delete, against the SDK's defaults",
        replica_setup(),
        lambda sdk, s, t: sdk_replica(sdk, s).delete(),
        lambda o, s, t: o.delete_replica(s["replica"], options=DeleteOptions.for_delete_policy()),
        intended=(
            Intended(
                "every delete flag is said: the SDK sends none and, with replica_auto_create, "
                "leaves the staging area to the array's default (snapshots may stay behind)",
                add_query(*FLAGS_FALSE),
            ),
        ),
    ),
    Scenario(
        "delete, deletionPolicy Delete, on the TARGET",
        target_replica,
        lambda sdk, s, t: sdk_replica(sdk, s).delete(force_on_target=True, **SDK_DELETE_FLAGS),
        lambda o, s, t: o.delete_replica(
            s["replica"], options=DeleteOptions.for_delete_policy(on_target=True)
        ),
    ),
    Scenario(
        "a consistency group's replicas, by local_cg_id",
        cg_replica,
        lambda sdk, s, t: list(sdk.local.cons_groups.get_by_id_lazy(s["cg"]).get_replicas()),
        lambda o, s, t: o.find_replicas(local_cg_id=s["cg"]),
        intended=(
            Intended(
                "pages of 1000 from the first request (as the CSI driver pages, and as the SDK asks for "
                "every page after its first); the SDK's first request takes the array's default of 50",
                add_query(("page", "1"), ("page_size", "1000")),
            ),
        ),
        compared=replica_list,
    ),
    *LOOKUPS,
]


@pytest.fixture
async def proxy(sim: Sim) -> AsyncIterator[RecordingProxy]:
    async with RecordingProxy(sim.url("ibox-1")) as recording:
        yield recording


@pytest.fixture
async def sdk(proxy: RecordingProxy, sim: Sim) -> Sdk:
    def connect(url: str) -> Any:
        address = httpx.URL(url)
        system = InfiniBox((address.host, address.port), auth=(USERNAME, PASSWORD))
        system.login()
        return system

    local, peer = await asyncio.gather(
        asyncio.to_thread(connect, proxy.url), asyncio.to_thread(connect, sim.url("ibox-2"))
    )
    return Sdk(local=local, peer=peer)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[scenario.name for scenario in SCENARIOS])
async def test_the_same_requests_as_infinisdk(
    scenario: Scenario,
    sim: Sim,
    topology: Topology,
    proxy: RecordingProxy,
    sdk: Sdk,
    make_client: ClientFactory,
) -> None:
    ours = make_client("ibox-1", url=proxy.url)
    theirs_subject = await scenario.setup(sim, topology)
    our_subject = await scenario.setup(sim, topology)
    proxy.take()
    await asyncio.to_thread(scenario.sdk, sdk, theirs_subject, topology)
    theirs = shapes(proxy.take(), scenario.compared or changes)
    await scenario.ours(ours, our_subject, topology)
    mine = shapes(proxy.take(), scenario.compared or changes)
    assert theirs, "the SDK's operation reached the wire"
    expected = theirs
    for difference in scenario.intended:
        expected = difference.adjust(expected)
    assert mine == expected
    if scenario.intended:
        assert mine != theirs, "an intended difference that no longer exists: remove it from the list"
