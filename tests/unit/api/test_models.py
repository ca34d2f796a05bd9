"""The models read the CR form, fill in defaults in memory, and write the CR form back."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import kopf
import pytest
from pydantic import ValidationError

from replica_operator.api import (
    Action,
    ActionResult,
    ActionType,
    Condition,
    ConditionStatus,
    ConsistencyGroupReplicaSpec,
    ConsistencyGroupReplicaStatus,
    DeletionPolicy,
    DriftPolicy,
    InfiniBoxSpec,
    InfiniBoxStatus,
    ManagementPolicy,
    ReplicaSpec,
    ReplicaStatus,
    ReplicationType,
    TargetMode,
    format_timestamp,
)

FULL_REPLICA_SPEC: dict[str, Any] = {
    "source": {"array": "ibox-1", "volume": "db-vol-1"},
    "target": {
        "array": "ibox-2",
        "link": "to-ibox-2",
        "mode": "Create",
        "pool": "pool-1",
        "name": "db-vol-1-dr",
    },
    "replicationType": "ASYNC",
    "rpo": "5m",
    "syncInterval": "1m30s",
    "suspended": True,
    "autoResume": False,
    "deletionPolicy": "Orphan",
    "managementPolicy": "ObserveOnly",
    "driftPolicy": "Report",
    "action": {"id": "sync-1", "type": "SyncNow"},
}

FULL_REPLICA_STATUS: dict[str, Any] = {
    "observedGeneration": 3,
    "replicaId": 1001,
    "remoteReplicaId": 2002,
    "state": "ACTIVE",
    "syncState": "SYNC_IN_PROGRESS",
    "replicationType": "ASYNC",
    "rpo": "5m",
    "syncInterval": "1m",
    "role": "SOURCE",
    "currentSource": {"array": "ibox-1", "entity": "db-vol-1"},
    "currentTarget": {"array": "ibox-2", "entity": "db-vol-1-dr"},
    "progress": 42,
    "lastSynchronized": "2026-11-25T12:00:00Z",
    "lastObserved": "2026-11-25T12:00:05Z",
    "rpoState": "OK",
    "pendingReplicationType": "SYNC",
    "lastAction": {
        "id": "sync-1",
        "type": "SyncNow",
        "result": "Succeeded",
        "message": "sync job 7 finished",
        "startedAt": "2026-11-25T11:59:00Z",
        "completedAt": "2026-11-25T11:59:30Z",
    },
    "conditions": [
        {
            "type": "Ready",
            "status": "True",
            "observedGeneration": 3,
            "lastTransitionTime": "2026-11-25T11:00:00Z",
            "reason": "Healthy",
            "message": "",
        },
        {
            "type": "Synced",
            "status": "False",
            "observedGeneration": 3,
            "lastTransitionTime": "2026-11-25T11:30:00Z",
            "reason": "TypeChangeDeferred",
            "message": "replica is INITIALIZING; SYNC will be applied when it finishes",
        },
    ],
}


def test_replica_defaults_are_applied_in_memory() -> None:
    spec = ReplicaSpec.model_validate(
        {"source": {"array": "ibox-1", "volume": "v"}, "target": {"array": "ibox-2", "pool": "pool-1"}}
    )
    assert spec.replication_type is ReplicationType.ASYNC
    assert spec.target.mode is TargetMode.CREATE
    assert spec.suspended is False
    assert spec.deletion_policy is DeletionPolicy.DELETE
    assert spec.management_policy is ManagementPolicy.FULL
    assert spec.drift_policy is DriftPolicy.CORRECT
    assert (spec.rpo, spec.sync_interval, spec.action) == (None, None, None)


def test_infinibox_defaults_are_applied_in_memory() -> None:
    spec = InfiniBoxSpec.model_validate(
        {"url": "https://ibox", "credentialsSecretRef": {"name": "creds", "namespace": "ibox-system"}}
    )
    assert spec.poll_interval == timedelta(seconds=10)
    assert spec.request_timeout == timedelta(seconds=30)
    assert spec.max_concurrent_requests == 8
    assert spec.allowed_namespaces == []
    assert spec.tls.insecure_skip_verify is False
    assert spec.tls.ca_secret_ref is None
    with_ca = InfiniBoxSpec.model_validate(
        {
            "url": "https://ibox",
            "credentialsSecretRef": {"name": "creds", "namespace": "ibox-system"},
            "tls": {"caSecretRef": {"name": "ca", "namespace": "ibox-system"}},
        }
    )
    assert with_ca.tls.ca_secret_ref is not None
    assert with_ca.tls.ca_secret_ref.key == "ca.crt"


def test_replica_spec_round_trips_the_cr_form() -> None:
    spec = ReplicaSpec.model_validate(FULL_REPLICA_SPEC)
    assert spec.rpo == timedelta(minutes=5)
    assert spec.sync_interval == timedelta(seconds=90)
    assert spec.action == Action(id="sync-1", type=ActionType.SYNC_NOW)
    assert spec.model_dump(by_alias=True, exclude_none=True, mode="json") == FULL_REPLICA_SPEC
    assert spec.to_cr() == FULL_REPLICA_SPEC
    assert ReplicaSpec.model_validate(spec.to_cr()) == spec


def test_minimal_spec_round_trips_as_written_and_dumps_defaults_explicitly() -> None:
    minimal = {"source": {"array": "ibox-1", "filesystem": "fs"}, "target": {"array": "ibox-2", "pool": "p"}}
    spec = ReplicaSpec.model_validate(minimal)
    assert spec.model_dump(by_alias=True, mode="json", exclude_unset=True) == minimal
    dumped = spec.to_cr()
    assert dumped["replicationType"] == "ASYNC"
    assert dumped["target"]["mode"] == "Create"
    assert ReplicaSpec.model_validate(dumped) == spec


def test_consistency_group_spec_round_trips_the_cr_form() -> None:
    cr_spec = {
        "source": {"array": "ibox-1", "consistencyGroup": "app-cg-1"},
        "target": {
            "array": "ibox-2",
            "mode": "Existing",
            "name": "app-cg-1-dr",
            "memberMappings": [{"local": "v1", "remote": "v1-dr"}, {"local": "v2", "remote": "v2-dr"}],
        },
        "replicationType": "SYNC",
    }
    spec = ConsistencyGroupReplicaSpec.model_validate(cr_spec)
    assert spec.source.consistency_group == "app-cg-1"
    assert spec.target.member_mappings is not None
    assert spec.target.member_mappings[1].remote == "v2-dr"
    assert spec.model_dump(by_alias=True, mode="json", exclude_unset=True) == cr_spec


def test_specs_accept_python_names_too() -> None:
    spec = ReplicaSpec.model_validate(
        {
            "source": {"array": "ibox-1", "volume": "v"},
            "target": {"array": "ibox-2", "pool": "p"},
            "replication_type": "SYNC",
        }
    )
    assert spec.replication_type is ReplicationType.SYNC


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("target", "remotePool"), "p"),  # unknown field
        (("replicationType",), "async"),  # enums are case-sensitive, like the CRD
        (("rpo",), "5 minutes"),
        (("action", "id"), "-bad-"),
        (("source", "array"), "IBOX_1"),
        (("suspended",), "maybe"),
    ],
)
def test_spec_rejects_what_the_schema_rejects(path: tuple[str, ...], value: object) -> None:
    cr_spec = copy.deepcopy(FULL_REPLICA_SPEC)
    node = cr_spec
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ValidationError) as raised:
        ReplicaSpec.model_validate(cr_spec)
    assert raised.value.errors()[0]["loc"][: len(path)] == path


def test_infinibox_spec_rejects_bad_url_and_concurrency() -> None:
    base = {"url": "https://ibox", "credentialsSecretRef": {"name": "c", "namespace": "n"}}
    with pytest.raises(ValidationError, match="url"):
        InfiniBoxSpec.model_validate(base | {"url": "ftp://ibox"})
    with pytest.raises(ValidationError, match="maxConcurrentRequests"):
        InfiniBoxSpec.model_validate(base | {"maxConcurrentRequests": 65})


def test_replica_status_round_trips_the_cr_form() -> None:
    status = ReplicaStatus.model_validate(FULL_REPLICA_STATUS)
    assert status.last_synchronized == datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert status.rpo == timedelta(minutes=5)
    assert status.last_action is not None
    assert status.last_action.result is ActionResult.SUCCEEDED
    assert status.conditions[1].status is ConditionStatus.FALSE
    assert status.to_cr() == FULL_REPLICA_STATUS


def test_consistency_group_status_adds_members() -> None:
    cr_status = FULL_REPLICA_STATUS | {"members": [{"local": "v1", "remote": "v1-dr"}]}
    status = ConsistencyGroupReplicaStatus.model_validate(cr_status)
    assert status.members[0].remote == "v1-dr"
    assert status.to_cr() == cr_status


def test_status_built_in_python_serialises_as_kubernetes_writes_it() -> None:
    eastern = timezone(timedelta(hours=-5))
    status = InfiniBoxStatus(
        observed_generation=2,
        serial=12345,
        last_polled=datetime(2026, 11, 25, 7, 0, 1, 999_999, tzinfo=eastern),
        conditions=[
            Condition(
                type="Connected",
                status=ConditionStatus.TRUE,
                last_transition_time=datetime(2026, 11, 25, 12, 0, tzinfo=UTC),
                reason="LoggedIn",
                message="",
            )
        ],
    )
    assert status.to_cr() == {
        "observedGeneration": 2,
        "serial": 12345,
        "lastPolled": "2026-11-25T12:00:01Z",  # UTC, Z, whole seconds
        "conditions": [
            {
                "type": "Connected",
                "status": "True",
                "lastTransitionTime": "2026-11-25T12:00:00Z",
                "reason": "LoggedIn",
                "message": "",
            }
        ],
    }


def test_status_ignores_fields_it_does_not_know() -> None:
    status = ReplicaStatus.model_validate({"state": "ACTIVE", "fieldFromANewerOperator": 1})
    assert status.to_cr() == {"state": "ACTIVE", "conditions": []}


def test_timestamps_must_carry_a_time_zone() -> None:
    with pytest.raises(ValidationError):
        ReplicaStatus.model_validate({"lastObserved": "2026-11-25T12:00:00"})
    with pytest.raises(ValueError, match="time zone"):
        format_timestamp(datetime(2026, 11, 25))  # naive on purpose


@pytest.mark.parametrize("bad_reason", ["", "has space", "1StartsWithDigit"])
def test_condition_reason_is_camel_case(bad_reason: str) -> None:
    with pytest.raises(ValidationError, match="reason"):
        Condition.model_validate(
            {
                "type": "Ready",
                "status": "True",
                "lastTransitionTime": "2026-11-25T12:00:00Z",
                "reason": bad_reason,
                "message": "",
            }
        )


def test_specs_read_kopf_bodies_directly() -> None:
    body = kopf.Body(
        {"spec": {"source": {"array": "ibox-1", "volume": "v"}, "target": {"array": "b", "pool": "p"}}}
    )
    assert ReplicaSpec.model_validate(body.spec).target.pool == "p"
