"""Parsing what arrays answer: units, times, unknown values, and fields the operator ignores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from replica_operator.array import (
    ConsistencyGroup,
    EntityType,
    Link,
    LinkState,
    Page,
    Replica,
    ReplicaState,
    ReplicationType,
    Role,
    SyncState,
    SystemInfo,
    Volume,
)

CREATED_MS = 1_764_072_000_123  # 2025-11-25T12:00:00.123Z


def replica_json(**overrides: Any) -> dict[str, Any]:
    """A replica as a 7.x array returns it (trimmed), plus fields the client does not know."""
    data: dict[str, Any] = {
        "id": 1000005,
        "description": "owner=ns/db",
        "created_at": CREATED_MS,
        "updated_at": CREATED_MS + 60_000,
        "link_id": 1000003,
        "entity_type": "VOLUME",
        "entity_pairs": [
            {
                "id": 1000006,
                "replica_id": 1000005,
                "local_entity_id": 1000004,
                "remote_entity_id": 2000005,
                "local_entity_name": "db",
                "remote_entity_name": "db",
                "local_base_action": None,
                "remote_base_action": "CREATE",
                "_local_reclaimed_snapshot_id": 1000042,
                "_consistent_guid": "abc",
            }
        ],
        "remote_replica_id": 2000004,
        "role": "SOURCE",
        "state": "ACTIVE",
        "state_reason": None,
        "state_description": None,
        "replication_type": "ASYNC",
        "sync_state": "SYNC_IN_PROGRESS",
        "progress": 42,
        "is_initial": False,
        "jobs": [
            {
                "id": 7,
                "state": "REPLICATING",
                "is_initial": False,
                "type": "SCHEDULED",
                "start_time": CREATED_MS,
            }
        ],
        "job_state": "REPLICATING",
        "last_synchronized": CREATED_MS + 30_000,
        "restore_point": CREATED_MS + 29_000,
        "rpo_value": 300_000,
        "sync_interval": 60_500,
        "rpo_state": "OK",
        "local_entity_id": 1000004,
        "remote_entity_id": 2000005,
        "local_entity_name": "db",
        "remote_entity_name": "db",
        "local_cg_id": None,
        "remote_cg_id": None,
        "remote_pool_id": 2000001,
        "_replica_configuration_version": 3,
        "throughput": 104857600,
        "brand_new_field": {"from": "a newer array"},
    }
    data.update(overrides)
    return data


def test_intervals_in_ms_become_timedeltas() -> None:
    replica = Replica.model_validate(replica_json())
    assert replica.rpo == timedelta(minutes=5)
    assert replica.sync_interval == timedelta(seconds=60, milliseconds=500)


def test_times_in_ms_become_aware_utc_datetimes() -> None:
    replica = Replica.model_validate(replica_json())
    assert replica.created_at == datetime(2025, 11, 25, 12, 0, 0, 123_000, tzinfo=UTC)
    assert replica.created_at.tzinfo is not None
    assert replica.updated_at == datetime(2025, 11, 25, 12, 1, 0, 123_000, tzinfo=UTC)
    assert replica.last_synchronized == datetime(2025, 11, 25, 12, 0, 30, 123_000, tzinfo=UTC)
    assert replica.restore_point == datetime(2025, 11, 25, 12, 0, 29, 123_000, tzinfo=UTC)
    assert replica.jobs[0].start_time == replica.created_at


def test_known_values_become_enum_members() -> None:
    replica = Replica.model_validate(replica_json())
    assert replica.role is Role.SOURCE
    assert replica.entity_type is EntityType.VOLUME
    assert replica.replication_type is ReplicationType.ASYNC
    assert replica.state is ReplicaState.ACTIVE
    assert replica.sync_state is SyncState.SYNC_IN_PROGRESS


def test_unknown_enum_values_from_a_newer_array_are_kept() -> None:
    replica = Replica.model_validate(
        replica_json(role="PRIMARY", replication_type="ASYNC_MULTI", state="DEGRADED", sync_state="PAUSED")
    )
    assert replica.role == "PRIMARY"
    assert isinstance(replica.role, Role)
    assert not replica.role.known
    assert Role.SOURCE.known
    assert replica.replication_type == "ASYNC_MULTI"
    assert replica.state == "DEGRADED"
    assert replica.sync_state == "PAUSED"
    assert "PRIMARY" not in list(Role)


def test_entity_pairs_and_ids() -> None:
    replica = Replica.model_validate(replica_json())
    (pair,) = replica.entity_pairs
    assert (pair.local_entity_id, pair.remote_entity_id) == (1000004, 2000005)
    assert (pair.local_entity_name, pair.remote_entity_name) == ("db", "db")
    assert pair.remote_base_action == "CREATE"
    assert pair.local_reclaimed_snapshot_id == 1000042
    assert replica.remote_replica_id == 2000004
    assert replica.link_id == 1000003
    assert replica.remote_pool_id == 2000001
    assert replica.description == "owner=ns/db"


def test_a_sync_target_has_no_interval_rpo_or_state() -> None:
    replica = Replica.model_validate(
        replica_json(role="TARGET", state=None, replication_type="SYNC", rpo_value=None, sync_interval=None)
    )
    assert replica.rpo is None
    assert replica.sync_interval is None
    assert replica.state is None
    assert replica.role is Role.TARGET


def test_a_minimal_replica_parses_with_defaults() -> None:
    replica = Replica.model_validate({"id": 1, "entity_type": "CONSISTENCY_GROUP"})
    assert replica.replication_type is ReplicationType.ASYNC
    assert replica.entity_pairs == ()
    assert replica.created_at is None


def test_system_info_reads_serial_number() -> None:
    system = SystemInfo.model_validate(
        {"name": "ibox-1", "serial_number": 10001, "version": "7.3.10.0", "model": "InfiniBox", "wwnn": "x"}
    )
    assert (system.name, system.serial, system.version, system.model) == (
        "ibox-1",
        10001,
        "7.3.10.0",
        "InfiniBox",
    )


def test_a_dataset_with_a_parent_is_a_snapshot() -> None:
    master = Volume.model_validate({"id": 1, "name": "v", "parent_id": 0, "rmr_source": True})
    snapshot = Volume.model_validate({"id": 2, "name": "v-snap", "parent_id": 1})
    assert master.parent_id is None
    assert not master.is_snapshot
    assert master.is_replicated
    assert snapshot.is_snapshot
    assert not snapshot.is_replicated
    assert ConsistencyGroup.model_validate({"id": 3, "name": "cg", "parent_id": None}).parent_id is None


def test_link_state() -> None:
    link = Link.model_validate(
        {
            "id": 1,
            "name": "to-ibox-2",
            "link_state": "UP",
            "remote_system_serial_number": 10002,
            "remote_link_id": 9,
        }
    )
    assert link.is_up
    assert link.link_state is LinkState.UP
    assert not Link.model_validate({"id": 1, "name": "x", "link_state": "CONNECTED_DEGRADED"}).is_up


def test_page_knows_whether_more_follow() -> None:
    assert Page(items=[1], page=1, page_size=1, pages_total=2, number_of_objects=2).has_next
    assert not Page(items=[1, 2], page=1, page_size=2, pages_total=1, number_of_objects=2).has_next
