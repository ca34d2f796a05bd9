"""Replica actions, deletion, CG replicas and rendering through the REST dispatcher, on the manual clock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ibox_sim import persistence
from ibox_sim.api import ApiRequest, RestApi
from ibox_sim.clock import ManualClock
from ibox_sim.simulator import Simulator
from tests.unit.sim.arrays import GB, Arrays


def test_type_change_waits_for_initialization(arrays: Arrays) -> None:
    replica = arrays.replicate(arrays.volume("v")["id"])
    status, body = arrays.action(replica["id"], "change_type_to_sync", {})
    assert (status, body["error"]["code"]) == (409, "REPLICA_IS_INITIALIZING")
    assert arrays.replica(replica["id"])["replication_type"] == "ASYNC"
    arrays.clock.advance(10)
    assert arrays.action(replica["id"], "change_type_to_sync", {})[0] == 200
    synced = arrays.replica(replica["id"])
    assert (synced["replication_type"], synced["rpo_value"], synced["sync_interval"]) == ("SYNC", None, None)
    assert arrays.replica(replica["remote_replica_id"], system="ibox-2")["replication_type"] == "SYNC"
    status, body = arrays.action(replica["id"], "change_type_to_sync", {})
    assert (status, body["error"]["code"]) == (409, "REPLICA_TYPE_MISMATCH")
    status, body = arrays.action(
        replica["id"], "change_type_to_async", {"rpo_value": 5_000, "sync_interval": 9_000}
    )
    assert (status, body["error"]["code"]) == (400, "INVALID_VALUE")
    assert (
        arrays.action(replica["id"], "change_type_to_async", {"rpo_value": 20_000, "sync_interval": 4_000})[0]
        == 200
    )
    back = arrays.replica(replica["id"])
    assert (back["replication_type"], back["rpo_value"], back["sync_interval"]) == ("ASYNC", 20_000, 4_000)


@pytest.mark.parametrize(
    ("action", "code"),
    [
        ("switch_role", "REPLICA_TYPE_MISMATCH"),
        ("resume", "REPLICA_NOT_SUSPENDED"),
        ("change_role", "REPLICA_NOT_SUSPENDED"),
        ("no_such_action", "ROUTE_NOT_FOUND"),
    ],
)
def test_actions_refused_in_the_wrong_state(arrays: Arrays, action: str, code: str) -> None:
    replica = arrays.replicate(arrays.volume("v")["id"])
    arrays.initialized(replica["id"])
    status, body = arrays.action(replica["id"], action)
    assert body["error"]["code"] == code
    assert status in (404, 409)


def test_sync_now_rules(arrays: Arrays) -> None:
    replica = arrays.replicate(arrays.volume("v")["id"])
    assert arrays.action(replica["id"], "sync")[1]["error"]["code"] == "REPLICA_IS_INITIALIZING"
    arrays.initialized(replica["id"])
    assert arrays.action(replica["id"], "sync")[0] == 200
    assert arrays.replica(replica["id"])["sync_state"] == "SYNC_IN_PROGRESS"
    sync_replica = arrays.replicate(arrays.volume("w")["id"], replication_type="SYNC")
    arrays.initialized(sync_replica["id"])
    assert arrays.action(sync_replica["id"], "sync")[1]["error"]["code"] == "REPLICA_TYPE_MISMATCH"


def test_update_replica(arrays: Arrays) -> None:
    replica = arrays.replicate(arrays.volume("v")["id"])
    updated = arrays.ok("PUT", f"/replicas/{replica['id']}", {"rpo_value": 600_000, "sync_interval": 120_000})
    assert (updated["rpo_value"], updated["sync_interval"]) == (600_000, 120_000)
    assert arrays.ok("PUT", f"/replicas/{replica['id']}", {"description": "mine"})["description"] == "mine"
    assert arrays.ok("GET", "/replicas", description="mine")[0]["id"] == replica["id"]
    assert arrays.error("PUT", f"/replicas/{replica['id']}", {"sync_interval": 700_000}) == (
        400,
        "INVALID_VALUE",
    )
    assert arrays.error("PUT", f"/replicas/{replica['id']}", {"role": "TARGET"}) == (400, "INVALID_PARAMETER")
    assert arrays.error("PUT", f"/replicas/{replica['id']}", {"colour": 1}) == (400, "UNKNOWN_PARAMETER")
    remote_id = replica["remote_replica_id"]
    assert arrays.error("PUT", f"/replicas/{remote_id}", {"rpo_value": 1}, system="ibox-2") == (
        409,
        "OPERATION_NOT_ALLOWED_ON_TARGET",
    )
    sync_replica = arrays.replicate(arrays.volume("w")["id"], replication_type="SYNC")
    assert arrays.error("PUT", f"/replicas/{sync_replica['id']}", {"rpo_value": 9000}) == (
        400,
        "INVALID_PARAMETER",
    )


def test_filters_the_operator_uses(arrays: Arrays) -> None:
    first = arrays.replicate(arrays.volume("a")["id"], description="uid-1")
    second = arrays.replicate(arrays.volume("b")["id"], replication_type="SYNC")
    assert [r["id"] for r in arrays.ok("GET", "/replicas", replication_type="eq:SYNC")] == [second["id"]]
    assert [r["id"] for r in arrays.ok("GET", "/replicas", local_entity_id=first["local_entity_id"])] == [
        first["id"]
    ]
    assert [r["id"] for r in arrays.ok("GET", "/replicas", link_id=f"eq:{arrays.link}", role="SOURCE")] == [
        first["id"],
        second["id"],
    ]
    assert arrays.ok("GET", "/replicas", description="like:uid")[0]["id"] == first["id"]
    assert arrays.ok("GET", "/replicas", state="eq:SUSPENDED") == []
    assert [r["role"] for r in arrays.ok("GET", "/replicas", system="ibox-2")] == ["TARGET", "TARGET"]


def test_a_short_link_outage_stalls_and_resumes_by_itself(arrays: Arrays) -> None:
    replica = arrays.replicate(arrays.volume("v")["id"])
    arrays.clock.advance(4)
    arrays.sim.set_link_state("ibox-1", "to-ibox-2", False)
    down = arrays.replica(replica["id"])
    assert (down["state"], down["state_reason"], down["progress"], down["job_state"]) == (
        "ACTIVE",
        "LINK_DOWN",
        40,
        "STALLED",
    )
    arrays.clock.advance(100)
    assert arrays.replica(replica["id"])["progress"] == 40  # no progress while down
    new_volume = arrays.volume("w")
    assert arrays.error(
        "POST",
        "/replicas",
        {
            "link_id": arrays.link,
            "remote_pool_id": arrays.remote_pool,
            "entity_pairs": [{"local_entity_id": new_volume["id"], "remote_base_action": "CREATE"}],
        },
    ) == (409, "LINK_DISCONNECTED")
    arrays.sim.set_link_state("ibox-2", str(arrays.ok("GET", "/links", system="ibox-2")[0]["id"]), True)
    arrays.clock.advance(6)
    assert arrays.replica(replica["id"])["state"] == "ACTIVE"
    assert arrays.replica(replica["id"])["sync_state"] == "SYNCHRONIZED"


def test_failover_with_change_role_and_back(arrays: Arrays) -> None:
    replica = arrays.replicate(arrays.volume("v")["id"])
    arrays.initialized(replica["id"])
    remote_id = replica["remote_replica_id"]
    assert (
        arrays.action(remote_id, "change_role", system="ibox-2")[1]["error"]["code"]
        == "REPLICA_NOT_SUSPENDED"
    )
    arrays.sim.set_link_state("ibox-1", "to-ibox-2", False)
    assert arrays.action(remote_id, "change_role", None, system="ibox-2")[0] == 200  # failover: both SOURCE
    promoted = arrays.replica(remote_id, system="ibox-2")
    assert (promoted["role"], promoted["state"], promoted["state_reason"]) == (
        "SOURCE",
        "ACTIVE",
        "LINK_DOWN",
    )
    arrays.sim.set_link_state("ibox-1", "to-ibox-2", True)
    conflict = arrays.replica(replica["id"])
    assert (conflict["state"], conflict["state_reason"]) == ("AUTO_SUSPENDED", "ROLE_CONFLICT")
    assert (
        arrays.action(replica["id"], "change_role", {"entity_pairs": []})[0] == 200
    )  # old source steps down
    assert arrays.replica(replica["id"])["role"] == "TARGET"
    reverse = arrays.replica(remote_id, system="ibox-2")
    assert (reverse["role"], reverse["state"]) == ("SOURCE", "ACTIVE")
    remote_volume = reverse["entity_pairs"][0]["local_entity_id"]
    assert arrays.ok("GET", f"/volumes/{remote_volume}", system="ibox-2")["rmr_source"] is True


def test_switch_role_swaps_both_sides(arrays: Arrays) -> None:
    replica = arrays.replicate(arrays.volume("v")["id"], replication_type="SYNC")
    arrays.initialized(replica["id"])
    status, body = arrays.action(replica["remote_replica_id"], "switch_role", system="ibox-2")
    assert (status, body["error"]["code"]) == (409, "REPLICA_NOT_SOURCE")
    assert arrays.action(replica["id"], "switch_role")[0] == 200
    assert arrays.replica(replica["id"])["role"] == "TARGET"
    assert arrays.replica(replica["remote_replica_id"], system="ibox-2")["role"] == "SOURCE"


def test_delete_rules(arrays: Arrays) -> None:
    replica = arrays.replicate(arrays.volume("v")["id"])
    remote_id = replica["remote_replica_id"]
    assert arrays.error("DELETE", f"/replicas/{remote_id}", system="ibox-2") == (
        409,
        "OPERATION_NOT_ALLOWED_ON_TARGET",
    )
    assert arrays.error("DELETE", f"/replicas/{replica['id']}", approved="false") == (
        403,
        "APPROVAL_REQUIRED",
    )
    assert arrays.error("DELETE", f"/replicas/{replica['id']}", sideways="true") == (400, "UNKNOWN_PARAMETER")
    arrays.sim.set_link_state("ibox-1", "to-ibox-2", False)
    assert arrays.error("DELETE", f"/replicas/{replica['id']}") == (409, "LINK_DISCONNECTED")
    deleted = arrays.ok("DELETE", f"/replicas/{replica['id']}", force_if_remote_error="true")
    assert deleted["id"] == replica["id"]
    assert arrays.ok("GET", "/replicas") == []
    orphan = arrays.replica(remote_id, system="ibox-2")  # the peer could not be told
    assert orphan["role"] == "TARGET"
    arrays.ok("DELETE", f"/replicas/{remote_id}", system="ibox-2", force_on_target="True")
    assert arrays.ok("GET", "/replicas", system="ibox-2") == []
    assert arrays.sim.world.sessions == {}


def test_delete_retaining_staging_area(arrays: Arrays) -> None:
    volume = arrays.volume("v")
    replica = arrays.replicate(volume["id"])
    result = arrays.ok("DELETE", f"/replicas/{replica['id']}", retain_staging_area="true")
    pair = result["entity_pairs"][0]
    local = arrays.ok("GET", f"/volumes/{pair['_local_reclaimed_snapshot_id']}")
    remote = arrays.ok("GET", f"/volumes/{pair['_remote_reclaimed_snapshot_id']}", system="ibox-2")
    assert (local["parent_id"], local["type"]) == (volume["id"], "SNAPSHOT")
    assert remote["parent_id"] == pair["remote_entity_id"]
    assert arrays.ok("GET", f"/volumes/{volume['id']}")["rmr_source"] is False


def _cg_with_members(arrays: Arrays, count: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    cg = arrays.ok("POST", "/cgs", {"name": "group", "pool_id": arrays.pool})
    members = [arrays.volume(f"m{n}") for n in range(count)]
    for member in members:
        arrays.ok("POST", f"/cgs/{cg['id']}/members", {"dataset_id": member["id"]})
    return cg, members


def test_consistency_group_replica(arrays: Arrays) -> None:
    cg, members = _cg_with_members(arrays, 2)
    pairs = [
        {"local_entity_id": m["id"], "remote_entity_id": None, "remote_base_action": "CREATE"}
        for m in members
    ]
    body = {
        "link_id": arrays.link,
        "entity_type": "CONSISTENCY_GROUP",
        "local_cg_id": cg["id"],
        "remote_pool_id": arrays.remote_pool,
        "entity_pairs": pairs[:1],
    }
    assert arrays.error("POST", "/replicas", body) == (400, "INVALID_VALUE")  # must cover every member
    body["entity_pairs"] = pairs
    replica = arrays.ok("POST", "/replicas", body)
    assert (replica["local_entity_id"], replica["local_cg_name"], replica["remote_cg_name"]) == (
        cg["id"],
        "group",
        "group",
    )
    assert arrays.ok("GET", "/replicas", local_cg_id=cg["id"])[0]["id"] == replica["id"]
    assert arrays.ok("GET", f"/cgs/{cg['id']}")["is_replicated"] is True
    assert arrays.error(
        "POST",
        "/replicas",
        {
            "link_id": arrays.link,
            "remote_pool_id": arrays.remote_pool,
            "entity_pairs": [{"local_entity_id": members[0]["id"], "remote_base_action": "CREATE"}],
        },
    ) == (409, "ENTITY_ALREADY_REPLICATED")

    arrays.ok("DELETE", f"/cgs/{cg['id']}/members/{members[0]['id']}")
    assert len(arrays.replica(replica["id"])["entity_pairs"]) == 1
    remote = arrays.replica(replica["remote_replica_id"], system="ibox-2")
    assert len(remote["entity_pairs"]) == 1
    assert arrays.ok("GET", f"/cgs/{remote['local_cg_id']}", system="ibox-2")["members_count"] == 1

    result = arrays.ok("DELETE", f"/replicas/{replica['id']}", retain_staging_area="true")
    sg = arrays.ok("GET", f"/cgs/{result['_local_reclaimed_sg_id']}")
    assert (sg["type"], sg["parent_id"], sg["members_count"]) == ("SNAPSHOT", cg["id"], 1)


def test_rendered_replicas_follow_changes_and_time(arrays: Arrays) -> None:
    replica = arrays.replicate(arrays.volume("v")["id"])
    assert arrays.replica(replica["id"])["progress"] == 0
    arrays.clock.advance(5)
    assert arrays.replica(replica["id"])["progress"] == 50
    arrays.ok("PUT", f"/replicas/{replica['id']}", {"description": "new"})
    assert arrays.replica(replica["id"])["description"] == "new"
    listed = arrays.ok("GET", "/replicas", fields="id,progress")
    assert listed == [{"id": replica["id"], "progress": 50}]
    with arrays.sim.lock:  # a direct model change, announced
        arrays.sim.world.systems["ibox-1"].replicas[replica["id"]].description = "direct"
        arrays.sim.changed()
    assert arrays.replica(replica["id"])["description"] == "direct"
    assert arrays.sim.cache.hits > 0


def test_state_file_round_trip(arrays: Arrays, tmp_path: Path) -> None:
    replica = arrays.replicate(arrays.volume("v")["id"], description="kept")
    arrays.clock.advance(3)
    path = tmp_path / "state.json"
    persistence.save(arrays.sim, path)
    clock = ManualClock(start=arrays.clock.now() - 100)  # a clock that is behind the save
    world = persistence.load(path, clock)
    assert world is not None
    assert clock.now() == arrays.clock.now()
    restored = Simulator(2, clock=clock, world=world)
    assert restored.world.model_dump() == arrays.sim.world.model_dump()
    again = RestApi(restored).handle(
        "ibox-1", ApiRequest("GET", f"/replicas/{replica['id']}"), authenticated=True
    )
    assert again.json()["result"] == arrays.replica(replica["id"])
    assert persistence.load(tmp_path / "missing.json", clock) is None


def test_objects_and_their_conflicts(arrays: Arrays) -> None:
    pool = arrays.ok("POST", "/pools", {"name": "p2"})
    assert arrays.error("POST", "/pools", {"name": "p2"}) == (409, "NAME_ALREADY_EXISTS")
    volume = arrays.ok("POST", "/volumes", {"name": "x", "size": GB, "pool_id": pool["id"]})
    assert arrays.error("DELETE", f"/pools/{pool['id']}") == (409, "POOL_NOT_EMPTY")
    cg = arrays.ok("POST", "/cgs", {"name": "c", "pool_id": arrays.pool})
    assert arrays.error("POST", f"/cgs/{cg['id']}/members", {"dataset_id": volume["id"]}) == (
        400,
        "INVALID_VALUE",
    )
    fs = arrays.ok("POST", "/filesystems", {"name": "fs", "size": GB, "pool_id": arrays.pool})
    assert fs["dataset_type"] == "FILESYSTEM"
    assert {d["name"] for d in arrays.ok("GET", "/datasets")} == {"x", "fs"}
    grown = arrays.ok("PUT", f"/volumes/{volume['id']}", {"size": 2 * GB})
    assert grown["size"] == 2 * GB
    arrays.ok("POST", "/volumes", {"name": "x-snap", "parent_id": volume["id"]})
    assert arrays.ok("GET", f"/volumes/{volume['id']}")["has_children"] is True
    arrays.ok("DELETE", f"/volumes/{volume['id']}")
    assert arrays.ok("GET", "/volumes", name="x-snap") == []  # snapshots go with their volume
    arrays.ok("DELETE", f"/pools/{pool['id']}")


def test_equality_filters_agree_with_rendered_fields(arrays: Arrays) -> None:
    """Equality filters on id, name, link and entity pick objects before rendering: same answers."""
    cg, members = _cg_with_members(arrays, 2)
    pairs = [
        {"local_entity_id": m["id"], "remote_entity_id": None, "remote_base_action": "CREATE"}
        for m in members
    ]
    cg_replica = arrays.ok(
        "POST",
        "/replicas",
        {
            "link_id": arrays.link,
            "entity_type": "CONSISTENCY_GROUP",
            "local_cg_id": cg["id"],
            "remote_pool_id": arrays.remote_pool,
            "entity_pairs": pairs,
        },
    )
    volume = arrays.volume("solo")
    replica = arrays.replicate(volume["id"])
    for found, expected in (
        (arrays.ok("GET", "/replicas", local_entity_id=str(cg["id"])), [cg_replica["id"]]),
        (arrays.ok("GET", "/replicas", local_entity_id=f"eq:{volume['id']}"), [replica["id"]]),
        (arrays.ok("GET", "/replicas", local_entity_id=str(members[0]["id"])), []),
        (arrays.ok("GET", "/replicas", id=str(replica["id"]), link_id=str(arrays.link)), [replica["id"]]),
        (arrays.ok("GET", "/volumes", name="solo"), [volume["id"]]),
        (arrays.ok("GET", "/volumes", name="eq:m1"), [members[1]["id"]]),
        (arrays.ok("GET", "/volumes", name="nothing"), []),
        (arrays.ok("GET", "/cgs", name="group"), [cg["id"]]),
    ):
        assert [item["id"] for item in found] == expected
    assert arrays.error("GET", "/replicas", local_entity_id="x") == (400, "INVALID_VALUE")
