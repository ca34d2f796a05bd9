"""What Replica and ConsistencyGroupReplica share: target rules, the mutable spec fields, the status."""

from __future__ import annotations

from datetime import timedelta
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from .base import SpecModel, StatusModel
from .cel import Reason, immutable, rule, validations
from .conditions import CONDITION_LIST_SCHEMA, MAX_CONDITIONS, Condition
from .durations import DURATION_IN_RANGE_PATTERN, Duration, duration_bounds
from .enums import (
    ActionResult,
    ActionType,
    DeletionPolicy,
    DriftPolicy,
    ManagementPolicy,
    ReplicationType,
    TargetMode,
)
from .names import ActionId, ArrayText, EntityName, Message, ObjectName
from .timestamps import Timestamp
from .volumes import ClaimReference, ResolvedSource

# An absent mode means Create, an absent replicationType means ASYNC: the CRD has no defaults.
MODE_IS_CREATE = "(!has(self.mode) || self.mode == 'Create')"
DEFAULT_REPLICATION_TYPE = ReplicationType.ASYNC


def schedule_applies(replication_type: ReplicationType | None) -> bool:
    """Whether rpo and syncInterval mean anything for this type: ASYNC only (SYNC has no schedule).

    The one statement of the rule; the CEL rules, the planner and the create requests all ask here.
    """
    return replication_type is ReplicationType.ASYNC


def _type_is(replication_type: ReplicationType) -> str:
    """CEL: the spec's replicationType is ``replication_type`` (an absent field reads as the default)."""
    absent = "!has(self.replicationType) || " if replication_type is DEFAULT_REPLICATION_TYPE else ""
    return f"({absent}self.replicationType == '{replication_type}')"


_SCHEDULED = _type_is(next(t for t in ReplicationType if schedule_applies(t)))
_ASYNC = _type_is(ReplicationType.ASYNC)


def _parses(field: str) -> str:
    """CEL: the field is a duration ``duration()`` can read; else the pattern error alone is reported."""
    return f"self.{field}.matches('{DURATION_IN_RANGE_PATTERN}')"


TARGET_RULES = (
    rule(
        f"!{MODE_IS_CREATE} || has(self.pool)",
        "pool is required when mode is Create (the default)",
        field_path=".pool",
        reason=Reason.REQUIRED,
    ),
    rule(
        f"{MODE_IS_CREATE} || !has(self.pool)",
        "pool is only allowed when mode is Create",
        field_path=".pool",
        reason=Reason.FORBIDDEN,
    ),
    rule(
        "!has(self.mode) || self.mode != 'Existing' || has(self.name)",
        "name is required when mode is Existing: the existing remote entity to replicate onto",
        field_path=".name",
        reason=Reason.REQUIRED,
    ),
    rule(
        "!has(self.mode) || self.mode != 'BaseSnapshot' || !has(self.name)",
        "name is not allowed when mode is BaseSnapshot: the base snapshots identify the remote side",
        field_path=".name",
        reason=Reason.FORBIDDEN,
    ),
)
"""Rules on the target that both kinds share; each kind adds its own for the BaseSnapshot input."""

MAX_RPO = "168h"
MAX_SYNC_INTERVAL = "168h"
"""Upper bounds of rpo and syncInterval. Assumed, not evidenced: the arrays take both as
integer milliseconds (infinisdk's MillisecondsDeltaTranslator); no documented maximum was found,
so a week, far beyond any useful RPO, keeps every admitted value within what Go, CEL and
Python durations and the array's integers hold."""

SPEC_RULES = (
    duration_bounds("rpo", at_most=MAX_RPO),
    duration_bounds("syncInterval", at_most=MAX_SYNC_INTERVAL),
    rule(
        f"!has(self.rpo) || {_SCHEDULED}",
        "rpo is only allowed when replicationType is ASYNC (the default)",
        field_path=".rpo",
        reason=Reason.FORBIDDEN,
    ),
    rule(
        f"!has(self.syncInterval) || {_SCHEDULED}",
        "syncInterval is only allowed when replicationType is ASYNC (the default)",
        field_path=".syncInterval",
        reason=Reason.FORBIDDEN,
    ),
    rule(
        f"!has(self.rpo) || !has(self.syncInterval) || !{_parses('rpo')} || !{_parses('syncInterval')} "
        "|| duration(self.syncInterval) <= duration(self.rpo)",
        "syncInterval must not be longer than rpo",
        field_path=".syncInterval",
        reason=Reason.INVALID,
    ),
    rule(
        "self.source.array != self.target.array",
        "target.array must name another array than source.array: a replica joins two arrays",
        field_path=".target.array",
        reason=Reason.INVALID,
    ),
    rule(
        f"!has(self.action) || self.action.type != 'SyncNow' || {_ASYNC}",
        "action SyncNow is only allowed when replicationType is ASYNC (the default)",
        field_path=".action.type",
        reason=Reason.INVALID,
    ),
)


class TargetBase(SpecModel):
    """The target fields both kinds share; subclasses attach ``TARGET_RULES`` plus their own."""

    array: ObjectName = Field(
        description="Name of the InfiniBox object of the remote (target) array. Immutable."
    )
    link: EntityName | None = Field(
        default=None,
        description="Name of the replication link on the source array that leads to the target array. "
        "Absent means the only link between the two arrays. Immutable.",
    )
    mode: TargetMode = Field(
        default=TargetMode.CREATE,
        description="Where the remote entity comes from. Create: the operator creates it in pool. "
        "Existing: replicate onto the existing remote entity name (its data is overwritten). "
        "BaseSnapshot: start from matching snapshots on both arrays, so only changes since them are sent. "
        "Default: Create. Immutable.",
    )
    pool: EntityName | None = Field(
        default=None,
        description="Pool on the target array to create the remote entity in. Required when mode is "
        "Create, not allowed otherwise. Immutable.",
    )
    name: EntityName | None = Field(
        default=None,
        description="Name of the remote entity (for a consistency group, the remote consistency group). "
        "Create: optional, absent means the array picks it. Existing: required. BaseSnapshot: not allowed. "
        "Immutable.",
    )


class Action(SpecModel):
    """A request to do something once, identified by ``id``."""

    id: ActionId = Field(
        description="Identifies this request: 1 to 63 letters, digits, '-', '_' or '.', starting and "
        "ending with a letter or digit, e.g. failover-2026-11-25. The action runs once per id; "
        "set a new id to run it again."
    )
    type: ActionType = Field(
        description="SyncNow: start a sync job now (ASYNC only). SwitchRole: planned failover, swap source "
        "and target while both arrays are reachable. ChangeRole: disaster recovery, make the target "
        "writable on its own when the source array is lost."
    )


SourceT = TypeVar("SourceT", bound=BaseModel)
TargetT = TypeVar("TargetT", bound=BaseModel)


class ReplicationSpec(SpecModel, Generic[SourceT, TargetT]):
    """The spec of a replication object; ``source`` and ``target`` are kind-specific."""

    model_config = ConfigDict(json_schema_extra=validations(*SPEC_RULES))

    source: SourceT = Field(
        description="The entity to replicate and the array it lives on. Immutable.",
        json_schema_extra=immutable(
            "spec.source", "delete this object and create a new one to replicate a different entity"
        ),
    )
    target: TargetT = Field(
        description="Where the replica goes: the remote array, the link, and where the remote entity "
        "comes from. Immutable.",
        json_schema_extra=immutable(
            "spec.target", "delete this object and create a new one to replicate to a different place"
        ),
    )
    replication_type: ReplicationType = Field(
        default=DEFAULT_REPLICATION_TYPE,
        description="ASYNC: the target follows periodically, bounded by rpo. SYNC: a write is acknowledged "
        "only once both arrays have it. Default: ASYNC. Mutable: while the replica is INITIALIZING the "
        "change waits (see status.pendingReplicationType).",
    )
    rpo: Duration | None = Field(
        default=None,
        description="Recovery point objective: how far, in time, the target may fall behind, as a duration "
        "of whole h, m, s or ms (e.g. 5m, 1m30s), at most 168h. ASYNC only. Absent means the array's "
        "default. Mutable.",
    )
    sync_interval: Duration | None = Field(
        default=None,
        description="How often a sync job starts, as a duration of whole h, m, s or ms (e.g. 30s). ASYNC "
        "only; at most 168h and not longer than rpo. Absent means the array's default. Mutable.",
    )
    suspended: bool = Field(
        default=False,
        description="true suspends replication on the array, false resumes it. Default: false. Mutable.",
    )
    auto_resume: bool = Field(
        default=True,
        description="What the operator does with a replica the array AUTO_SUSPENDED (a replication link "
        "down for too long, 24 h on real arrays): true resumes it once both arrays answer again; false "
        "leaves it suspended until you resume it (set autoResume to true, or resume it on the array), so "
        "you can look at why it stopped first. Default: true. Mutable.",
    )
    deletion_policy: DeletionPolicy = Field(
        default=DeletionPolicy.DELETE,
        description="What deleting this object does. Delete: remove the replica from the arrays (the "
        "volumes, filesystems and consistency groups stay). Orphan: leave the replica running, unmanaged. "
        "Default: Delete. Mutable.",
    )
    management_policy: ManagementPolicy = Field(
        default=ManagementPolicy.FULL,
        description="Full: the operator creates, changes and deletes the replica. ObserveOnly: it adopts an "
        "existing replica and only reports it, never calling a mutating endpoint. Default: Full. Mutable.",
    )
    drift_policy: DriftPolicy = Field(
        default=DriftPolicy.CORRECT,
        description="What happens when the array no longer matches the spec. Correct: put the array back "
        "to the spec. Report: set the Synced condition to False and post an Event only. Default: Correct. "
        "Mutable.",
    )
    action: Action | None = Field(
        default=None,
        description="A one-shot operation, run once per action id; the outcome is in status.lastAction. "
        "Absent means no action. Mutable.",
    )

    def schedule(self) -> tuple[timedelta | None, timedelta | None]:
        """(rpo, syncInterval) to ask the array for: both None when the type has no schedule."""
        if schedule_applies(self.replication_type):
            return self.rpo, self.sync_interval
        return None, None


class Endpoint(StatusModel):
    """One side of a replica as it is now."""

    array: ObjectName | None = Field(default=None, description="Name of the InfiniBox object of this side.")
    entity: EntityName | None = Field(default=None, description="Name of the entity on that array.")


class LastAction(StatusModel):
    """The outcome of the most recent one-shot action."""

    id: ActionId = Field(description="The spec.action.id this outcome belongs to.")
    type: ActionType = Field(description="The spec.action.type that ran.")
    result: ActionResult = Field(description="Succeeded, Failed or InProgress.")
    message: Message | None = Field(default=None, description="What happened, for humans.")
    started_at: Timestamp | None = Field(default=None, description="When the action started (RFC 3339, UTC).")
    completed_at: Timestamp | None = Field(
        default=None, description="When the action finished (RFC 3339, UTC); absent while InProgress."
    )
    attempted_at: Timestamp | None = Field(
        default=None,
        description="While InProgress: when the call was last sent to the array (RFC 3339, UTC). Its "
        "answer may have been lost, so later passes decide from the arrays whether it took effect "
        "before ever sending it again.",
    )


class ReplicaStatus(StatusModel):
    """What the operator last saw of the replica on the arrays. Written by the operator only."""

    observed_generation: int | None = Field(
        default=None, ge=0, description="The .metadata.generation this status was computed from."
    )
    replica_id: int | None = Field(default=None, ge=0, description="Id of the replica on spec.source.array.")
    remote_replica_id: int | None = Field(
        default=None, ge=0, description="Id of the replica on spec.target.array."
    )
    source_serial: int | None = Field(
        default=None,
        ge=0,
        description="Serial of the system behind spec.source.array when replicaId was recorded: ids are "
        "per system, so a different serial there now stops every call with that id (ArrayChanged).",
    )
    target_serial: int | None = Field(
        default=None,
        ge=0,
        description="Serial of the system behind spec.target.array when remoteReplicaId was recorded.",
    )
    state: ArrayText | None = Field(
        default=None, description="State of the replica on the array, e.g. ACTIVE, SUSPENDED, AUTO_SUSPENDED."
    )
    sync_state: ArrayText | None = Field(
        default=None,
        description="Synchronisation state, e.g. INITIALIZING, SYNCHRONIZED, SYNC_IN_PROGRESS, OUT_OF_SYNC.",
    )
    replication_type: ArrayText | None = Field(
        default=None, description="Replication type as the array reports it, e.g. ASYNC or SYNC."
    )
    rpo: Duration | None = Field(default=None, description="RPO as the array reports it, as a duration.")
    sync_interval: Duration | None = Field(
        default=None, description="Sync interval as the array reports it, as a duration."
    )
    role: ArrayText | None = Field(
        default=None,
        description="Role of the replica on spec.source.array: SOURCE, or TARGET after a role switch.",
    )
    current_source: Endpoint | None = Field(
        default=None,
        description="The side that is the source now; swaps with currentTarget after a role switch.",
    )
    current_target: Endpoint | None = Field(default=None, description="The side that is the target now.")
    progress: int | None = Field(
        default=None, ge=0, le=100, description="Progress of the running sync job, in percent (0 to 100)."
    )
    last_synchronized: Timestamp | None = Field(
        default=None, description="When the target was last consistent with the source (RFC 3339, UTC)."
    )
    last_observed: Timestamp | None = Field(
        default=None, description="When the operator last read the replica from the array (RFC 3339, UTC)."
    )
    rpo_state: ArrayText | None = Field(
        default=None,
        description="Whether the last sync met the RPO, as the array reports it, e.g. OK or LAGGING.",
    )
    pending_replication_type: ReplicationType | None = Field(
        default=None,
        description="The replication type the spec asks for while the array cannot switch to it yet "
        "(the replica is INITIALIZING); absent when no change is waiting.",
    )
    last_action: LastAction | None = Field(
        default=None, description="Outcome of the most recent spec.action."
    )
    resolved_source: ResolvedSource | None = Field(
        default=None,
        description="A Replica with spec.source.persistentVolumeClaim: the PersistentVolume, protocol and "
        "array entity the claim was resolved to.",
    )
    target_claim: ClaimReference | None = Field(
        default=None,
        description="With spec.target.persistentVolumeClaim: the claim and static PersistentVolume the "
        "operator made for the entity on spec.target.array.",
    )
    local_claim: ClaimReference | None = Field(
        default=None,
        description="With spec.source.localClaim: the claim and static PersistentVolume the operator made "
        "for the entity on spec.source.array.",
    )
    writable_claim: ClaimReference | None = Field(
        default=None,
        description="The claim whose volume is writable now: spec.source.persistentVolumeClaim (or "
        "localClaim) while spec.source.array is the source, targetClaim after a SwitchRole or ChangeRole "
        "made spec.target.array the source. Absent when that side has no claim.",
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        max_length=MAX_CONDITIONS,
        description="Ready: the replica exists and is healthy. Synced: the array matches the spec (False "
        "with a reason such as TypeChangeDeferred, ArrayUnreachable, NotFound, Conflict or Rejected). "
        "RPOCompliant: the last sync met the RPO. Replicating: data is flowing (not suspended, not failed).",
        json_schema_extra=CONDITION_LIST_SCHEMA,
    )
