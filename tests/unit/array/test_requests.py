"""Replica creation bodies, exactly as infinisdk sends them (infinibox-api.md §5.7.1)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from pydantic import ValidationError

from replica_operator.array import CreateReplicaRequest, EntityType, ReplicationType, SnapshotBase

LINK = 1004


def test_create_target_in_a_pool() -> None:
    request = CreateReplicaRequest.create_target(
        link_id=LINK,
        entity_type=EntityType.VOLUME,
        local_entity_id=1005,
        remote_pool_id=5555,
        rpo=timedelta(seconds=30),
        sync_interval=timedelta(seconds=10),
        description="owner=a",
    )
    assert request.to_body() == {
        "link_id": LINK,
        "entity_type": "VOLUME",
        "entity_pairs": [{"local_entity_id": 1005, "remote_entity_id": None, "remote_base_action": "CREATE"}],
        "replication_type": "ASYNC",
        "remote_pool_id": 5555,
        "rpo_value": 30000,
        "sync_interval": 10000,
        "description": "owner=a",
    }


def test_create_a_sync_target_with_a_name() -> None:
    request = CreateReplicaRequest.create_target(
        link_id=LINK,
        entity_type=EntityType.VOLUME,
        local_entity_id=1005,
        remote_pool_id=5555,
        remote_entity_name="db-copy",
        replication_type=ReplicationType.SYNC,
    )
    body = request.to_body()
    assert body["replication_type"] == "SYNC"
    assert body["entity_pairs"][0]["remote_entity_name"] == "db-copy"
    assert "rpo_value" not in body
    assert "sync_interval" not in body


def test_existing_target() -> None:
    request = CreateReplicaRequest.existing_target(
        link_id=LINK, entity_type=EntityType.FILESYSTEM, local_entity_id=1001, remote_entity_id=6666
    )
    assert request.to_body() == {
        "link_id": LINK,
        "entity_type": "FILESYSTEM",
        "entity_pairs": [
            {"local_entity_id": 1001, "remote_entity_id": 6666, "remote_base_action": "NO_BASE_DATA"}
        ],
        "replication_type": "ASYNC",
        "rpo_value": 300_000,  # the documented defaults, said on every ASYNC create
        "sync_interval": 240_000,
    }


def test_from_base_snapshots() -> None:
    base = SnapshotBase(local_entity_id=1, remote_entity_id=2, local_snapshot_id=11, remote_snapshot_id=22)
    request = CreateReplicaRequest.from_base_snapshots(link_id=LINK, entity_type=EntityType.VOLUME, base=base)
    assert request.to_body()["entity_pairs"] == [
        {
            "local_entity_id": 1,
            "remote_entity_id": 2,
            "remote_base_action": "BASE",
            "local_base_action": "BASE",
            "local_base_entity_id": 11,
            "remote_base_entity_id": 22,
        }
    ]


def test_take_snapshot() -> None:
    request = CreateReplicaRequest.take_snapshot(
        link_id=LINK,
        entity_type=EntityType.VOLUME,
        local_entity_id=1,
        remote_entity_id=2,
        rpo=timedelta(minutes=1),
    )
    body = request.to_body()
    assert body["entity_pairs"] == [
        {
            "local_entity_id": 1,
            "remote_entity_id": 2,
            "remote_base_action": "TAKE_SNAP",
            "local_base_action": "TAKE_SNAP",
        }
    ]
    assert body["rpo_value"] == 60000


def test_consistency_group_created_in_a_pool() -> None:
    request = CreateReplicaRequest.cg_create_target(
        link_id=LINK,
        local_cg_id=1002,
        member_ids=[1001, 1003],
        remote_pool_id=5555,
        remote_names={1003: "m2-copy"},
        replication_type=ReplicationType.SYNC,
    )
    assert request.to_body() == {
        "link_id": LINK,
        "entity_type": "CONSISTENCY_GROUP",
        "entity_pairs": [
            {"local_entity_id": 1001, "remote_entity_id": None, "remote_base_action": "CREATE"},
            {
                "local_entity_id": 1003,
                "remote_entity_id": None,
                "remote_base_action": "CREATE",
                "remote_entity_name": "m2-copy",
            },
        ],
        "replication_type": "SYNC",
        "remote_pool_id": 5555,
        "local_cg_id": 1002,
    }


def test_consistency_group_onto_an_existing_remote_group() -> None:
    request = CreateReplicaRequest.cg_existing_target(
        link_id=LINK, local_cg_id=1002, remote_cg_id=7777, member_mappings={1001: 6666}
    )
    assert request.to_body() == {
        "link_id": LINK,
        "entity_type": "CONSISTENCY_GROUP",
        "entity_pairs": [
            {"local_entity_id": 1001, "remote_entity_id": 6666, "remote_base_action": "NO_BASE_DATA"}
        ],
        "replication_type": "ASYNC",
        "local_cg_id": 1002,
        "remote_cg_id": 7777,
        "rpo_value": 300_000,
        "sync_interval": 240_000,
    }


def test_consistency_group_from_base_snapshots() -> None:
    members = [
        SnapshotBase(local_entity_id=1, remote_entity_id=2, local_snapshot_id=11, remote_snapshot_id=22),
        SnapshotBase(local_entity_id=3, remote_entity_id=4, local_snapshot_id=33, remote_snapshot_id=44),
    ]
    body = CreateReplicaRequest.cg_from_base_snapshots(
        link_id=LINK, local_cg_id=10, remote_cg_id=20, members=members, sync_interval=timedelta(0)
    ).to_body()
    assert [(p["local_base_entity_id"], p["remote_base_entity_id"]) for p in body["entity_pairs"]] == [
        (11, 22),
        (33, 44),
    ]
    assert {p["remote_base_action"] for p in body["entity_pairs"]} == {"BASE"}
    assert (body["local_cg_id"], body["remote_cg_id"], body["sync_interval"]) == (10, 20, 0)


def test_intervals_are_sent_in_whole_milliseconds() -> None:
    request = CreateReplicaRequest.existing_target(
        link_id=LINK,
        entity_type=EntityType.VOLUME,
        local_entity_id=1,
        remote_entity_id=2,
        rpo=timedelta(seconds=4, microseconds=400),
    )
    assert request.to_body()["rpo_value"] == 4000


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: CreateReplicaRequest.create_target(
                link_id=LINK,
                entity_type=EntityType.VOLUME,
                local_entity_id=1,
                remote_pool_id=2,
                replication_type=ReplicationType.SYNC,
                rpo=timedelta(minutes=1),
            ),
            "ASYNC replicas only",
        ),
        (
            lambda: CreateReplicaRequest.existing_target(
                link_id=LINK,
                entity_type=EntityType.VOLUME,
                local_entity_id=1,
                remote_entity_id=2,
                sync_interval=timedelta(seconds=-1),
            ),
            "cannot be negative",
        ),
        (
            lambda: CreateReplicaRequest.model_validate(
                {"link_id": LINK, "entity_type": "CONSISTENCY_GROUP", "entity_pairs": [], "local_cg_id": 1}
            ),
            "remote_cg_id or remote_pool_id",
        ),
        (
            lambda: CreateReplicaRequest.model_validate(
                {"link_id": LINK, "entity_type": "VOLUME", "entity_pairs": []}
            ),
            "exactly one entity pair",
        ),
        (
            lambda: CreateReplicaRequest.model_validate(
                {
                    "link_id": LINK,
                    "entity_type": "VOLUME",
                    "entity_pairs": [{"local_entity_id": 1, "remote_base_action": "CREATE"}],
                }
            ),
            "needs remote_pool_id",
        ),
        (
            lambda: CreateReplicaRequest.model_validate(
                {
                    "link_id": LINK,
                    "entity_type": "VOLUME",
                    "entity_pairs": [{"local_entity_id": 1, "remote_base_action": "NO_BASE_DATA"}],
                }
            ),
            "needs remote_entity_id",
        ),
        (
            lambda: CreateReplicaRequest.model_validate(
                {"link_id": LINK, "entity_type": "CONSISTENCY_GROUP", "entity_pairs": [], "remote_pool_id": 3}
            ),
            "needs local_cg_id",
        ),
    ],
)
def test_what_the_array_would_refuse_is_refused_early(build: Callable[[], object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        build()


@pytest.mark.parametrize(
    ("rpo", "interval", "sent"),
    [
        (None, None, (300_000, 240_000)),
        (timedelta(minutes=2), None, (120_000, 120_000)),  # the default interval would exceed the RPO
        (timedelta(minutes=10), None, (600_000, 240_000)),
        (None, timedelta(minutes=1), (300_000, 60_000)),
        (None, timedelta(minutes=8), (480_000, 480_000)),  # the default RPO would be below the interval
        (timedelta(minutes=3), timedelta(minutes=1), (180_000, 60_000)),
    ],
)
def test_async_creates_always_say_rpo_and_interval(
    rpo: timedelta | None, interval: timedelta | None, sent: tuple[int, int]
) -> None:
    body = CreateReplicaRequest.create_target(
        link_id=LINK,
        entity_type=EntityType.VOLUME,
        local_entity_id=1005,
        remote_pool_id=5555,
        rpo=rpo,
        sync_interval=interval,
    ).to_body()
    assert (body["rpo_value"], body["sync_interval"]) == sent
