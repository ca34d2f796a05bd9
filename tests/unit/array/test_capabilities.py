"""Versions and features read as infinisdk's ``compat`` reads them (``infinibox/compatibility.py``)."""

from __future__ import annotations

import pytest

from replica_operator.array import ArrayVersion, Capabilities, EntityType, ReplicationType, SystemInfo
from replica_operator.array.capabilities import features_from
from tests.unit.array.fake import FakeArray, client_for, failure, ok


def capabilities(version: str, *features: dict[str, object]) -> Capabilities:
    system = SystemInfo(name="ibox", serial=1, version=version)
    return Capabilities(system=system, features=features_from(list(features)))


@pytest.mark.parametrize(
    ("older", "newer"),
    [
        ("3.9", "4.0"),
        ("4.0.30", "4.0.30.1"),
        ("8.4.0-dev12", "8.4.0"),
        ("7.3.10.0", "8.4"),
        ("8.3.99", "8.4"),
    ],
)
def test_versions_compare_as_the_sdk_compares_them(older: str, newer: str) -> None:
    assert ArrayVersion.parse(older) < ArrayVersion.parse(newer)


def test_padded_versions_are_equal_and_keep_their_text() -> None:
    assert ArrayVersion.parse("8.4") == ArrayVersion.parse("8.4.0.0")
    assert str(ArrayVersion.parse("7.3.10.0")) == "7.3.10.0"


def test_sync_replication_from_4_0() -> None:
    assert not capabilities("3.0.5").has_sync_replication
    assert capabilities("4.0.0").has_sync_replication
    assert capabilities("3.0").has_sync_job_states
    assert not capabilities("2.2").has_sync_job_states


def test_features_count_only_when_enabled() -> None:
    caps = capabilities(
        "7.3.10.0",
        {"name": "replica_auto_create", "version": 0},
        {"name": "filesystem_replicas", "version": 1, "enabled": False},
        {"name": "active_active", "version": 4},
        {"version": 3},  # malformed: left out
    )
    assert caps.has_replica_auto_create
    assert not caps.has_nas_replication
    assert caps.has_active_active
    assert caps.feature_version("active_active") == 4
    assert caps.enabled_features == ("active_active", "replica_auto_create")


def test_multi_target_by_feature_or_from_8_4() -> None:
    assert not capabilities("8.3.9").has_multi_target_async_replication
    assert capabilities("8.4.0").has_multi_target_async_replication
    assert capabilities(
        "7.3", {"name": "multi_target_async_replication", "version": 0}
    ).has_multi_target_async_replication
    disabled = {"name": "multi_target_async_replication", "version": 0, "enabled": False}
    assert not capabilities("7.3", disabled).has_multi_target_async_replication


async def test_read_at_connect_with_one_call_each_and_kept() -> None:
    fake = FakeArray()
    fake.always("GET", "/api/rest/_features", ok([{"name": "replica_auto_create", "version": 0}]))
    fake.always("GET", "/api/rest/system", ok({"name": "ibox-1", "serial_number": 7, "version": "8.6.0"}))
    async with client_for(fake) as client:
        assert client.capabilities is None
        read = await client.read_capabilities()
        assert client.capabilities is read
    assert str(read.version) == "8.6.0"
    assert read.has_replica_auto_create
    assert read.has_sync_replication
    assert [r.url.path for r in fake.requests[1:]] == ["/api/rest/_features", "/api/rest/system"]


async def test_an_array_without_a_feature_list_has_no_features() -> None:
    fake = FakeArray()
    fake.always("GET", "/api/rest/_features", failure(404, "ROUTE_NOT_FOUND"))
    fake.always("GET", "/api/rest/system", ok({"name": "old", "serial_number": 7, "version": "3.0.1"}))
    async with client_for(fake) as client:
        read = await client.read_capabilities()
    assert read.features == {}
    assert not read.has_sync_replication


def test_what_an_array_lacks_is_said_before_asking_it() -> None:
    old = capabilities("3.2.1")
    assert "4.0" in (old.missing_for(ReplicationType.SYNC, EntityType.VOLUME) or "")
    assert old.missing_for(ReplicationType.ASYNC, EntityType.VOLUME) is None
    assert "filesystem_replicas" in (old.missing_for(ReplicationType.ASYNC, EntityType.FILESYSTEM) or "")
    assert "active_active" in (
        capabilities("8.4").missing_for(ReplicationType.ACTIVE_ACTIVE, EntityType.VOLUME) or ""
    )
    nas = capabilities("8.4", {"name": "filesystem_replicas", "version": 1})
    assert nas.missing_for(ReplicationType.ASYNC, EntityType.FILESYSTEM) is None
    assert "ASYNC only" in (nas.missing_for(ReplicationType.SYNC, EntityType.FILESYSTEM) or "")
