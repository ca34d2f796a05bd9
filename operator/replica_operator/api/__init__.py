"""The custom resources of ``replication.infinibox.io/v1alpha1`` as pydantic models.

The CRD YAML in ``crds/`` is generated from these models (``crdgen``). Structural rules
(types, enums, patterns, ranges) are checked by both pydantic and the API server; rules
across fields (one-of, mode-dependent fields, ASYNC-only fields, immutability) are CEL
rules attached to the models and enforced by the API server only. Defaults live here,
not in the CRD: ``model_validate`` fills them in memory.
"""

from .cgreplica import (
    ConsistencyGroupReplicaSpec,
    ConsistencyGroupReplicaStatus,
    ConsistencyGroupSource,
    ConsistencyGroupTarget,
    MemberMapping,
    MemberStatus,
)
from .conditions import Condition
from .constants import (
    API_VERSION,
    CATEGORY,
    CONSISTENCY_GROUP_REPLICA_KIND,
    CONSISTENCY_GROUP_REPLICA_PLURAL,
    FINALIZER,
    GROUP,
    INFINIBOX_KIND,
    INFINIBOX_PLURAL,
    REPLICA_DRILL_KIND,
    REPLICA_DRILL_PLURAL,
    REPLICA_KIND,
    REPLICA_PLURAL,
    VERSION,
)
from .drill import (
    DrillClaim,
    DrillProtocol,
    DrillReplicaRef,
    DrillSnapshot,
    ReplicaDrillSpec,
    ReplicaDrillStatus,
)
from .durations import Duration, format_duration, parse_duration
from .enums import (
    ActionResult,
    ActionType,
    ConditionStatus,
    ConditionType,
    DeletionPolicy,
    DriftPolicy,
    ManagementPolicy,
    ReplicationType,
    TargetMode,
)
from .infinibox import (
    CASecretReference,
    InfiniBoxSpec,
    InfiniBoxStatus,
    LinkStatus,
    SecretReference,
    TLSConfig,
)
from .replica import BaseSnapshot, ReplicaSource, ReplicaSpec, ReplicaTarget
from .replication import Action, Endpoint, LastAction, ReplicaStatus, schedule_applies
from .resources import CONSISTENCY_GROUP_REPLICA, INFINIBOX, REPLICA, REPLICA_DRILL, RESOURCES, CustomResource
from .timestamps import Timestamp, format_timestamp
from .volumes import (
    MEMBER_PLACEHOLDER,
    ClaimReference,
    GroupTargetClaims,
    LabelSelector,
    LabelSelectorRequirement,
    ResolvedSource,
    SelectorOperator,
    TargetClaim,
)

__all__ = [
    "API_VERSION",
    "CATEGORY",
    "CONSISTENCY_GROUP_REPLICA",
    "CONSISTENCY_GROUP_REPLICA_KIND",
    "CONSISTENCY_GROUP_REPLICA_PLURAL",
    "FINALIZER",
    "GROUP",
    "INFINIBOX",
    "INFINIBOX_KIND",
    "INFINIBOX_PLURAL",
    "MEMBER_PLACEHOLDER",
    "REPLICA",
    "REPLICA_DRILL",
    "REPLICA_DRILL_KIND",
    "REPLICA_DRILL_PLURAL",
    "REPLICA_KIND",
    "REPLICA_PLURAL",
    "RESOURCES",
    "VERSION",
    "Action",
    "ActionResult",
    "ActionType",
    "BaseSnapshot",
    "CASecretReference",
    "ClaimReference",
    "Condition",
    "ConditionStatus",
    "ConditionType",
    "ConsistencyGroupReplicaSpec",
    "ConsistencyGroupReplicaStatus",
    "ConsistencyGroupSource",
    "ConsistencyGroupTarget",
    "CustomResource",
    "DeletionPolicy",
    "DriftPolicy",
    "DrillClaim",
    "DrillProtocol",
    "DrillReplicaRef",
    "DrillSnapshot",
    "Duration",
    "Endpoint",
    "GroupTargetClaims",
    "InfiniBoxSpec",
    "InfiniBoxStatus",
    "LabelSelector",
    "LabelSelectorRequirement",
    "LastAction",
    "LinkStatus",
    "ManagementPolicy",
    "MemberMapping",
    "MemberStatus",
    "ReplicaDrillSpec",
    "ReplicaDrillStatus",
    "ReplicaSource",
    "ReplicaSpec",
    "ReplicaStatus",
    "ReplicaTarget",
    "ReplicationType",
    "ResolvedSource",
    "SecretReference",
    "SelectorOperator",
    "TLSConfig",
    "TargetClaim",
    "TargetMode",
    "Timestamp",
    "format_duration",
    "format_timestamp",
    "parse_duration",
    "schedule_applies",
]
