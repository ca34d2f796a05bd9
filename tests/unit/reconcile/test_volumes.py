"""The CSI driver's PVs read back to array entities, and the static PV + claim built for one."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from replica_operator.reconcile import EntityKind, Problem
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
    storage_class_csi,
)


def _pv(handle: str, driver: str = CSI_DRIVER) -> dict[str, Any]:
    """A PV as the driver provisions it (attributes copied from the StorageClass parameters)."""
    return {
        "metadata": {"name": "pvc-1234"},
        "spec": {
            "capacity": {"storage": "1Gi"},
            "csi": {
                "driver": driver,
                "volumeHandle": handle,
                "volumeAttributes": {
                    "pool_name": "k8s",
                    "network_space": "iscsi1",
                    "storage_protocol": "iscsi",
                },
                "controllerPublishSecretRef": {"name": "infinibox-creds", "namespace": "infi"},
                "nodeStageSecretRef": {"name": "infinibox-creds", "namespace": "infi"},
            },
        },
    }


@pytest.mark.parametrize(
    ("protocol", "kind"),
    [("iscsi", EntityKind.VOLUME), ("fc", EntityKind.VOLUME), ("nfs", EntityKind.FILESYSTEM)],
)
def test_every_protocol_names_its_entity(protocol: str, kind: EntityKind) -> None:
    parsed = parse_pv(_pv(f"1001$${protocol}"))
    assert isinstance(parsed, CsiVolume)
    assert (parsed.protocol.value, parsed.entity_id, parsed.kind, parsed.size) == (
        protocol,
        1001,
        kind,
        "1Gi",
    )
    assert parsed.secret_refs["controllerPublishSecretRef"] == {
        "name": "infinibox-creds",
        "namespace": "infi",
    }
    assert parsed.volume_attributes["pool_name"] == "k8s"


def test_a_treeq_is_refused_naming_its_filesystem() -> None:
    parsed = parse_pv(_pv("77#5$$nfs_treeq"))
    assert isinstance(parsed, Problem)
    assert (parsed.reason, parsed.retryable) == ("TreeqNotReplicable", False)
    assert "filesystem id 77" in parsed.message
    assert "pvc-1234" in parsed.message


@pytest.mark.parametrize(
    ("handle", "reason"),
    [
        ("1001", "InvalidVolumeHandle"),
        ("1001$$nvme", "InvalidVolumeHandle"),
        ("abc$$iscsi", "InvalidVolumeHandle"),
    ],
)
def test_a_malformed_handle_is_refused(handle: str, reason: str) -> None:
    parsed = parse_pv(_pv(handle))
    assert isinstance(parsed, Problem)
    assert parsed.reason == reason
    assert not parsed.retryable


def test_another_driver_is_refused() -> None:
    parsed = parse_pv(_pv("1001$$iscsi", driver="ebs.csi.aws.com"))
    assert isinstance(parsed, Problem)
    assert parsed.reason == "NotInfiniboxVolume"
    assert "ebs.csi.aws.com" in parsed.message


def test_a_pv_without_csi_is_refused() -> None:
    parsed = parse_pv({"metadata": {"name": "hostpath"}, "spec": {"hostPath": {"path": "/x"}}})
    assert isinstance(parsed, Problem)
    assert parsed.reason == "NotInfiniboxVolume"


def test_claims_wait_until_bound_and_refuse_when_lost() -> None:
    missing, pending = bound_volume(None, "data"), bound_volume({"status": {"phase": "Pending"}}, "data")
    assert isinstance(missing, Problem)
    assert missing.reason == "ClaimNotFound"
    assert missing.retryable
    assert isinstance(pending, Problem)
    assert pending.reason == "ClaimNotBound"
    assert pending.retryable
    lost = bound_volume({"spec": {"volumeName": "pv"}, "status": {"phase": "Lost"}}, "data")
    assert isinstance(lost, Problem)
    assert not lost.retryable
    assert bound_volume({"spec": {"volumeName": "pv-1"}, "status": {"phase": "Bound"}}, "data") == "pv-1"


@given(entity=st.integers(min_value=1, max_value=2**53), protocol=st.sampled_from(["iscsi", "fc", "nfs"]))
def test_a_built_pv_parses_back_to_its_entity(entity: int, protocol: str) -> None:
    want = StaticClaim(
        pv_name="pv-x",
        claim_name="data-dr",
        namespace="apps",
        entity_id=entity,
        protocol=CsiProtocol(protocol),
        size="5Gi",
        storage_class_name="ibox-dr",
        volume_attributes={"pool_name": "dr"},
        secret_refs={"controllerPublishSecretRef": {"name": "dr-creds", "namespace": "infi"}},
        labels={"app": "db"},
    )
    volume, claim = static_manifests(want)
    parsed = parse_pv(volume)
    assert isinstance(parsed, CsiVolume)
    assert (parsed.entity_id, parsed.protocol.value, parsed.size) == (entity, protocol, "5Gi")
    assert volume["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert volume["spec"]["claimRef"] == {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "namespace": "apps",
        "name": "data-dr",
    }
    assert volume["spec"]["csi"]["controllerPublishSecretRef"] == {"name": "dr-creds", "namespace": "infi"}
    assert claim["spec"]["volumeName"] == "pv-x"
    assert claim["spec"]["storageClassName"] == volume["spec"]["storageClassName"] == "ibox-dr"
    assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"
    assert claim["metadata"] == {"name": "data-dr", "namespace": "apps", "labels": {"app": "db"}}


def test_a_handle_round_trips() -> None:
    assert parse_handle("42$$nfs") == (CsiProtocol.NFS, 42)


def test_a_storage_class_gives_the_attributes_and_secret_refs_a_provisioned_pv_carries() -> None:
    parameters = {
        "pool_name": "dr",
        "network_space": "iscsi-dr",
        "csi.storage.k8s.io/provisioner-secret-name": "creds",
        "csi.storage.k8s.io/provisioner-secret-namespace": "infi",
        "csi.storage.k8s.io/node-stage-secret-name": "creds",
        "csi.storage.k8s.io/node-stage-secret-namespace": "infi",
        "csi.storage.k8s.io/controller-publish-secret-name": "creds",  # no namespace: no ref
        "csi.storage.k8s.io/fstype": "xfs",
    }
    attributes, refs = storage_class_csi(parameters)
    assert attributes == {"pool_name": "dr", "network_space": "iscsi-dr"}
    assert refs == {"nodeStageSecretRef": {"name": "creds", "namespace": "infi"}}


def test_member_claims_are_named_from_the_template_as_dns_names() -> None:
    assert member_claim_name("{member}-dr", "DB_Data.1") == "db-data.1-dr"
    assert member_claim_name("dr-{member}", "___") == "dr-member"
    assert member_pv_name("iro-uid", "a") != member_pv_name("iro-uid", "b")
    assert len(member_claim_name("{member}", "x" * 400)) <= 253
