"""Tolerant parsing: one odd value spoils one field of one replica, never the page.

Payloads follow a real array's replica shape (Infinidat's CSI driver ``api/apiclient_replication.go``
``Replica``; infinibox-api.md §5.7.3), including the ``any``-typed fields that real arrays leave null.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from replica_operator.array import (
    ArrayError,
    NotFound,
    ParseIssue,
    Replica,
    ReplicaState,
    ReplicationType,
    SyncState,
    Volume,
)
from tests.unit.array.fake import FakeArray, client_for, failure, ok

REAL_REPLICA: dict[str, Any] = {
    "id": 1000005,
    "_version": 3,
    "description": "owner=ns/db",
    "remote_replica_id": 2000007,
    "role": "SOURCE",
    "entity_type": "VOLUME",
    "state": "ACTIVE",
    "state_description": None,
    "state_reason": None,
    "job_state": "REPLICATING",
    "jobs": [
        {
            "id": 11,
            "state": "REPLICATING",
            "is_initial": False,
            "type": "SYNC",
            "start_time": 1732000000000,
            "end_time": None,
        }
    ],
    "is_initial": False,
    "pending_job_count": 0,
    "next_job_start_time": None,
    "sync_interval": 240000,
    "rpo_type": "RPO",
    "rpo_value": 300000,
    "rpo_state": "OK",
    "local_entity_id": 1001,
    "remote_entity_id": 6666,
    "local_cg_id": 0,
    "remote_cg_id": 0,
    "remote_pool_id": 5555,
    "created_at": 1732000000000,
    "updated_at": 1732000100000,
    "entity_pairs": [
        {
            "id": 77,
            "remote_pair_id": 88,
            "local_entity_id": 1001,
            "remote_entity_id": 6666,
            "local_entity": {"id": 1001, "name": "db", "dataset_type": "VOLUME", "replica_ids": [None]},
            "remote_base_action": "CREATE",
            "local_base_action": "NO_BASE_DATA",
            "remote_base_entity_id": None,
            "local_base_entity_id": None,
            "_local_reclaimed_snapshot_id": None,
            "last_synchronized": None,
            "progress": 100,
        }
    ],
    "restore_point": None,
    "last_synchronized": 1732000090000,
    "_local_reclaimed_sg_id": None,
    "staging_area_allocated_size": None,
    "replication_type": "ASYNC",
    "domino": None,
    "sync_state": None,
    "async_mode": None,
    "is_preferred": None,
    "link_id": 3,
}


def with_fields(**fields: Any) -> dict[str, Any]:
    data = copy.deepcopy(REAL_REPLICA)
    data.update(fields)
    return data


def test_a_real_shaped_replica_reads_whole() -> None:
    replica = Replica.model_validate(REAL_REPLICA)
    assert replica.parse_problems == ()
    assert replica.rpo is not None
    assert replica.rpo.total_seconds() == 300
    assert replica.entity_pairs[0].remote_entity_id == 6666
    assert replica.state is ReplicaState.ACTIVE


@pytest.mark.parametrize("name", ["jobs", "entity_pairs", "replica_ids", "rmr_source"])
def test_nulls_read_as_empty(name: str) -> None:
    data = with_fields(**{name: None})
    replica = Replica.model_validate(data)
    assert replica.parse_problems == ()
    if name in Replica.model_fields:
        assert getattr(replica, name) == ()
    volume = Volume.model_validate({"id": 1, "name": "v", name: None})
    if name in Volume.model_fields:
        assert getattr(volume, name) in ((), False)


def test_unknown_values_are_kept_open() -> None:
    replica = Replica.model_validate(
        with_fields(
            replication_type="ACTIVE_ACTIVE", state="DEGRADED_FROM_THE_FUTURE", sync_state="NEW_STATE"
        )
    )
    assert replica.replication_type is ReplicationType.ACTIVE_ACTIVE
    assert replica.state == "DEGRADED_FROM_THE_FUTURE"
    assert not replica.state.known
    assert replica.sync_state == "NEW_STATE"
    assert replica.sync_state is not SyncState.SYNCHRONIZED
    assert replica.parse_problems == ()


def test_a_null_type_is_async_as_on_arrays_before_4_0() -> None:
    assert (
        Replica.model_validate(with_fields(replication_type=None)).replication_type is ReplicationType.ASYNC
    )


async def test_odd_values_are_named_on_their_item_and_the_page_goes_on() -> None:
    odd = with_fields(id=1000006, jobs="not-a-list", rpo_value="five minutes", state=7)
    no_id = with_fields(id=None)
    fake = FakeArray()
    fake.always(
        "GET",
        "/api/rest/replicas",
        ok([REAL_REPLICA, odd, no_id], page=1, page_size=1000, pages_total=1, number_of_objects=3),
    )
    issues: list[ParseIssue] = []
    async with client_for(fake, on_parse_issue=issues.append) as client:
        listing = await client.scan_replicas()
    assert [replica.id for replica in listing.items] == [1000005, 1000006]
    assert listing.skipped == 1
    spoiled = listing.items[1]
    assert spoiled.jobs == ()
    assert spoiled.rpo is None
    assert spoiled.state is None
    assert sorted(problem.split(":")[0] for problem in spoiled.parse_problems) == [
        "jobs",
        "rpo_value",
        "state",
    ]
    assert "'five minutes'" in " ".join(spoiled.parse_problems)
    assert [(issue.object_id, len(issue.problems)) for issue in issues] == [(1000006, 3), (None, 1)]
    assert all(issue.endpoint == "/api/rest/replicas" for issue in issues)


async def test_a_nested_odd_value_is_named_by_its_path() -> None:
    bad_job = with_fields(jobs=[{"id": 1, "state": "REPLICATING", "start_time": "yesterday"}])
    fake = FakeArray()
    fake.always("GET", "/api/rest/replicas/1000005", ok(bad_job))
    async with client_for(fake) as client:
        replica = await client.get_replica(1000005)
    assert replica.parse_problems == ("jobs[0].start_time: 'yesterday'",)


async def test_an_unknown_entity_type_stands_in_and_is_reported() -> None:
    fake = FakeArray()
    fake.always("GET", "/api/rest/replicas/5", ok(with_fields(id=5, entity_type=None)))
    async with client_for(fake) as client:
        replica = await client.get_replica(5)
    assert replica.entity_type == "UNKNOWN"
    assert replica.parse_problems == ("entity_type: None",)


async def test_get_replica_raises_not_found_only_on_404() -> None:
    fake = FakeArray()
    fake.queue("GET", "/api/rest/replicas/5", failure(404, "REPLICA_NOT_FOUND"), failure(409, "SOMETHING"))
    async with client_for(fake) as client:
        with pytest.raises(NotFound):
            await client.get_replica(5)
        with pytest.raises(ArrayError) as caught:
            await client.get_replica(5)
    assert not isinstance(caught.value, NotFound)
