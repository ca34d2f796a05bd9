"""Replica creation through the REST dispatcher, in process (no sockets), on the manual clock."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.sim.arrays import GB, Arrays

#: Replica fields of infinibox-api.md §5.7.3 the simulator serves (the SDK's list, real-array extras).
REPLICA_FIELDS = frozenset(
    [
        "id",
        "description",
        "created_at",
        "updated_at",
        "link_id",
        "entity_pairs",
        "entity_type",
        "remote_pool_id",
        "remote_replica_id",
        "role",
        "progress",
        "jobs",
        "job_state",
        "pending_job_count",
        "throughput",
        "restore_point",
        "last_synchronized",
        "_consistent_guid",
        "state",
        "state_description",
        "state_reason",
        "is_initial",
        "sync_interval",
        "rpo_value",
        "rpo_state",
        "rpo_type",
        "remote_cg_id",
        "remote_cg_name",
        "local_cg_id",
        "local_cg_name",
        "local_pool_id",
        "local_pool_name",
        "remote_pool_name",
        "staging_area_allocated_size",
        "replication_type",
        "sync_state",
        "sync_duration",
        "async_mode",
        "latency",
        "domino",
        "_assigned_sync_remote_ips",
        "next_job_start_time",
        "next_restore_point",
        "permanent_failure_wait_interval",
        "temporary_failure_retry_interval",
        "temporary_failure_retry_count",
        "started_at",
        "is_preferred",
        "local_entity_id",
        "remote_entity_id",
        "local_entity_name",
        "remote_entity_name",
        "base_action",
        "concurrent_replica",
        "suspended_from_local",
        "including_snapshots",
        "snapshots_retention",
        "remote_snapshot_suffix",
        "lock_remote_snapshot_retention",
        "_local_reclaimed_sg_id",
        "_remote_reclaimed_sg_id",
    ]
)


def test_create_builds_both_sides(arrays: Arrays) -> None:
    volume = arrays.volume("data")
    replica = arrays.replicate(volume["id"], description="owner=abc", rpo_value=30_000, sync_interval=10_000)
    assert set(replica) >= REPLICA_FIELDS
    assert (replica["role"], replica["state"], replica["replication_type"]) == ("SOURCE", "ACTIVE", "ASYNC")
    assert (replica["rpo_value"], replica["sync_interval"], replica["description"]) == (
        30_000,
        10_000,
        "owner=abc",
    )
    assert (replica["sync_state"], replica["is_initial"], replica["job_state"]) == (
        "INITIALIZING",
        True,
        "INITIALIZING",
    )
    assert replica["local_entity_id"] == volume["id"]
    assert replica["local_pool_name"] == "pool-1"

    remote = arrays.replica(replica["remote_replica_id"], system="ibox-2")
    assert (remote["role"], remote["state"], remote["remote_replica_id"]) == ("TARGET", None, replica["id"])
    assert remote["link_id"] == arrays.ok("GET", "/links", system="ibox-2")[0]["id"]
    [pair], [remote_pair] = replica["entity_pairs"], remote["entity_pairs"]
    assert (remote_pair["local_entity_id"], remote_pair["remote_entity_id"]) == (
        pair["remote_entity_id"],
        volume["id"],
    )
    assert pair["remote_pair_id"] == remote_pair["id"]
    assert (pair["local_entity_name"], pair["remote_entity_name"]) == ("data", "data")

    target = arrays.ok("GET", f"/volumes/{pair['remote_entity_id']}", system="ibox-2")
    assert (target["rmr_target"], target["size"], target["pool_id"]) == (True, GB, arrays.remote_pool)
    assert target["replica_ids"] == [remote["id"]]
    source = arrays.ok("GET", f"/volumes/{volume['id']}")
    assert (source["rmr_source"], source["replica_ids"], source["replication_types"]) == (
        True,
        [replica["id"]],
        ["ASYNC"],
    )


def test_auto_create_body_style(arrays: Arrays) -> None:
    volume = arrays.volume("auto")
    body = {
        "link_id": arrays.link,
        "entity_type": "VOLUME",
        "local_entity_id": volume["id"],
        "base_action": "NEW",
        "remote_pool_id": arrays.remote_pool,
        "remote_entity_name": "auto-copy",
        "replication_type": "ASYNC",
    }
    replica = arrays.ok("POST", "/replicas", body)
    assert (replica["base_action"], replica["remote_entity_name"]) == ("NEW", "auto-copy")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"link_id": 999}, (404, "LINK_NOT_FOUND")),
        ({"remote_pool_id": 999}, (404, "POOL_NOT_FOUND")),
        ({"remote_pool_id": None}, (400, "MISSING_PARAMETER")),
        ({"entity_pairs": None}, (400, "MISSING_PARAMETER")),
        (
            {"entity_pairs": [{"local_entity_id": 999, "remote_base_action": "CREATE"}]},
            (404, "VOLUME_NOT_FOUND"),
        ),
        ({"entity_type": "FILESYSTEM"}, (404, "FILESYSTEM_NOT_FOUND")),
        ({"entity_type": "DISK"}, (400, "INVALID_VALUE")),
        ({"replication_type": "ACTIVE_ACTIVE"}, (400, "INVALID_VALUE")),
        ({"replication_type": "SYNC", "rpo_value": 10_000}, (400, "INVALID_PARAMETER")),
        ({"rpo_value": 10_000, "sync_interval": 20_000}, (400, "INVALID_VALUE")),
        ({"surprise": True}, (400, "UNKNOWN_PARAMETER")),
    ],
)
def test_create_refusals(arrays: Arrays, change: dict[str, Any], expected: tuple[int, str]) -> None:
    volume = arrays.volume("v")
    body = {
        "link_id": arrays.link,
        "entity_type": "VOLUME",
        "remote_pool_id": arrays.remote_pool,
        "entity_pairs": [
            {"local_entity_id": volume["id"], "remote_entity_id": None, "remote_base_action": "CREATE"}
        ],
        **change,
    }
    body = {k: v for k, v in body.items() if v is not None}
    assert arrays.error("POST", "/replicas", body) == expected
    assert arrays.ok("GET", "/replicas") == []  # nothing half-created
    assert arrays.ok("GET", "/volumes", system="ibox-2") == []


def test_conflicts(arrays: Arrays) -> None:
    volume = arrays.volume("v")
    arrays.replicate(volume["id"])
    assert arrays.error(
        "POST",
        "/replicas",
        {
            "link_id": arrays.link,
            "remote_pool_id": arrays.remote_pool,
            "entity_pairs": [{"local_entity_id": volume["id"], "remote_base_action": "CREATE"}],
        },
    ) == (409, "ENTITY_ALREADY_REPLICATED")
    arrays.volume("taken", system="ibox-2")
    assert arrays.error(
        "POST",
        "/replicas",
        {
            "link_id": arrays.link,
            "remote_pool_id": arrays.remote_pool,
            "entity_pairs": [
                {"local_entity_id": arrays.volume("taken")["id"], "remote_base_action": "CREATE"}
            ],
        },
    ) == (409, "NAME_ALREADY_EXISTS")
    snapshot = arrays.ok("POST", "/volumes", {"name": "snap", "parent_id": volume["id"]})
    assert arrays.error(
        "POST",
        "/replicas",
        {
            "link_id": arrays.link,
            "remote_pool_id": arrays.remote_pool,
            "entity_pairs": [{"local_entity_id": snapshot["id"], "remote_base_action": "CREATE"}],
        },
    ) == (400, "INVALID_VALUE")


def test_base_snapshot_checks(arrays: Arrays) -> None:
    local, remote = arrays.volume("l"), arrays.volume("r", system="ibox-2")
    local_snap = arrays.ok("POST", "/volumes", {"name": "ls", "parent_id": local["id"]})
    pair = {
        "local_base_action": "BASE",
        "remote_base_action": "BASE",
        "local_entity_id": local["id"],
        "remote_entity_id": remote["id"],
        "local_base_entity_id": local_snap["id"],
        "remote_base_entity_id": 999,
    }
    body = {"link_id": arrays.link, "entity_pairs": [pair]}
    assert arrays.error("POST", "/replicas", body) == (404, "SNAPSHOT_NOT_FOUND")
    other = arrays.volume("other", system="ibox-2")
    foreign = arrays.ok("POST", "/volumes", {"name": "os", "parent_id": other["id"]}, system="ibox-2")
    pair["remote_base_entity_id"] = foreign["id"]
    assert arrays.error("POST", "/replicas", body) == (400, "INVALID_VALUE")
    good = arrays.ok("POST", "/volumes", {"name": "rs", "parent_id": remote["id"]}, system="ibox-2")
    pair["remote_base_entity_id"] = good["id"]
    replica = arrays.ok("POST", "/replicas", body)
    assert replica["entity_pairs"][0]["remote_base_entity_id"] == good["id"]
    assert replica["remote_pool_id"] == arrays.remote_pool
