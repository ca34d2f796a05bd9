"""Which claim a drill may ask for, told whole: nfs only for a filesystem and only nfs for one, the
NAS network space a filesystem drill needs and a volume drill may not name; and the static NFS
PersistentVolume and claim of a filesystem snapshot, whole."""

from __future__ import annotations

from typing import Any

import pytest

from replica_operator.api import ReplicaDrillSpec
from replica_operator.reconcile import DRILL_LABEL, DrillTarget, Problem, nfs_manifests, protocol_problem

UID = "3fb33b04-0000-4000-8000-000000000000"
FILESYSTEM = DrillTarget(array="ibox-b", volume="fs", filesystem=True)
VOLUME = DrillTarget(array="ibox-b", volume="db")

NEEDS_SPACE = Problem(
    "NetworkSpaceRequired",
    "a filesystem drill needs spec.claim.networkSpace (the NAS network space on the DR array)",
    retryable=False,
)
SPACE_ON_VOLUME = Problem(
    "Unsupported",
    "spec.claim.networkSpace is for filesystem drills; this Replica is a volume's",
    retryable=False,
)
NFS_ON_VOLUME = Problem(
    "Unsupported", "nfs claims are of filesystems; this Replica is a volume's", retryable=False
)


def _spec(claim: dict[str, str] | None = None) -> ReplicaDrillSpec:
    body: dict[str, Any] = {"replicaRef": {"name": "r"}}
    if claim is not None:
        body["claim"] = claim
    return ReplicaDrillSpec.model_validate(body)


@pytest.mark.parametrize("protocol", ["iscsi", "fc"])
@pytest.mark.parametrize("space", [{}, {"networkSpace": "nas"}])
def test_a_filesystem_is_claimed_over_nfs_only(protocol: str, space: dict[str, str]) -> None:
    assert protocol_problem(_spec({"protocol": protocol, **space}), FILESYSTEM) == Problem(
        "Unsupported", f"a filesystem is claimed over nfs, not {protocol}", retryable=False
    )


@pytest.mark.parametrize("claim", [None, {}, {"protocol": "nfs"}, {"name": "restore"}])
def test_a_filesystem_drill_without_a_network_space_is_told_to_name_one(
    claim: dict[str, str] | None,
) -> None:
    assert protocol_problem(_spec(claim), FILESYSTEM) == NEEDS_SPACE


@pytest.mark.parametrize("claim", [{"networkSpace": "nas"}, {"networkSpace": "nas", "protocol": "nfs"}])
def test_a_filesystem_drill_over_nfs_with_its_network_space_may_run(claim: dict[str, str]) -> None:
    assert protocol_problem(_spec(claim), FILESYSTEM) is None


@pytest.mark.parametrize("space", [{}, {"networkSpace": "nas"}])
def test_nfs_is_refused_for_a_volume_before_anything_else(space: dict[str, str]) -> None:
    assert protocol_problem(_spec({"protocol": "nfs", **space}), VOLUME) == NFS_ON_VOLUME


@pytest.mark.parametrize("protocol", [{}, {"protocol": "iscsi"}, {"protocol": "fc"}])
def test_a_network_space_is_refused_on_a_volume_drill(protocol: dict[str, str]) -> None:
    assert protocol_problem(_spec({"networkSpace": "nas", **protocol}), VOLUME) == SPACE_ON_VOLUME


@pytest.mark.parametrize("claim", [None, {}, {"protocol": "iscsi"}, {"protocol": "fc"}])
def test_a_volume_drill_over_a_block_protocol_may_run(claim: dict[str, str] | None) -> None:
    assert protocol_problem(_spec(claim), VOLUME) is None


def _nfs(spec: ReplicaDrillSpec) -> tuple[dict[str, Any], dict[str, Any]]:
    return nfs_manifests(
        spec,
        namespace="app",
        drill="fs-drill",
        uid=UID,
        snapshot_id=9,
        size=5368709120,
        address="10.0.0.5",
        export_id=3,
    )


def _expected(claim: str, storage_class: str) -> tuple[dict[str, Any], dict[str, Any]]:
    pv_name = "drill-app-fs-drill-3fb33b04"
    labels = {DRILL_LABEL: UID}
    pv = {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": pv_name, "labels": labels},
        "spec": {
            "capacity": {"storage": "5368709120"},
            "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": storage_class,
            "volumeMode": "Filesystem",
            "claimRef": {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "namespace": "app",
                "name": claim,
            },
            "csi": {
                "driver": "infinibox-csi-driver",
                "volumeHandle": "9$$nfs",
                "volumeAttributes": {
                    "ipAddress": "10.0.0.5",
                    "volPathd": f"/{pv_name}",
                    "exportID": "3",
                    "storage_protocol": "nfs",
                    "network_space": "nas",
                    "nfs_export_permissions": "[{'access':'RW','client':'*','no_root_squash':true}]",
                },
            },
        },
    }
    made = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": claim, "namespace": "app", "labels": labels},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "5368709120"}},
            "storageClassName": storage_class,
            "volumeMode": "Filesystem",
            "volumeName": pv_name,
        },
    }
    return pv, made


def test_a_filesystem_snapshot_is_claimed_by_the_drills_name_with_no_class() -> None:
    assert _nfs(_spec({"networkSpace": "nas"})) == _expected("fs-drill", "")


def test_a_filesystem_snapshots_claim_has_the_users_name_and_class() -> None:
    spec = _spec({"networkSpace": "nas", "name": "restore", "storageClassName": "dr-static"})
    assert _nfs(spec) == _expected("restore", "dr-static")
