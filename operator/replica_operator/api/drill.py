"""``ReplicaDrill``: a DR test from a writable snapshot of the target, while replication goes on.

Its existence is the drill (issue 18): the operator snapshots the target volume of the named
Replica on the array that holds it now, exposes the snapshot as a claim in the drill's
namespace, and removes snapshot, PersistentVolume and claim when the drill is deleted.
Infinidat documents testing a DR copy this way (a snapshot of the target; replication keeps
running); the replica and its own target volume are never changed.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import ConfigDict, Field

from .base import SpecModel, StatusModel
from .cel import immutable
from .conditions import CONDITION_LIST_SCHEMA, MAX_CONDITIONS, Condition
from .names import ArrayText, EntityName, ObjectName
from .timestamps import Timestamp

__all__ = [
    "DrillClaim",
    "DrillExport",
    "DrillMemberClaim",
    "DrillProtocol",
    "DrillReplicaKind",
    "DrillReplicaRef",
    "ReplicaDrillSpec",
    "ReplicaDrillStatus",
]

MAX_DRILL_MEMBERS = 256  # as a ConsistencyGroupReplica's members (cgreplica.MAX_MEMBERS)


class DrillProtocol(StrEnum):
    """How the claim's PersistentVolume reaches the snapshot (the CSI driver's volumeHandle suffix)."""

    ISCSI = "iscsi"
    FC = "fc"
    NFS = "nfs"


class DrillReplicaKind(StrEnum):
    """The kinds of replication object a drill can test."""

    REPLICA = "Replica"
    CONSISTENCY_GROUP_REPLICA = "ConsistencyGroupReplica"


class DrillReplicaRef(SpecModel):
    """The Replica or ConsistencyGroupReplica whose target is tested, in the drill's namespace."""

    kind: DrillReplicaKind | None = Field(
        default=None,
        description="Replica (default: a volume replica; the drill takes a snapshot of its target volume) "
        "or ConsistencyGroupReplica (a snapshot group of its target consistency group, one claim per "
        "member).",
    )
    name: ObjectName = Field(description="Name of the Replica or ConsistencyGroupReplica in this namespace.")


class DrillClaim(SpecModel):
    """The PersistentVolumeClaim that exposes the snapshot."""

    name: ObjectName | None = Field(
        default=None,
        description="Name of the claim in the drill's namespace. Default: the drill's name. For a "
        "ConsistencyGroupReplica, the prefix of the claims' names: <name>-<member volume>.",
    )
    storage_class_name: ObjectName | None = Field(
        default=None,
        description="storageClassName of the claim and its PersistentVolume (a static volume: the class is "
        'only matched, nothing is provisioned). Default: none ("").',
    )
    protocol: DrillProtocol | None = Field(
        default=None,
        description="The volumeHandle protocol of the PersistentVolume: iscsi (default) or fc for a volume, "
        "nfs (the only one, and the default) for a filesystem.",
    )
    network_space: ObjectName | None = Field(
        default=None,
        description="A filesystem Replica: the NAS network space on the DR array whose address the claim's "
        "PersistentVolume mounts (the driver's StorageClass parameter network_space). Required there.",
    )


class ReplicaDrillSpec(SpecModel):
    """What to test. Immutable: a new drill is a new object."""

    model_config = ConfigDict(
        json_schema_extra=immutable("spec", "delete this drill and create a new one"),
    )

    replica_ref: DrillReplicaRef = Field(description="The Replica whose target volume is snapshotted.")
    claim: DrillClaim | None = Field(default=None, description="The claim that exposes the snapshot.")


class DrillSnapshot(StatusModel):
    """The snapshot on the DR array."""

    array: ObjectName = Field(description="The InfiniBox object of the array holding the snapshot.")
    id: int = Field(ge=0, description="Id of the snapshot on that array.")
    name: EntityName = Field(description="Name of the snapshot on that array.")
    parent: EntityName = Field(description="The target volume it is a snapshot of (never changed).")


class DrillExport(StatusModel):
    """A filesystem drill: the NFS export of the snapshot on the DR array."""

    id: int = Field(ge=0, description="Id of the export on the array.")
    path: ArrayText = Field(description="The export path the PersistentVolume mounts (volPathd).")
    address: ArrayText = Field(description="The NAS address it is mounted from (ipAddress).")


class DrillMemberClaim(StatusModel):
    """A ConsistencyGroupReplica drill: one member's snapshot and the claim that exposes it."""

    parent: EntityName = Field(description="The target member volume the snapshot is of (never changed).")
    snapshot_id: int = Field(ge=0, description="Id of the member's snapshot in the snapshot group.")
    persistent_volume: ObjectName = Field(description="The static PersistentVolume of the snapshot.")
    persistent_volume_claim: ObjectName = Field(description="The claim in the drill's namespace.")
    phase: ArrayText | None = Field(default=None, description="Phase of the claim (Pending, Bound).")


class ReplicaDrillStatus(StatusModel):
    """What the drill holds now."""

    observed_generation: int | None = Field(
        default=None, ge=0, description="The .metadata.generation this status was computed from."
    )
    snapshot: DrillSnapshot | None = Field(
        default=None,
        description="The writable snapshot of the target volume; for a ConsistencyGroupReplica the snapshot "
        "group of the target consistency group (parent: that group).",
    )
    persistent_volume: ObjectName | None = Field(default=None, description="The static PersistentVolume.")
    persistent_volume_claim: ObjectName | None = Field(
        default=None, description="The claim in the drill's namespace that the test workload mounts."
    )
    phase: ArrayText | None = Field(default=None, description="Phase of the claim (Pending, Bound).")
    export: DrillExport | None = Field(
        default=None, description="A filesystem drill: the snapshot's NFS export (removed with the drill)."
    )
    members: list[DrillMemberClaim] | None = Field(
        default=None,
        max_length=MAX_DRILL_MEMBERS,
        description="A ConsistencyGroupReplica drill: each member's snapshot and claim (Ready once all "
        "are Bound).",
    )
    started_at: Timestamp | None = Field(default=None, description="When the snapshot was taken (UTC).")
    conditions: list[Condition] = Field(
        default_factory=list,
        max_length=MAX_CONDITIONS,
        description="Ready: the snapshot and its claim exist. Reconciling and Stalled as kstatus reads "
        "them (Stalled with the reason when only the user can help, e.g. ReplicaNotFound).",
        json_schema_extra=CONDITION_LIST_SCHEMA,
    )
