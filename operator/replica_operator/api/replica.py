"""``Replica``: one replicated volume or filesystem."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from .base import SpecModel
from .cel import Reason, rule, validations
from .names import EntityName, ObjectName
from .replication import TARGET_RULES, ReplicaStatus, ReplicationSpec, TargetBase

__all__ = ["BaseSnapshot", "ReplicaSource", "ReplicaSpec", "ReplicaStatus", "ReplicaTarget"]


class ReplicaSource(SpecModel):
    """The volume or filesystem to replicate."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            rule(
                "has(self.volume) != has(self.filesystem)", "exactly one of volume or filesystem must be set"
            )
        )
    )

    array: ObjectName = Field(description="Name of the InfiniBox object of the source array. Immutable.")
    volume: EntityName | None = Field(
        default=None,
        description="Name of the volume to replicate. Exactly one of volume or filesystem. Immutable.",
    )
    filesystem: EntityName | None = Field(
        default=None,
        description="Name of the filesystem to replicate. Exactly one of volume or filesystem. Immutable.",
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

    base_snapshot: BaseSnapshot | None = Field(
        default=None,
        description="The snapshots to start from: local on the source array, remote on the target array, "
        "taken of the same data. Required when mode is BaseSnapshot, not allowed otherwise. Immutable.",
    )


class ReplicaSpec(ReplicationSpec[ReplicaSource, ReplicaTarget]):
    """The desired replica of one volume or filesystem."""
