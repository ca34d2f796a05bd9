"""Why a claim names nothing to replicate, in the words a user reads, and the manifests made whole."""

from __future__ import annotations

from typing import Any

import pytest

from replica_operator.reconcile import Problem
from replica_operator.reconcile.volumes import (
    CSI_DRIVER,
    CsiProtocol,
    CsiVolume,
    StaticClaim,
    bound_volume,
    member_claim_name,
    member_pv_name,
    parse_handle,
    parse_pv,
    static_manifests,
)


@pytest.mark.parametrize(
    ("handle", "message"),
    [
        ("1001", "volumeHandle '1001' is not <id>$$<protocol>"),
        ("1$$2$$iscsi", "volumeHandle '1$$2$$iscsi' is not <id>$$<protocol>"),
        (
            "1001$$nvme",
            "volumeHandle '1001$$nvme': unknown protocol 'nvme' (known: iscsi, fc, nfs, nfs_treeq)",
        ),
        ("abc$$iscsi", "volumeHandle 'abc$$iscsi': id 'abc' is not a number"),
    ],
)
def test_a_malformed_handle_says_what_is_wrong_and_is_never_retried(handle: str, message: str) -> None:
    assert parse_handle(handle) == Problem("InvalidVolumeHandle", message, retryable=False)


def test_a_treeq_names_its_filesystem_and_what_to_replicate_instead() -> None:
    assert parse_handle("77#5$$nfs_treeq") == Problem(
        "TreeqNotReplicable",
        "volumeHandle '77#5$$nfs_treeq' is a treeq of filesystem id 77: a treeq cannot be replicated "
        "alone; replicate its filesystem (spec.source.filesystem)",
        retryable=False,
    )


def test_a_pv_that_is_not_the_drivers_is_refused_by_name() -> None:
    assert parse_pv({"metadata": {"name": "host"}, "spec": {"hostPath": {"path": "/x"}}}) == Problem(
        "NotInfiniboxVolume", "PersistentVolume host is not a CSI volume", retryable=False
    )
    other = {"metadata": {"name": "ebs"}, "spec": {"csi": {"driver": "ebs.csi.aws.com", "volumeHandle": "v"}}}
    assert parse_pv(other) == Problem(
        "NotInfiniboxVolume",
        f"PersistentVolume ebs belongs to CSI driver 'ebs.csi.aws.com', not {CSI_DRIVER!r}",
        retryable=False,
    )
    bad = {"metadata": {"name": "pv-9"}, "spec": {"csi": {"driver": CSI_DRIVER, "volumeHandle": "x$$fc"}}}
    assert parse_pv(bad) == Problem(
        "InvalidVolumeHandle",
        "PersistentVolume pv-9: volumeHandle 'x$$fc': id 'x' is not a number",
        retryable=False,
    )


def test_a_drivers_pv_is_read_back_with_its_own_name() -> None:
    pv = {
        "metadata": {"name": "pvc-77"},
        "spec": {"capacity": {"storage": "2Gi"}, "csi": {"driver": CSI_DRIVER, "volumeHandle": "77$$fc"}},
    }
    parsed = parse_pv(pv)
    assert isinstance(parsed, CsiVolume)
    assert (parsed.pv, parsed.entity_id, parsed.size) == ("pvc-77", 77, "2Gi")
    assert (parsed.volume_attributes, parsed.secret_refs) == ({}, {})


def test_a_claim_that_names_no_volume_says_which_claim_and_whether_it_waits() -> None:
    assert bound_volume(None, "data") == Problem(
        "ClaimNotFound", "PersistentVolumeClaim data does not exist in this namespace"
    )
    lost = {"spec": {"volumeName": "pv-1"}, "status": {"phase": "Lost"}}
    assert bound_volume(lost, "data") == Problem(
        "ClaimLost", "PersistentVolumeClaim data lost its PersistentVolume", retryable=False
    )
    waiting = Problem("ClaimNotBound", "PersistentVolumeClaim data is not bound to a PersistentVolume yet")
    assert bound_volume({"status": {"phase": "Bound"}}, "data") == waiting  # Bound, volume not shown yet
    assert bound_volume({"spec": {"volumeName": "pv-1"}, "status": {"phase": "Pending"}}, "data") == waiting


def _want(**fields: Any) -> StaticClaim:
    base: dict[str, Any] = {
        "pv_name": "iro-u1",
        "claim_name": "data-dr",
        "namespace": "apps",
        "entity_id": 55,
        "protocol": CsiProtocol.ISCSI,
        "size": "5Gi",
    }
    return StaticClaim(**{**base, **fields})


def test_the_static_pv_and_claim_are_whole_kubernetes_manifests() -> None:
    volume, claim = static_manifests(
        _want(volume_attributes={"pool_name": "dr"}, labels={"app": "db"}, volume_mode="Block")
    )
    assert volume == {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": "iro-u1", "labels": {"app": "db"}},
        "spec": {
            "capacity": {"storage": "5Gi"},
            "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": "",
            "volumeMode": "Block",
            "claimRef": {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "namespace": "apps",
                "name": "data-dr",
            },
            "csi": {
                "driver": CSI_DRIVER,
                "volumeHandle": "55$$iscsi",
                "volumeAttributes": {"pool_name": "dr"},
            },
        },
    }
    assert claim == {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data-dr", "namespace": "apps", "labels": {"app": "db"}},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "5Gi"}},
            "storageClassName": "",
            "volumeMode": "Block",
            "volumeName": "iro-u1",
        },
    }


def test_member_names_are_dns_names_cut_without_a_trailing_dash_and_stable() -> None:
    assert member_claim_name("{member}", "a" * 252 + "-b") == "a" * 252  # cut at 253, no "-" left at the end
    assert member_claim_name("{member}-dr", "-.Data.-") == "data-dr"
    # The PV of a member is found again by name after a restart: the digest must not change.
    assert member_pv_name("iro-uid", "a") == "iro-uid-ca978112ca"


def test_the_pv_binds_only_to_the_claim_of_the_uid_it_was_given() -> None:
    """Once the claim is made, its uid goes in the PV's claimRef: a claim re-made under the same
    name (another uid) is never bound to this PV."""
    volume, _ = static_manifests(_want(claim_uid="c0ffee00-0000-4000-8000-000000000000"))
    assert volume["spec"]["claimRef"] == {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "namespace": "apps",
        "name": "data-dr",
        "uid": "c0ffee00-0000-4000-8000-000000000000",
    }
