"""``ConsistencyGroupReplica``: one replicated consistency group (its member volumes move together)."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from .base import SpecModel, StatusModel
from .cel import Reason, rule, validations
from .names import EntityName, ObjectName
from .replication import MODE_IS_CREATE, TARGET_RULES, ReplicaStatus, ReplicationSpec, TargetBase
from .volumes import ClaimReference, GroupTargetClaims, LabelSelector

MAX_MEMBERS = 256
_VOLUME_PAIR = "has(m.local) && has(m.remote) && !has(m.localSnapshot) && !has(m.remoteSnapshot)"
_SNAPSHOT_PAIR = "has(m.localSnapshot) && has(m.remoteSnapshot) && !has(m.local) && !has(m.remote)"


class ConsistencyGroupSource(SpecModel):
    """The consistency group to replicate, or the claims whose volumes make it up."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            rule(
                "has(self.consistencyGroup) != has(self.persistentVolumeClaimSelector)",
                "exactly one of consistencyGroup or persistentVolumeClaimSelector must be set",
            )
        )
    )

    array: ObjectName = Field(description="Name of the InfiniBox object of the source array. Immutable.")
    consistency_group: EntityName | None = Field(
        default=None,
        description="Name of the consistency group to replicate. Exactly one of consistencyGroup or "
        "persistentVolumeClaimSelector. Immutable.",
    )
    persistent_volume_claim_selector: LabelSelector | None = Field(
        default=None,
        description="A label selector over PersistentVolumeClaims in this namespace (of "
        "infinibox-csi-driver, on array, all of one protocol): the operator creates and owns a consistency "
        "group holding exactly their volumes and keeps its members in line as matching claims come and go "
        "(on both arrays once replicated). No matching claim, or one not bound yet: it waits (no empty "
        "group is made). Exactly one of consistencyGroup or persistentVolumeClaimSelector. Immutable.",
    )


class MemberMapping(SpecModel):
    """Pairs one member of the source group with its counterpart on the target array."""

    local: EntityName | None = Field(
        default=None, description="Member volume on the source array (mode Existing)."
    )
    remote: EntityName | None = Field(
        default=None, description="Existing volume on the target array it replicates onto (mode Existing)."
    )
    local_snapshot: EntityName | None = Field(
        default=None, description="Snapshot of a member volume on the source array (mode BaseSnapshot)."
    )
    remote_snapshot: EntityName | None = Field(
        default=None, description="The matching snapshot on the target array (mode BaseSnapshot)."
    )


class ConsistencyGroupTarget(TargetBase):
    """Where a consistency group replica goes."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            *TARGET_RULES,
            rule(
                f"{MODE_IS_CREATE} || has(self.memberMappings)",
                "memberMappings is required when mode is Existing or BaseSnapshot",
                field_path=".memberMappings",
                reason=Reason.REQUIRED,
            ),
            rule(
                f"!{MODE_IS_CREATE} || !has(self.memberMappings)",
                "memberMappings is only allowed when mode is Existing or BaseSnapshot",
                field_path=".memberMappings",
                reason=Reason.FORBIDDEN,
            ),
            rule(
                f"!has(self.mode) || self.mode != 'Existing' || !has(self.memberMappings) "
                f"|| self.memberMappings.all(m, {_VOLUME_PAIR})",
                "with mode Existing every memberMappings item needs local and remote (member volume names) "
                "and no snapshots",
                field_path=".memberMappings",
                reason=Reason.INVALID,
            ),
            rule(
                f"!has(self.mode) || self.mode != 'BaseSnapshot' || !has(self.memberMappings) "
                f"|| self.memberMappings.all(m, {_SNAPSHOT_PAIR})",
                "with mode BaseSnapshot every memberMappings item needs localSnapshot and remoteSnapshot "
                "and no volume names",
                field_path=".memberMappings",
                reason=Reason.INVALID,
            ),
        )
    )

    persistent_volume_claim: GroupTargetClaims | None = Field(
        default=None,
        description="Static PersistentVolumes for the remote members and one claim bound to each, named "
        "from a template, so the application can mount them after a failover. Absent means none. Immutable.",
    )
    member_mappings: list[MemberMapping] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_MEMBERS,
        description="How members pair up across the arrays. Existing: one {local, remote} item per member "
        "volume, required. BaseSnapshot: one {localSnapshot, remoteSnapshot} item per member, required. "
        "Create: not allowed (the operator creates the remote members). Immutable.",
    )


class ConsistencyGroupReplicaSpec(ReplicationSpec[ConsistencyGroupSource, ConsistencyGroupTarget]):
    """The desired replica of one consistency group."""


class MemberStatus(StatusModel):
    """One member volume and its counterpart, as the array reports them."""

    local: EntityName | None = Field(default=None, description="Member volume on spec.source.array.")
    remote: EntityName | None = Field(default=None, description="Its replica on spec.target.array.")
    persistent_volume_claim: ObjectName | None = Field(
        default=None,
        description="With spec.source.persistentVolumeClaimSelector: the claim whose volume this member is.",
    )


class ConsistencyGroupReplicaStatus(ReplicaStatus):
    """What the operator last saw of the group replica and its members. Written by the operator only."""

    members: list[MemberStatus] = Field(
        default_factory=list,
        max_length=MAX_MEMBERS,
        description="The member volumes of the group and their counterparts on the target array.",
    )
    target_claims: list[ClaimReference] | None = Field(
        default=None,
        max_length=MAX_MEMBERS,
        description="With spec.target.persistentVolumeClaim: one claim and static PersistentVolume per "
        "member, for its volume on spec.target.array (writable after a SwitchRole or ChangeRole, when "
        "currentSource is spec.target.array).",
    )
