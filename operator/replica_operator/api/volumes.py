"""Kubernetes claims as sources and targets of replicas (issue 17): the shapes, no behaviour."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from .base import SpecModel, StatusModel
from .cel import Reason, rule, validations
from .names import ArrayText, EntityName, NamespaceName, ObjectName

MAX_SELECTOR_TERMS = 32
MAX_SELECTOR_VALUES = 64
MEMBER_PLACEHOLDER = "{member}"

LabelKey = Annotated[str, StringConstraints(min_length=1, max_length=317)]
"""A label key: an optional DNS-subdomain prefix and a name (the API server checks it again)."""
LabelValue = Annotated[str, StringConstraints(max_length=63)]
ClaimNameTemplate = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=r"^[a-z0-9{]([-a-z0-9.{}]*[a-z0-9}])?$")
]
"""A claim name with ``{member}`` in it (lower-case letters, digits, '-', '.')."""


class SelectorOperator(StrEnum):
    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"


class LabelSelectorRequirement(SpecModel):
    """One term of a label selector (as in ``metav1.LabelSelectorRequirement``)."""

    key: LabelKey = Field(description="The label key the term applies to.")
    operator: SelectorOperator = Field(description="In, NotIn, Exists or DoesNotExist.")
    values: list[LabelValue] | None = Field(
        default=None,
        max_length=MAX_SELECTOR_VALUES,
        description="Values for In and NotIn (non-empty); empty or absent for Exists and DoesNotExist.",
    )


class LabelSelector(SpecModel):
    """A standard Kubernetes label selector (``matchLabels`` and ``matchExpressions`` are ANDed)."""

    match_labels: dict[str, LabelValue] | None = Field(
        default=None,
        description="Labels a claim must carry, each with exactly this value.",
        json_schema_extra={"maxProperties": MAX_SELECTOR_TERMS},
    )
    match_expressions: list[LabelSelectorRequirement] | None = Field(
        default=None, max_length=MAX_SELECTOR_TERMS, description="Terms a claim's labels must all satisfy."
    )


class TargetClaim(SpecModel):
    """The claim the operator makes for the remote volume or filesystem of a Replica."""

    name: ObjectName = Field(description="Name of the PersistentVolumeClaim to create. Required.")
    namespace: NamespaceName | None = Field(
        default=None, description="Namespace of the claim. Absent means the namespace of this object."
    )
    storage_class_name: ObjectName | None = Field(
        default=None,
        description="storageClassName of the claim and its PersistentVolume: a StorageClass of "
        "infinibox-csi-driver for spec.target.array, whose parameters give the driver's Secret for that "
        "array. Absent means the source PersistentVolume's class.",
    )


class LocalClaim(SpecModel):
    """The claim the operator makes on this cluster for the Replica's own entity on spec.source.array."""

    name: ObjectName = Field(description="Name of the PersistentVolumeClaim to create. Required.")
    namespace: NamespaceName | None = Field(
        default=None, description="Namespace of the claim. Absent means the namespace of this object."
    )
    storage_class_name: ObjectName | None = Field(
        default=None,
        description="storageClassName of the claim and its PersistentVolume: a StorageClass of "
        "infinibox-csi-driver for spec.source.array, whose parameters give the driver's Secret for that "
        'array. Absent means none ("").',
    )


class GroupTargetClaims(SpecModel):
    """The claims the operator makes for the remote members of a ConsistencyGroupReplica, one each."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            rule(
                f"self.name.contains('{MEMBER_PLACEHOLDER}')",
                f"name must contain {MEMBER_PLACEHOLDER}: one claim is made per member",
                field_path=".name",
                reason=Reason.INVALID,
            )
        )
    )

    name: ClaimNameTemplate = Field(
        description="Template of the claims' names: {member} is replaced by the source claim's name "
        "(persistentVolumeClaimSelector) or else by the member volume's name, lower-cased, e.g. "
        "{member}-dr. Required."
    )
    namespace: NamespaceName | None = Field(
        default=None, description="Namespace of the claims. Absent means the namespace of this object."
    )
    storage_class_name: ObjectName | None = Field(
        default=None,
        description="storageClassName of the claims and their PersistentVolumes (see the Replica's "
        "spec.target.persistentVolumeClaim). Absent means the source PersistentVolume's class.",
    )


class ResolvedSource(StatusModel):
    """What spec.source.persistentVolumeClaim was found to name."""

    persistent_volume: ObjectName | None = Field(default=None, description="The PV the claim is bound to.")
    protocol: ArrayText | None = Field(
        default=None, description="The CSI driver's protocol from the volumeHandle: iscsi, fc or nfs."
    )
    entity_id: int | None = Field(
        default=None, ge=0, description="Id of the volume or filesystem on spec.source.array."
    )
    entity: EntityName | None = Field(
        default=None, description="Name of that volume or filesystem: the entity this object replicates."
    )


class ClaimReference(StatusModel):
    """A PersistentVolumeClaim, by namespace and name."""

    name: ObjectName | None = Field(default=None, description="Name of the claim.")
    namespace: NamespaceName | None = Field(default=None, description="Namespace of the claim.")
    persistent_volume: ObjectName | None = Field(
        default=None,
        description="The PersistentVolume it is bound to (made by the operator for a target claim).",
    )
