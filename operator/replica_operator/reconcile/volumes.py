"""PersistentVolumes of Infinidat's CSI driver: what a claim's volume names on the array, and the
static PV + claim that name a given array entity (issue 17). Pure: manifests in, manifests out.

The format is the driver's (github Infinidat/infinibox-csi-driver): driver name
``infinibox-csi-driver``; ``volumeHandle`` ``<id>$$<protocol>`` (``service/controller.go``
``CreateVolume`` appends ``"$$" + storageprotocol``, ``validateVolumeID`` splits on ``$$``);
protocols ``iscsi``, ``fc`` (a volume id), ``nfs`` (a filesystem id), ``nfs_treeq``
(``<filesystem id>#<treeq id>``, ``storage/treeqcontroller.go``) from ``common/types.go``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from replica_operator.api import MEMBER_PLACEHOLDER

from .desired import EntityKind
from .observed import Problem

CSI_DRIVER = "infinibox-csi-driver"
"""``spec.csi.driver`` of the PVs the driver provisions (its CSI plugin name)."""

REFUSED_CLAIM_REASONS = frozenset(
    {"NotInfiniboxVolume", "TreeqNotReplicable", "InvalidVolumeHandle", "EntityNotFound", "ClaimLost"}
    | {"ClaimNotFound", "VolumeNotFound", "MixedProtocols", "MixedPools"}
)
"""Synced=False reasons of a claim that names nothing to replicate: a Warning Event on entry."""

HANDLE_SEPARATOR = "$$"
TREEQ_SEPARATOR = "#"

_SECRET_REFS = (
    "controllerPublishSecretRef",
    "nodeStageSecretRef",
    "nodePublishSecretRef",
    "controllerExpandSecretRef",
)
"""The ``spec.csi`` secret references the driver's PVs carry (the driver's Secret for that array)."""


class CsiProtocol(StrEnum):
    """The driver's storage protocols (``common/types.go`` ``PROTOCOL_*``)."""

    ISCSI = "iscsi"
    FC = "fc"
    NFS = "nfs"
    NFS_TREEQ = "nfs_treeq"


def entity_kind(protocol: CsiProtocol) -> EntityKind:
    """Block protocols name a volume, NFS a filesystem."""
    return (
        EntityKind.FILESYSTEM if protocol in (CsiProtocol.NFS, CsiProtocol.NFS_TREEQ) else EntityKind.VOLUME
    )


@dataclass(frozen=True)
class CsiVolume:
    """What a bound PV of the driver says: the array entity (by id) and how it is attached."""

    pv: str
    protocol: CsiProtocol
    entity_id: int
    kind: EntityKind
    size: str
    volume_attributes: Mapping[str, str]
    secret_refs: Mapping[str, Mapping[str, str]]


def parse_handle(handle: str) -> tuple[CsiProtocol, int] | Problem:
    """``<id>$$<protocol>`` -> (protocol, entity id); a treeq or a malformed handle is refused."""
    parts = handle.split(HANDLE_SEPARATOR)
    if len(parts) != 2:
        return Problem(
            "InvalidVolumeHandle", f"volumeHandle {handle!r} is not <id>$$<protocol>", retryable=False
        )
    ident, raw = parts
    try:
        protocol = CsiProtocol(raw)
    except ValueError:
        known = ", ".join(p.value for p in CsiProtocol)
        return Problem(
            "InvalidVolumeHandle",
            f"volumeHandle {handle!r}: unknown protocol {raw!r} (known: {known})",
            retryable=False,
        )
    if protocol is CsiProtocol.NFS_TREEQ:
        filesystem = ident.split(TREEQ_SEPARATOR, 1)[0]
        return Problem(
            "TreeqNotReplicable",
            f"volumeHandle {handle!r} is a treeq of filesystem id {filesystem}: a treeq cannot be replicated "
            "alone; replicate its filesystem (spec.source.filesystem)",
            retryable=False,
        )
    if not ident.isdigit():
        return Problem(
            "InvalidVolumeHandle", f"volumeHandle {handle!r}: id {ident!r} is not a number", retryable=False
        )
    return protocol, int(ident)


def parse_pv(pv: Mapping[str, Any]) -> CsiVolume | Problem:
    """The array entity a PV names, or why it names none this operator can replicate."""
    name = str((pv.get("metadata") or {}).get("name", ""))
    spec = pv.get("spec") or {}
    csi = spec.get("csi")
    if not csi:
        return Problem("NotInfiniboxVolume", f"PersistentVolume {name} is not a CSI volume", retryable=False)
    driver = csi.get("driver")
    if driver != CSI_DRIVER:
        return Problem(
            "NotInfiniboxVolume",
            f"PersistentVolume {name} belongs to CSI driver {driver!r}, not {CSI_DRIVER!r}",
            retryable=False,
        )
    parsed = parse_handle(str(csi.get("volumeHandle", "")))
    if isinstance(parsed, Problem):
        return Problem(parsed.reason, f"PersistentVolume {name}: {parsed.message}", retryable=False)
    protocol, entity_id = parsed
    refs = {key: dict(csi[key]) for key in _SECRET_REFS if csi.get(key)}
    return CsiVolume(
        pv=name,
        protocol=protocol,
        entity_id=entity_id,
        kind=entity_kind(protocol),
        size=str((spec.get("capacity") or {}).get("storage", "")),
        volume_attributes=dict(csi.get("volumeAttributes") or {}),
        secret_refs=refs,
    )


def bound_volume(claim: Mapping[str, Any] | None, name: str) -> str | Problem:
    """The PV a claim is bound to, or why there is none (yet: a pending claim is waited on)."""
    if claim is None:
        return Problem("ClaimNotFound", f"PersistentVolumeClaim {name} does not exist in this namespace")
    phase = (claim.get("status") or {}).get("phase")
    volume = (claim.get("spec") or {}).get("volumeName")
    if phase == "Lost":
        return Problem(
            "ClaimLost", f"PersistentVolumeClaim {name} lost its PersistentVolume", retryable=False
        )
    if phase != "Bound" or not volume:
        return Problem(
            "ClaimNotBound", f"PersistentVolumeClaim {name} is not bound to a PersistentVolume yet"
        )
    return str(volume)


@dataclass(frozen=True)
class StaticClaim:
    """What a static PV + claim pair names: an entity id on an array, and how it is presented."""

    pv_name: str
    claim_name: str
    namespace: str
    entity_id: int
    protocol: CsiProtocol
    size: str
    storage_class_name: str = ""
    access_modes: tuple[str, ...] = ("ReadWriteOnce",)
    volume_mode: str = "Filesystem"
    volume_attributes: Mapping[str, str] | None = None
    secret_refs: Mapping[str, Mapping[str, str]] | None = None
    labels: Mapping[str, str] | None = None
    claim_uid: str | None = None  # the claim's uid once made: the PV then binds to that claim only


def handle(entity_id: int, protocol: CsiProtocol) -> str:
    """The driver's volumeHandle for an entity id (never a treeq: we make whole volumes/filesystems)."""
    return f"{entity_id}{HANDLE_SEPARATOR}{protocol.value}"


def static_manifests(want: StaticClaim) -> tuple[dict[str, Any], dict[str, Any]]:
    """The PV and the claim, pre-bound both ways so the PV controller binds exactly this pair.
    Reclaim Retain: deleting the claim never deletes the array entity (the replica owns it)."""
    labels = dict(want.labels or {})
    csi: dict[str, Any] = {"driver": CSI_DRIVER, "volumeHandle": handle(want.entity_id, want.protocol)}
    if want.volume_attributes:
        csi["volumeAttributes"] = dict(want.volume_attributes)
    for key, ref in (want.secret_refs or {}).items():
        csi[key] = dict(ref)
    volume = {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": want.pv_name, "labels": labels},
        "spec": {
            "capacity": {"storage": want.size},
            "accessModes": list(want.access_modes),
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": want.storage_class_name,
            "volumeMode": want.volume_mode,
            "claimRef": {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "namespace": want.namespace,
                "name": want.claim_name,
                **({"uid": want.claim_uid} if want.claim_uid else {}),
            },
            "csi": csi,
        },
    }
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": want.claim_name, "namespace": want.namespace, "labels": labels},
        "spec": {
            "accessModes": list(want.access_modes),
            "resources": {"requests": {"storage": want.size}},
            "storageClassName": want.storage_class_name,
            "volumeMode": want.volume_mode,
            "volumeName": want.pv_name,
        },
    }
    return volume, claim


TARGET_LABEL = "replication.infinibox.io/replica-uid"
"""On the PV and claim made for a replica's target: the replica's uid (what its deletion removes)."""

_CSI_PARAMETER_PREFIX = "csi.storage.k8s.io/"
_SECRET_PARAMETERS = {
    "controller-publish": "controllerPublishSecretRef",
    "node-stage": "nodeStageSecretRef",
    "node-publish": "nodePublishSecretRef",
    "controller-expand": "controllerExpandSecretRef",
}


def storage_class_csi(parameters: Mapping[str, str]) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """(volumeAttributes, secret refs) a provisioned PV of this StorageClass would carry: the
    external-provisioner passes the parameters without the ``csi.storage.k8s.io/`` keys, the driver
    copies them into the volume context (``copyRequestParameters``), and the secret keys become refs."""
    attributes = {k: v for k, v in parameters.items() if not k.startswith(_CSI_PARAMETER_PREFIX)}
    refs: dict[str, dict[str, str]] = {}
    for prefix, ref in _SECRET_PARAMETERS.items():
        name = parameters.get(f"{_CSI_PARAMETER_PREFIX}{prefix}-secret-name")
        namespace = parameters.get(f"{_CSI_PARAMETER_PREFIX}{prefix}-secret-namespace")
        if name and namespace:
            refs[ref] = {"name": name, "namespace": namespace}
    return attributes, refs


def target_pv_name(uid: str) -> str:
    """The static PV of a replica's target entity: cluster-scoped, so named by the replica's uid."""
    return f"iro-{uid}"


def local_pv_name(uid: str) -> str:
    """The static PV of a replica's own entity on spec.source.array (spec.source.localClaim)."""
    return f"iro-{uid}-local"


def member_claim_name(template: str, member: str) -> str:
    """A group member's target claim: ``{member}`` in the template replaced by the member's name
    made a DNS subdomain (lower case; other characters become '-')."""
    safe = re.sub(r"[^a-z0-9.-]+", "-", member.lower()).strip("-.") or "member"
    return template.replace(MEMBER_PLACEHOLDER, safe)[:253].rstrip("-.")


def member_pv_name(base: str, member: str) -> str:
    """A group member's static PV: the group's PV name and a digest of the member (unique, short)."""
    return f"{base}-{hashlib.sha256(member.encode()).hexdigest()[:10]}"
