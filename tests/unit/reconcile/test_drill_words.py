"""A ReplicaDrill's words and names as a user reads them: each condition whole, each name at its limit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from replica_operator.api import ReplicaDrillSpec
from replica_operator.reconcile import (
    Problem,
    claim_manifests,
    drill_conditions,
    snapshot_name,
    target_of,
    volume_name,
)

UID = "3fb33b04-0000-4000-8000-000000000000"
NOW = datetime(2026, 12, 2, 20, 0, tzinfo=UTC)


def _conditions(problem: Problem | None, ready: str = "") -> list[tuple[str, str, str, str]]:
    conditions = drill_conditions([], problem, ready, generation=4, now=NOW)
    assert {c["observedGeneration"] for c in conditions} == {4}
    return [(c["type"], c["status"], c["reason"], c["message"]) for c in conditions]


def test_a_ready_drill_is_ready_idle_and_not_stalled() -> None:
    assert _conditions(None, "claim app/db-drill is bound to snapshot 42") == [
        ("Ready", "True", "DrillReady", "claim app/db-drill is bound to snapshot 42"),
        ("Reconciling", "False", "Idle", ""),
        ("Stalled", "False", "NotStalled", ""),
    ]


def test_a_drill_that_waits_is_reconciling_with_the_reason() -> None:
    assert _conditions(Problem("ArrayUnreachable", "ibox-b is away")) == [
        ("Ready", "False", "ArrayUnreachable", "ibox-b is away"),
        ("Reconciling", "True", "ArrayUnreachable", "ibox-b is away"),
        ("Stalled", "False", "NotStalled", ""),
    ]


def test_a_drill_only_the_user_can_fix_is_stalled_not_reconciling() -> None:
    assert _conditions(Problem("ReplicaNotFound", "no Replica db", retryable=False)) == [
        ("Ready", "False", "ReplicaNotFound", "no Replica db"),
        ("Reconciling", "False", "Stalled", ""),
        ("Stalled", "True", "ReplicaNotFound", "no Replica db"),
    ]


def _replica(source: dict[str, str], **status: object) -> dict[str, object]:
    return {"spec": {"source": {"array": "ibox-a", **source}}, "status": status}


def test_why_there_is_nothing_to_snapshot_names_the_replica() -> None:
    missing = target_of(None, "db")
    assert missing == Problem("ReplicaNotFound", "no Replica db in this namespace", retryable=False)
    claimed = target_of(_replica({"persistentVolumeClaim": "data"}), "db")
    assert claimed == Problem(
        "Unsupported",
        "Replica db names a claim as its source; drills take a volume or filesystem Replica",
        retryable=False,
    )
    group = target_of(None, "grp", group=True)
    assert group == Problem(
        "ReplicaNotFound", "no ConsistencyGroupReplica grp in this namespace", retryable=False
    )


@pytest.mark.parametrize(
    "target", [{}, {"array": "ibox-b"}, {"entity": "db-dr"}, {"array": "", "entity": "db-dr"}]
)
def test_a_target_without_both_array_and_volume_is_waited_for(target: dict[str, str]) -> None:
    waiting = target_of(_replica({"volume": "db"}, currentTarget=target), "db")
    assert waiting == Problem("Waiting", "Replica db does not report its target yet (status.currentTarget)")


def test_long_names_are_cut_at_their_limits_and_keep_the_uid() -> None:
    drill, namespace = "d" * 300, "n" * 70
    assert snapshot_name(drill, UID) == f"drill-{'d' * 200}-3fb33b04"
    assert volume_name(namespace, drill, UID) == f"drill-{'n' * 60}-{'d' * 150}-3fb33b04"


def _manifests(claim: dict[str, str] | None) -> tuple[dict, dict]:  # type: ignore[type-arg]
    spec = ReplicaDrillSpec.model_validate(
        {"replicaRef": {"name": "db"}, **({"claim": claim} if claim is not None else {})}
    )
    return claim_manifests(spec, namespace="app", drill="db-drill", uid=UID, snapshot_id=42, size=1024)


@pytest.mark.parametrize("claim", [None, {}, {"name": "restore"}])
def test_without_a_protocol_or_class_the_claim_is_iscsi_with_no_class(claim: dict[str, str] | None) -> None:
    volume, made = _manifests(claim)
    assert volume["spec"]["csi"]["volumeHandle"] == "42$$iscsi"
    assert volume["spec"]["storageClassName"] == made["spec"]["storageClassName"] == ""
    assert volume["metadata"]["name"] == "drill-app-db-drill-3fb33b04"
    assert made["metadata"]["namespace"] == volume["spec"]["claimRef"]["namespace"] == "app"
    assert made["metadata"]["name"] == (claim or {}).get("name", "db-drill")


def test_the_claims_name_protocol_and_class_are_the_users() -> None:
    volume, made = _manifests({"name": "restore", "protocol": "fc", "storageClassName": "dr-static"})
    assert volume["spec"]["csi"]["volumeHandle"] == "42$$fc"
    assert volume["spec"]["storageClassName"] == made["spec"]["storageClassName"] == "dr-static"
    assert made["metadata"]["name"] == volume["spec"]["claimRef"]["name"] == "restore"
