"""The enumerations of the API. ``StrEnum`` so a value compares equal to its string form."""

from __future__ import annotations

from enum import StrEnum


class ReplicationType(StrEnum):
    """How writes reach the target: ASYNC (periodic, RPO-bound) or SYNC (acknowledged by both sides)."""

    ASYNC = "ASYNC"
    SYNC = "SYNC"


class TargetMode(StrEnum):
    """Where the remote entity comes from when the replica is created."""

    CREATE = "Create"
    EXISTING = "Existing"
    BASE_SNAPSHOT = "BaseSnapshot"


class DeletionPolicy(StrEnum):
    """What deleting the Kubernetes object does to the replica on the array."""

    DELETE = "Delete"
    ORPHAN = "Orphan"


class ManagementPolicy(StrEnum):
    """Whether the operator may change the array or only report what it sees."""

    FULL = "Full"
    OBSERVE_ONLY = "ObserveOnly"


class DriftPolicy(StrEnum):
    """What the operator does when the array no longer matches the spec."""

    CORRECT = "Correct"
    REPORT = "Report"


class ActionType(StrEnum):
    """A one-shot operation on the replica."""

    SYNC_NOW = "SyncNow"
    SWITCH_ROLE = "SwitchRole"
    CHANGE_ROLE = "ChangeRole"


class ActionResult(StrEnum):
    """How the last one-shot action went."""

    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    IN_PROGRESS = "InProgress"


class ConditionStatus(StrEnum):
    """metav1.ConditionStatus."""

    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class ConditionType(StrEnum):
    """The condition types this API reports."""

    CONNECTED = "Connected"
    IN_USE = "InUse"
    READY = "Ready"
    SYNCED = "Synced"
    RPO_COMPLIANT = "RPOCompliant"
    REPLICATING = "Replicating"
    RECONCILING = "Reconciling"
    STALLED = "Stalled"
