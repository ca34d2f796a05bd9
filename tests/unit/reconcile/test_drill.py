"""Issue 18: the pure rules of a ReplicaDrill."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from replica_operator.api import ReplicaDrillSpec
from replica_operator.reconcile import (
    DRILL_LABEL,
    DrillTarget,
    Problem,
    claim_manifests,
    drill_conditions,
    export_path,
    is_filesystem,
    is_group,
    member_names,
    nfs_manifests,
    protocol_problem,
    snapshot_name,
    target_of,
    volume_name,
)

UID = "3fb33b04-0000-4000-8000-000000000000"
NOW = datetime(2026, 12, 2, 20, 0, tzinfo=UTC)


def _replica(**status: object) -> dict[str, object]:
    return {"spec": {"source": {"array": "ibox-b", "volume": "db"}}, "status": status}


def test_the_snapshot_is_of_the_replicas_current_target() -> None:
    replica = _replica(currentTarget={"array": "ibox-b", "entity": "db"})
    assert target_of(replica, "db") == DrillTarget(array="ibox-b", volume="db")


def test_no_target_yet_waits_and_a_missing_or_claim_sourced_replica_stalls() -> None:
    waiting = target_of(_replica(), "db")
    assert isinstance(waiting, Problem)
    assert (waiting.reason, waiting.retryable) == ("Waiting", True)
    missing = target_of(None, "db")
    assert isinstance(missing, Problem)
    assert (missing.reason, missing.retryable) == ("ReplicaNotFound", False)
    claimed = target_of({"spec": {"source": {"array": "a", "persistentVolumeClaim": "c"}}, "status": {}}, "c")
    assert isinstance(claimed, Problem)
    assert claimed.reason == "Unsupported"


def test_a_filesystem_drill_needs_its_nas_space_and_only_nfs() -> None:
    status = {"currentTarget": {"array": "ibox-b", "entity": "fs"}}
    target = target_of({"spec": {"source": {"array": "a", "filesystem": "fs"}}, "status": status}, "fs")
    assert target == DrillTarget(array="ibox-b", volume="fs", filesystem=True)
    bare = ReplicaDrillSpec.model_validate({"replicaRef": {"name": "fs"}})
    missing = protocol_problem(bare, target)
    assert missing is not None
    assert (missing.reason, missing.retryable) == ("NetworkSpaceRequired", False)
    nas = ReplicaDrillSpec.model_validate({"replicaRef": {"name": "fs"}, "claim": {"networkSpace": "nas"}})
    assert protocol_problem(nas, target) is None
    assert is_filesystem(nas)
    iscsi = ReplicaDrillSpec.model_validate(
        {"replicaRef": {"name": "fs"}, "claim": {"networkSpace": "nas", "protocol": "iscsi"}}
    )
    assert protocol_problem(iscsi, target) is not None
    volume = DrillTarget(array="ibox-b", volume="db")
    assert protocol_problem(nas, volume) is not None  # networkSpace on a volume drill
    assert protocol_problem(bare, volume) is None
    pv, claim = nfs_manifests(
        nas,
        namespace="app",
        drill="fs-drill",
        uid=UID,
        snapshot_id=9,
        size=5,
        address="10.0.0.5",
        export_id=3,
    )
    assert pv["spec"]["csi"]["volumeHandle"] == "9$$nfs"
    assert pv["spec"]["csi"]["volumeAttributes"] == {
        "ipAddress": "10.0.0.5",
        "volPathd": export_path("app", "fs-drill", UID),
        "exportID": "3",
        "storage_protocol": "nfs",
        "network_space": "nas",
        "nfs_export_permissions": "[{'access':'RW','client':'*','no_root_squash':true}]",
    }
    assert export_path("app", "fs-drill", UID) == f"/{volume_name('app', 'fs-drill', UID)}"
    assert claim["spec"]["volumeName"] == pv["metadata"]["name"]


def test_names_come_from_the_drill_and_its_uid_and_fit_their_limits() -> None:
    assert snapshot_name("db-drill", UID) == "drill-db-drill-3fb33b04"
    assert volume_name("app", "db-drill", UID) == "drill-app-db-drill-3fb33b04"
    assert len(snapshot_name("x" * 253, UID)) <= 255
    assert len(volume_name("n" * 63, "x" * 253, UID)) <= 253


def test_the_pv_carries_the_csi_handle_of_the_snapshot_and_both_are_pre_bound() -> None:
    spec = ReplicaDrillSpec.model_validate({"replicaRef": {"name": "db"}, "claim": {"protocol": "fc"}})
    volume, claim = claim_manifests(
        spec, namespace="app", drill="db-drill", uid=UID, snapshot_id=2000042, size=10**9
    )
    assert volume["spec"]["csi"] == {"driver": "infinibox-csi-driver", "volumeHandle": "2000042$$fc"}
    assert volume["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert volume["spec"]["claimRef"]["name"] == claim["metadata"]["name"] == "db-drill"
    assert claim["spec"]["volumeName"] == volume["metadata"]["name"]
    assert volume["metadata"]["labels"] == claim["metadata"]["labels"] == {DRILL_LABEL: UID}
    assert claim["spec"]["resources"]["requests"]["storage"] == str(10**9)


def test_conditions_follow_kstatus_and_keep_their_transition_time() -> None:
    ready = drill_conditions([], None, "claim db-drill", generation=1, now=NOW)
    by_type = {c["type"]: c for c in ready}
    assert (by_type["Ready"]["status"], by_type["Reconciling"]["status"], by_type["Stalled"]["status"]) == (
        "True",
        "False",
        "False",
    )
    again = drill_conditions(ready, None, "claim db-drill", generation=1, now=NOW + timedelta(minutes=1))
    assert again == ready
    stalled = {
        c["type"]: c
        for c in drill_conditions(
            ready, Problem("ReplicaNotFound", "no", retryable=False), "", generation=1, now=NOW
        )
    }
    assert (stalled["Ready"]["status"], stalled["Stalled"]["status"], stalled["Stalled"]["reason"]) == (
        "False",
        "True",
        "ReplicaNotFound",
    )
    retrying = {
        c["type"]: c
        for c in drill_conditions([], Problem("ArrayUnreachable", "away"), "", generation=1, now=NOW)
    }
    assert (retrying["Reconciling"]["status"], retrying["Stalled"]["status"]) == ("True", "False")


def test_a_group_drill_snapshots_the_group_replicas_current_target_group() -> None:
    group = {"spec": {"source": {"array": "ibox-b", "consistencyGroup": "cg"}}, "status": {}}
    assert isinstance(target_of(group, "cg", group=True), Problem)
    group["status"] = {"currentTarget": {"array": "ibox-b", "entity": "cg"}}
    assert target_of(group, "cg", group=True) == DrillTarget(array="ibox-b", volume="cg", group=True)
    missing = target_of(None, "cg", group=True)
    assert isinstance(missing, Problem)
    assert "ConsistencyGroupReplica cg" in missing.message
    spec = ReplicaDrillSpec.model_validate({"replicaRef": {"kind": "ConsistencyGroupReplica", "name": "cg"}})
    assert is_group(spec)
    assert not is_group(ReplicaDrillSpec.model_validate({"replicaRef": {"name": "db"}}))


def test_a_group_drill_names_one_claim_and_pv_per_member_uniquely() -> None:
    spec = ReplicaDrillSpec.model_validate({"replicaRef": {"kind": "ConsistencyGroupReplica", "name": "cg"}})
    first = member_names(spec, "app", "cg-drill", UID, "DB_Data")
    second = member_names(spec, "app", "cg-drill", UID, "db-log")
    assert first[1] == "cg-drill-db-data"  # a DNS name
    assert first[0].startswith(volume_name("app", "cg-drill", UID))
    assert first[0] != second[0]
    volume, claim = claim_manifests(
        spec, namespace="app", drill="cg-drill", uid=UID, snapshot_id=42, size=10, member="DB_Data"
    )
    assert (volume["metadata"]["name"], claim["metadata"]["name"]) == first
    assert volume["spec"]["csi"]["volumeHandle"] == "42$$iscsi"
    assert claim["metadata"]["labels"] == {DRILL_LABEL: UID}
