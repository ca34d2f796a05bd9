"""A claim selector's group as its user reads it: why it waits or is refused, whole (reason, the
message naming the claims, whether a retry can help), and the members it is made of, whole."""

from __future__ import annotations

from typing import Any

from replica_operator.reconcile import ClaimVolume, Problem, selected_volumes
from replica_operator.reconcile.desired import EntityKind
from replica_operator.reconcile.volumes import CSI_DRIVER, CsiProtocol, CsiVolume

NO_CLAIMS = Problem(
    "NoClaimsSelected",
    "no PersistentVolumeClaim in this namespace matches spec.source.persistentVolumeClaimSelector; "
    "the group is made once one does (an empty consistency group is not created)",
)


def _claim(
    name: str, volume: str | None = None, *, phase: str = "Bound", deleting: bool = False
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {
        "metadata": meta,
        "spec": {"volumeName": volume},
        "status": {"phase": phase if volume else "Pending"},
    }


def _pv(name: str, handle: str, *, driver: str = CSI_DRIVER, **csi: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {"capacity": {"storage": "1Gi"}, "csi": {"driver": driver, "volumeHandle": handle, **csi}},
    }


def test_no_claim_at_all_waits_for_one() -> None:
    assert selected_volumes([], {}) == NO_CLAIMS


def test_claims_being_deleted_are_no_longer_selected() -> None:
    claims = [_claim("gone", "pv-1", deleting=True), _claim("going", "pv-2", deleting=True)]
    volumes = {"pv-1": _pv("pv-1", "5$$iscsi"), "pv-2": _pv("pv-2", "6$$iscsi")}
    assert selected_volumes(claims, volumes) == NO_CLAIMS
    kept = selected_volumes([*claims, _claim("stays", "pv-2")], volumes)
    assert isinstance(kept, list)
    assert [c.claim for c in kept] == ["stays"]


def test_claims_not_bound_or_bound_to_a_missing_pv_are_waited_for_by_name() -> None:
    claims = [
        _claim("data-2"),
        _claim("data-0", "pv-0"),
        _claim("data-1", "pv-gone"),
        _claim("data-3", "pv-3", phase="Pending"),
    ]
    assert selected_volumes(
        claims, {"pv-0": _pv("pv-0", "5$$iscsi"), "pv-3": _pv("pv-3", "6$$iscsi")}
    ) == Problem(
        "ClaimNotBound",
        "waiting for PersistentVolumeClaims data-1, data-2, data-3 to be bound to a PersistentVolume",
    )


def test_refused_claims_are_named_in_order_with_the_first_listed_claims_reason_and_are_final() -> None:
    claims = [
        _claim("tq", "pv-tq"),
        _claim("lost", "pv-lost", phase="Lost"),
        _claim("ok", "pv-ok"),
        _claim("ebs", "pv-ebs"),
        _claim("waits"),
    ]
    volumes = {
        "pv-tq": _pv("pv-tq", "7#3$$nfs_treeq"),
        "pv-lost": _pv("pv-lost", "8$$iscsi"),
        "pv-ok": _pv("pv-ok", "5$$iscsi"),
        "pv-ebs": _pv("pv-ebs", "vol-1", driver="ebs.csi.aws.com"),
    }
    assert selected_volumes(claims, volumes) == Problem(
        "TreeqNotReplicable",
        "PersistentVolumeClaims refused: "
        "ebs: PersistentVolume pv-ebs belongs to CSI driver 'ebs.csi.aws.com', not 'infinibox-csi-driver'; "
        "lost: PersistentVolumeClaim lost lost its PersistentVolume; "
        "tq: PersistentVolume pv-tq: volumeHandle '7#3$$nfs_treeq' is a treeq of filesystem id 7: a treeq "
        "cannot be replicated alone; replicate its filesystem (spec.source.filesystem)",
        retryable=False,
    )


def test_a_lost_claim_alone_is_refused_with_its_own_reason() -> None:
    claims = [_claim("lost", "pv-lost", phase="Lost"), _claim("tq", "pv-tq")]
    problem = selected_volumes(claims, {"pv-tq": _pv("pv-tq", "7#3$$nfs_treeq")})
    assert isinstance(problem, Problem)
    assert (problem.reason, problem.retryable) == ("ClaimLost", False)


def test_block_and_file_claims_are_refused_together_naming_each_side() -> None:
    claims = [
        _claim("files-b", "pv-4"),
        _claim("blk", "pv-1"),
        _claim("files-a", "pv-3"),
        _claim("fc", "pv-2"),
    ]
    volumes = {
        "pv-1": _pv("pv-1", "5$$iscsi"),
        "pv-2": _pv("pv-2", "6$$fc"),
        "pv-3": _pv("pv-3", "9$$nfs"),
        "pv-4": _pv("pv-4", "10$$nfs"),
    }
    assert selected_volumes(claims, volumes) == Problem(
        "MixedProtocols",
        "a consistency group holds one dataset type: volumes (iscsi, fc) of blk, fc and filesystems "
        "(nfs) of files-a, files-b; narrow persistentVolumeClaimSelector",
        retryable=False,
    )


def test_the_group_is_the_bound_claims_volumes_whole_in_claim_name_order() -> None:
    secret = {"name": "infinibox-creds", "namespace": "infinidat-csi"}
    claims = [_claim("data-1", "pv-1"), _claim("data-0", "pv-0")]
    volumes = {
        "pv-0": _pv("pv-0", "5$$iscsi", volumeAttributes={"pool_name": "p"}, nodeStageSecretRef=secret),
        "pv-1": _pv("pv-1", "6$$fc"),
    }
    assert selected_volumes(claims, volumes) == [
        ClaimVolume(
            "data-0",
            CsiVolume(
                pv="pv-0",
                protocol=CsiProtocol.ISCSI,
                entity_id=5,
                kind=EntityKind.VOLUME,
                size="1Gi",
                volume_attributes={"pool_name": "p"},
                secret_refs={"nodeStageSecretRef": secret},
            ),
        ),
        ClaimVolume(
            "data-1",
            CsiVolume(
                pv="pv-1",
                protocol=CsiProtocol.FC,
                entity_id=6,
                kind=EntityKind.VOLUME,
                size="1Gi",
                volume_attributes={},
                secret_refs={},
            ),
        ),
    ]


def test_a_group_of_filesystems_is_made_of_nfs_claims() -> None:
    found = selected_volumes([_claim("share", "pv-9")], {"pv-9": _pv("pv-9", "9$$nfs")})
    assert isinstance(found, list)
    assert [(c.claim, c.volume.kind, c.volume.entity_id) for c in found] == [
        ("share", EntityKind.FILESYSTEM, 9)
    ]
