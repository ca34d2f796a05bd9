"""The three kinds as the API server sees them: names, scope, models and printer columns."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel

from .cgreplica import ConsistencyGroupReplicaSpec, ConsistencyGroupReplicaStatus
from .constants import (
    CONSISTENCY_GROUP_REPLICA_KIND,
    CONSISTENCY_GROUP_REPLICA_PLURAL,
    INFINIBOX_KIND,
    INFINIBOX_PLURAL,
    REPLICA_DRILL_KIND,
    REPLICA_DRILL_PLURAL,
    REPLICA_KIND,
    REPLICA_PLURAL,
)
from .drill import ReplicaDrillSpec, ReplicaDrillStatus
from .infinibox import InfiniBoxSpec, InfiniBoxStatus
from .replica import ReplicaSpec, ReplicaStatus


class Scope(StrEnum):
    CLUSTER = "Cluster"
    NAMESPACED = "Namespaced"


@dataclass(frozen=True)
class PrinterColumn:
    """A ``kubectl get`` column; ``priority=1`` shows it only with ``-o wide``."""

    name: str
    json_path: str
    description: str
    type: str = "string"
    priority: int = 0


@dataclass(frozen=True)
class CustomResource:
    """Everything the generator needs to write one CRD."""

    kind: str
    plural: str
    short_names: tuple[str, ...]
    scope: Scope
    description: str
    spec_model: type[BaseModel]
    status_model: type[BaseModel]
    printer_columns: tuple[PrinterColumn, ...]

    @property
    def singular(self) -> str:
        return self.kind.lower()


def _condition(condition_type: str, field: str = "status") -> str:
    return f'.status.conditions[?(@.type=="{condition_type}")].{field}'


AGE = PrinterColumn("Age", ".metadata.creationTimestamp", "Time since the object was created.", type="date")

_REPLICATION_COLUMNS = (
    PrinterColumn("Source", ".spec.source.array", "Source array (InfiniBox object)."),
    PrinterColumn("Target", ".spec.target.array", "Target array (InfiniBox object)."),
    PrinterColumn("Type", ".status.replicationType", "Replication type on the array."),
    PrinterColumn("State", ".status.state", "State of the replica on the array."),
    PrinterColumn("Sync", ".status.syncState", "Synchronisation state."),
    PrinterColumn("Ready", _condition("Ready"), "Whether the replica exists and is healthy."),
    PrinterColumn("Role", ".status.role", "Role on the source array.", priority=1),
    PrinterColumn("Progress", ".status.progress", "Sync job progress, percent.", type="integer", priority=1),
    PrinterColumn(
        "Pending", ".status.pendingReplicationType", "Type change waiting to be applied.", priority=1
    ),
    PrinterColumn("Reason", _condition("Synced", "reason"), "Reason of the Synced condition.", priority=1),
    AGE,
)

INFINIBOX = CustomResource(
    kind=INFINIBOX_KIND,
    plural=INFINIBOX_PLURAL,
    short_names=("ibox",),
    scope=Scope.CLUSTER,
    description="InfiniBox tells the operator how to reach one InfiniBox array. Replicas and "
    "ConsistencyGroupReplicas name it as their source or target array.",
    spec_model=InfiniBoxSpec,
    status_model=InfiniBoxStatus,
    printer_columns=(
        PrinterColumn("URL", ".spec.url", "Management API URL."),
        PrinterColumn(
            "Connected", _condition("Connected"), "Whether the operator can reach the array and log in."
        ),
        PrinterColumn("Serial", ".status.serial", "Serial number of the array.", type="integer"),
        AGE,
    ),
)

REPLICA = CustomResource(
    kind=REPLICA_KIND,
    plural=REPLICA_PLURAL,
    short_names=("rep",),
    scope=Scope.NAMESPACED,
    description="Replica declares the replication of one volume or filesystem from one InfiniBox array "
    "to another, asynchronous or synchronous. The operator creates, changes and removes the replica on "
    "the arrays to match, and reports what the arrays say in status.",
    spec_model=ReplicaSpec,
    status_model=ReplicaStatus,
    printer_columns=_REPLICATION_COLUMNS,
)

CONSISTENCY_GROUP_REPLICA = CustomResource(
    kind=CONSISTENCY_GROUP_REPLICA_KIND,
    plural=CONSISTENCY_GROUP_REPLICA_PLURAL,
    short_names=("cgrep",),
    scope=Scope.NAMESPACED,
    description="ConsistencyGroupReplica declares the replication of one consistency group (its member "
    "volumes are replicated together, write-order consistent) from one InfiniBox array to another.",
    spec_model=ConsistencyGroupReplicaSpec,
    status_model=ConsistencyGroupReplicaStatus,
    printer_columns=_REPLICATION_COLUMNS,
)

REPLICA_DRILL = CustomResource(
    kind=REPLICA_DRILL_KIND,
    plural=REPLICA_DRILL_PLURAL,
    short_names=("drill",),
    scope=Scope.NAMESPACED,
    description="ReplicaDrill is a disaster-recovery test of one Replica while it keeps replicating: the "
    "operator takes a writable snapshot of the replica's target volume on the array that holds it, exposes "
    "it as a PersistentVolumeClaim in the drill's namespace, and removes snapshot, PersistentVolume and "
    "claim when the drill is deleted. The replica and its target volume are never changed.",
    spec_model=ReplicaDrillSpec,
    status_model=ReplicaDrillStatus,
    printer_columns=(
        PrinterColumn("Replica", ".spec.replicaRef.name", "The Replica under test."),
        PrinterColumn("Array", ".status.snapshot.array", "The array holding the snapshot."),
        PrinterColumn("Claim", ".status.persistentVolumeClaim", "The claim exposing the snapshot."),
        PrinterColumn("Ready", _condition("Ready"), "Whether the snapshot and its claim exist."),
        PrinterColumn("Reason", _condition("Ready", "reason"), "Reason of the Ready condition.", priority=1),
        AGE,
    ),
)

RESOURCES: tuple[CustomResource, ...] = (INFINIBOX, REPLICA, CONSISTENCY_GROUP_REPLICA, REPLICA_DRILL)
