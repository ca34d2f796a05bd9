"""The rules of a ReplicaDrill (issue 18): which volume to snapshot, the names, the conditions (pure).

The snapshot is taken of the volume the Replica reports as its current target
(``status.currentTarget``), on the array that holds it, so a drill on the DR site tests what
a failover would start from. Names derive from the drill's uid: a pass that lost the answer
to its create finds the snapshot (or the PersistentVolume) again by name, never makes a second.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from replica_operator.api import Condition, ConditionStatus, DrillProtocol, DrillReplicaKind, ReplicaDrillSpec

from .conditions import Verdict, merge
from .observed import Problem
from .volumes import CsiProtocol, StaticClaim, member_claim_name, member_pv_name, static_manifests

DRILL_LABEL = "replication.infinibox.io/drill"
"""On the PersistentVolume and claim a drill made: the drill's uid (what it may delete)."""


@dataclass(frozen=True)
class DrillTarget:
    """The volume to snapshot (the Replica's current target), or for a group the target CG."""

    array: str
    volume: str  # the volume, filesystem or consistency group to snapshot
    group: bool = False
    filesystem: bool = False


def is_group(spec: ReplicaDrillSpec) -> bool:
    """The drill tests a ConsistencyGroupReplica (a snapshot group, a claim per member)."""
    return spec.replica_ref.kind is DrillReplicaKind.CONSISTENCY_GROUP_REPLICA


def target_of(replica: Mapping[str, Any] | None, name: str, *, group: bool = False) -> DrillTarget | Problem:
    """The replica's current target volume (or consistency group), or why there is none (yet)."""
    kind = "ConsistencyGroupReplica" if group else "Replica"
    if replica is None:
        return Problem("ReplicaNotFound", f"no {kind} {name} in this namespace", retryable=False)
    spec, status = replica.get("spec") or {}, replica.get("status") or {}
    source = spec.get("source") or {}
    filesystem = "filesystem" in source
    if not group and "volume" not in source and not filesystem:
        return Problem(
            "Unsupported",
            f"Replica {name} names a claim as its source; drills take a volume or filesystem Replica",
            retryable=False,
        )
    target = status.get("currentTarget") or {}
    if not target.get("array") or not target.get("entity"):
        return Problem("Waiting", f"{kind} {name} does not report its target yet (status.currentTarget)")
    entity = str(target["entity"])
    return DrillTarget(array=str(target["array"]), volume=entity, group=group, filesystem=filesystem)


def protocol_problem(spec: ReplicaDrillSpec, target: DrillTarget) -> Problem | None:
    """nfs is a filesystem's protocol and a filesystem's only one; a filesystem needs the NAS space."""
    protocol = spec.claim.protocol if spec.claim else None
    if target.filesystem and protocol not in (None, DrillProtocol.NFS):
        return Problem("Unsupported", f"a filesystem is claimed over nfs, not {protocol}", retryable=False)
    if not target.filesystem and protocol is DrillProtocol.NFS:
        return Problem(
            "Unsupported", "nfs claims are of filesystems; this Replica is a volume's", retryable=False
        )
    if target.filesystem != is_filesystem(spec):
        return Problem(
            "NetworkSpaceRequired" if target.filesystem else "Unsupported",
            "a filesystem drill needs spec.claim.networkSpace (the NAS network space on the DR array)"
            if target.filesystem
            else "spec.claim.networkSpace is for filesystem drills; this Replica is a volume's",
            retryable=False,
        )
    return None


def is_filesystem(spec: ReplicaDrillSpec) -> bool:
    """A filesystem drill, by its immutable spec: only those name a NAS network space."""
    return bool(spec.claim and spec.claim.network_space)


PUBLISH_PERMISSIONS = "[{'access':'RW','client':'*','no_root_squash':true}]"
"""The PV's ``nfs_export_permissions``: the driver's ControllerPublishVolume then adds the mounting
node to the export, read-write (it takes ``access`` of the first entry, ``storage/nfs/nfscontroller.go``;
the format is its ``getPermissionMaps``). The export itself is made with no rules: only the nodes
the driver adds can mount it."""


def export_path(namespace: str, drill: str, uid: str) -> str:
    """The snapshot's export path: "/" and the PersistentVolume's name, as the driver names exports."""
    return f"/{volume_name(namespace, drill, uid)}"


def nfs_manifests(
    spec: ReplicaDrillSpec,
    *,
    namespace: str,
    drill: str,
    uid: str,
    snapshot_id: int,
    size: int,
    address: str,
    export_id: int,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The static NFS PersistentVolume of a filesystem snapshot and its claim: the volume context
    the driver's NodePublishVolume mounts (``ipAddress``:``volPathd``) and its ControllerPublishVolume
    reads (``exportID``), as its CreateVolume from a snapshot returns it."""
    network_space = (spec.claim.network_space if spec.claim else None) or ""
    attributes = {
        "ipAddress": address,
        "volPathd": export_path(namespace, drill, uid),
        "exportID": str(export_id),
        "storage_protocol": CsiProtocol.NFS.value,
        "network_space": network_space,
        "nfs_export_permissions": PUBLISH_PERMISSIONS,
    }
    return static_manifests(
        StaticClaim(
            pv_name=volume_name(namespace, drill, uid),
            claim_name=claim_name(spec, drill),
            namespace=namespace,
            entity_id=snapshot_id,
            protocol=CsiProtocol.NFS,
            size=str(size),
            storage_class_name=(spec.claim.storage_class_name if spec.claim else None) or "",
            volume_attributes=attributes,
            labels={DRILL_LABEL: uid},
        )
    )


def snapshot_name(drill: str, uid: str) -> str:
    """The snapshot's name on the array: the drill's name and its uid (unique, found again by name)."""
    return f"drill-{drill[:200]}-{uid[:8]}"


def volume_name(namespace: str, drill: str, uid: str) -> str:
    """The PersistentVolume's name (cluster-scoped, so the namespace is part of it)."""
    return f"drill-{namespace[:60]}-{drill[:150]}-{uid[:8]}"


def claim_name(spec: ReplicaDrillSpec, drill: str) -> str:
    return spec.claim.name if spec.claim is not None and spec.claim.name else drill


def verdicts(problem: Problem | None, ready_message: str) -> list[Verdict]:
    """Ready, Reconciling and Stalled (kstatus): at most one of the last two is True."""
    true, false = ConditionStatus.TRUE, ConditionStatus.FALSE
    if problem is None:
        return [
            Verdict("Ready", true, "DrillReady", ready_message),
            Verdict("Reconciling", false, "Idle", ""),
            Verdict("Stalled", false, "NotStalled", ""),
        ]
    if problem.retryable:
        return [
            Verdict("Ready", false, problem.reason, problem.message),
            Verdict("Reconciling", true, problem.reason, problem.message),
            Verdict("Stalled", false, "NotStalled", ""),
        ]
    return [
        Verdict("Ready", false, problem.reason, problem.message),
        Verdict("Reconciling", false, "Stalled", ""),
        Verdict("Stalled", true, problem.reason, problem.message),
    ]


def drill_conditions(
    previous: Sequence[Mapping[str, Any]],
    problem: Problem | None,
    ready_message: str,
    *,
    generation: int,
    now: datetime,
) -> list[dict[str, Any]]:
    """The conditions to write, transition times kept where the status did not change."""
    before = [Condition.model_validate(item) for item in previous]
    merged = merge(before, verdicts(problem, ready_message), generation=generation, now=now)
    return [condition.to_cr() for condition in merged]


def member_names(
    spec: ReplicaDrillSpec, namespace: str, drill: str, uid: str, member: str
) -> tuple[str, str]:
    """(PersistentVolume, claim) of a group drill's member: the claim ``<claim name>-<member>`` (a
    DNS name), the PV the drill's PV name with a digest of the member."""
    claim = member_claim_name(f"{claim_name(spec, drill)}-{{member}}", member)
    return member_pv_name(volume_name(namespace, drill, uid), member), claim


def claim_manifests(
    spec: ReplicaDrillSpec,
    *,
    namespace: str,
    drill: str,
    uid: str,
    snapshot_id: int,
    size: int,
    member: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The static PersistentVolume of the snapshot and the claim bound to it, in the CSI driver's
    format (``volumes.static_manifests``); reclaim Retain: the drill deletes the snapshot itself.
    ``member``: the target member volume a group drill's snapshot is of."""
    protocol = (spec.claim.protocol.value if spec.claim and spec.claim.protocol else None) or "iscsi"
    pv, claim = (
        member_names(spec, namespace, drill, uid, member)
        if member is not None
        else (volume_name(namespace, drill, uid), claim_name(spec, drill))
    )
    return static_manifests(
        StaticClaim(
            pv_name=pv,
            claim_name=claim,
            namespace=namespace,
            entity_id=snapshot_id,
            protocol=CsiProtocol(protocol),
            size=str(size),
            storage_class_name=(spec.claim.storage_class_name if spec.claim else None) or "",
            labels={DRILL_LABEL: uid},
        )
    )
