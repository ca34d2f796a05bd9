"""``Replica``: one replicated volume or filesystem."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from .base import SpecModel
from .cel import Reason, rule, validations
from .names import EntityName, ObjectName
from .replication import TARGET_RULES, ReplicaStatus, ReplicationSpec, TargetBase
from .volumes import LocalClaim, TargetClaim

__all__ = ["BaseSnapshot", "ReplicaSource", "ReplicaSpec", "ReplicaStatus", "ReplicaTarget"]


class ReplicaSource(SpecModel):
    """The volume or filesystem to replicate."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            rule(
                "[has(self.volume), has(self.filesystem), has(self.persistentVolumeClaim)]"
                ".filter(x, x).size() == 1",
                "exactly one of volume, filesystem or persistentVolumeClaim must be set",
            ),
            rule(
                "!has(self.localClaim) || !has(self.persistentVolumeClaim)",
                "localClaim is only allowed with volume or filesystem: persistentVolumeClaim already is "
                "the claim of the source entity",
                field_path=".localClaim",
                reason=Reason.FORBIDDEN,
            ),
        )
    )

    array: ObjectName = Field(description="Name of the InfiniBox object of the source array. Immutable.")
    volume: EntityName | None = Field(
        default=None,
        description="Name of the volume to replicate. Exactly one of volume, filesystem or "
        "persistentVolumeClaim. Immutable.",
    )
    filesystem: EntityName | None = Field(
        default=None,
        description="Name of the filesystem to replicate. Exactly one of volume, filesystem or "
        "persistentVolumeClaim. Immutable.",
    )
    persistent_volume_claim: ObjectName | None = Field(
        default=None,
        description="Name of a PersistentVolumeClaim in this namespace whose PersistentVolume was "
        "provisioned by infinibox-csi-driver on array: the operator replicates the volume (iscsi, fc) or "
        "filesystem (nfs) it names (status.resolvedSource). A claim not bound yet is waited for; a treeq "
        "(nfs_treeq) or another driver's volume is refused. Exactly one of volume, filesystem or "
        "persistentVolumeClaim. Immutable.",
    )
    local_claim: LocalClaim | None = Field(
        default=None,
        description="A static PersistentVolume for the volume or filesystem on array and a claim bound to "
        "it, made by the operator on this cluster: the claim of the DR site, whose object names its own "
        "array as source (status.localClaim; status.writableClaim once array is the source, e.g. after a "
        "failover). Made under ObserveOnly too (a Kubernetes write only: no array is changed). Only with "
        "volume or filesystem. Absent means none. Immutable.",
    )


class BaseSnapshot(SpecModel):
    """Matching snapshots of the entity, one on each array, to start replicating from."""

    local: EntityName = Field(description="Name of the snapshot on the source array.")
    remote: EntityName = Field(description="Name of the matching snapshot on the target array.")


class ReplicaTarget(TargetBase):
    """Where a volume or filesystem replica goes."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            *TARGET_RULES,
            rule(
                "!has(self.mode) || self.mode != 'BaseSnapshot' || has(self.baseSnapshot)",
                "baseSnapshot is required when mode is BaseSnapshot",
                field_path=".baseSnapshot",
                reason=Reason.REQUIRED,
            ),
            rule(
                "(has(self.mode) && self.mode == 'BaseSnapshot') || !has(self.baseSnapshot)",
                "baseSnapshot is only allowed when mode is BaseSnapshot",
                field_path=".baseSnapshot",
                reason=Reason.FORBIDDEN,
            ),
        )
    )

    persistent_volume_claim: TargetClaim | None = Field(
        default=None,
        description="A static PersistentVolume for the remote entity and a claim bound to it, made by the "
        "operator so the application can mount the replica after a failover with no hand edits. Absent "
        "means none. Immutable.",
    )
    base_snapshot: BaseSnapshot | None = Field(
        default=None,
        description="The snapshots to start from: local on the source array, remote on the target array, "
        "taken of the same data. Required when mode is BaseSnapshot, not allowed otherwise. Immutable.",
    )


class ReplicaSpec(ReplicationSpec[ReplicaSource, ReplicaTarget]):
    """The desired replica of one volume or filesystem."""
