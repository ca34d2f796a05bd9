"""What the user asked for: one Replica or ConsistencyGroupReplica, with defaults applied."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from replica_operator.api import (
    ConditionStatus,
    ConditionType,
    ConsistencyGroupReplicaSpec,
    ConsistencyGroupReplicaStatus,
    ManagementPolicy,
    ReplicaSpec,
    ReplicaStatus,
)

RECREATE_ANNOTATION = "replication.infinibox.io/recreate-missing"
"""Opt-in: recreate a replica that was deleted on the array outside Kubernetes."""

TAKE_OVER_ANNOTATION = "replication.infinibox.io/take-over"
"""The user's explicit step: make the replica with this id (an orphan, or made by hand) this object's."""

ACCEPT_ARRAY_ANNOTATION = "replication.infinibox.io/accept-array"
"""The user's step after an InfiniBox url led to another system: accept the system with this serial."""


class EntityKind(StrEnum):
    """What is replicated, in the array's words (``entity_type``)."""

    VOLUME = "VOLUME"
    FILESYSTEM = "FILESYSTEM"
    CONSISTENCY_GROUP = "CONSISTENCY_GROUP"


Spec = ReplicaSpec | ConsistencyGroupReplicaSpec
Status = ReplicaStatus | ConsistencyGroupReplicaStatus


@dataclass(frozen=True)
class Desired:
    """One replication object: spec (defaults filled in), the status it carries, and identity."""

    kind: str
    namespace: str
    name: str
    uid: str
    generation: int
    spec: Spec
    status: Status
    deleting: bool = False
    recreate_missing: bool = False
    take_over: int | None = None
    """The replica id named by :data:`TAKE_OVER_ANNOTATION` (None: none, or not a number)."""
    accept_serial: int | None = None
    """The serial named by :data:`ACCEPT_ARRAY_ANNOTATION`."""

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Desired:
        """Build from the object as the API server returns it (``kopf.Body`` works too)."""
        kind = body["kind"]
        metadata = body["metadata"]
        is_group = kind == "ConsistencyGroupReplica"
        spec: Spec = (ConsistencyGroupReplicaSpec if is_group else ReplicaSpec).model_validate(body["spec"])
        status_model = ConsistencyGroupReplicaStatus if is_group else ReplicaStatus
        status: Status = status_model.model_validate(dict(body.get("status") or {}))
        annotations = metadata.get("annotations") or {}
        return cls(
            kind=kind,
            namespace=metadata["namespace"],
            name=metadata["name"],
            uid=metadata["uid"],
            generation=int(metadata.get("generation") or 0),
            spec=spec,
            status=status,
            deleting=bool(metadata.get("deletionTimestamp")),
            recreate_missing=str(annotations.get(RECREATE_ANNOTATION, "")).lower() == "true",
            take_over=_positive_int(annotations.get(TAKE_OVER_ANNOTATION)),
            accept_serial=_positive_int(annotations.get(ACCEPT_ARRAY_ANNOTATION)),
        )

    @property
    def is_group(self) -> bool:
        return isinstance(self.spec, ConsistencyGroupReplicaSpec)

    @property
    def entity_kind(self) -> EntityKind:
        if isinstance(self.spec, ConsistencyGroupReplicaSpec):
            return EntityKind.CONSISTENCY_GROUP
        return EntityKind.VOLUME if self.spec.source.volume else EntityKind.FILESYSTEM

    @property
    def source_entity(self) -> str:
        """Name of the replicated entity on spec.source.array."""
        source = self.spec.source
        if isinstance(self.spec, ConsistencyGroupReplicaSpec):
            return self.spec.source.consistency_group or owned_group_name(self.namespace, self.name, self.uid)
        return str(getattr(source, "volume", None) or getattr(source, "filesystem", None))

    @property
    def full_management(self) -> bool:
        return self.spec.management_policy is ManagementPolicy.FULL

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def in_sync_generation(self) -> int | None:
        """The generation the arrays were last seen to match, or None.

        A difference at this generation is drift (someone changed the array); a newer
        generation means the user changed the spec, which is always applied.
        """
        for condition in self.status.conditions:
            if condition.type == ConditionType.SYNCED and (
                condition.status is ConditionStatus.TRUE or condition.reason == "Drifted"
            ):
                return self.status.observed_generation
        return None


MAX_GROUP_NAME = 64
"""Bounded well below the array's 255 so that the target group (named after it) fits any prefix."""


def owned_group_name(namespace: str, name: str, uid: str) -> str:
    """The consistency group a claim-selector ConsistencyGroupReplica owns on its source array:
    ``iro-<namespace>-<name>-<digest of the uid>``, the readable part cut to fit. Deterministic
    (found again after a restart), unique per object (a re-created object gets a new group)."""
    digest = hashlib.sha256(uid.encode()).hexdigest()[:10]
    readable = re.sub(r"[^A-Za-z0-9_-]+", "-", f"{namespace}-{name}")
    room = MAX_GROUP_NAME - len("iro-") - len(digest) - 1
    return f"iro-{readable[:room].rstrip('-')}-{digest}"


def _positive_int(value: object) -> int | None:
    """A replica id or serial written in an annotation, or None when it is not a positive integer."""
    text = str(value or "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else None
