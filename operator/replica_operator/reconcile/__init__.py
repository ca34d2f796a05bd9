"""The functional core: desired spec + what the arrays show -> steps to take and status to write.

No I/O and no kopf here; every rule of replication lives in this package and is tested
without either. ``decide`` plans, :mod:`replica_operator.controller` executes, ``summarize`` writes it down.
"""

from .claims import conflict
from .conditions import Verdict, camel_reason, merge
from .creation import create_step, recreate_step
from .desired import ACCEPT_ARRAY_ANNOTATION, RECREATE_ANNOTATION, TAKE_OVER_ANNOTATION, Desired, EntityKind
from .drill import (
    DRILL_LABEL,
    DrillTarget,
    claim_manifests,
    claim_name,
    drill_conditions,
    snapshot_name,
    target_of,
    volume_name,
)
from .events import Event, EventType, StepResult
from .identity import accept_new_system, array_changed
from .observed import ArrayReplica, Observation, Problem, Role, Side, SideName
from .ownership import (
    describe_owner,
    foreign_uid,
    marked_in_another_namespace,
    not_ours,
    owner_mark,
    owner_uid,
)
from .plan import Plan, action_pending, adoptable, decide
from .progress import array_progress
from .status import (
    NOT_RECORDED,
    PROGRESS_WRITE_SECONDS,
    StatusUpdate,
    only_progress_moved,
    summarize,
    sync_state,
)
from .steps import (
    ChangeType,
    Create,
    Delete,
    RemoteSide,
    Resume,
    RunAction,
    Step,
    Suspend,
    TakeOver,
    UpdateSchedule,
)
from .volumes import (
    CSI_DRIVER,
    TARGET_LABEL,
    CsiProtocol,
    CsiVolume,
    StaticClaim,
    bound_volume,
    entity_kind,
    member_claim_name,
    member_pv_name,
    parse_handle,
    parse_pv,
    static_manifests,
    storage_class_csi,
    target_pv_name,
)

__all__ = [
    "ACCEPT_ARRAY_ANNOTATION",
    "CSI_DRIVER",
    "DRILL_LABEL",
    "NOT_RECORDED",
    "PROGRESS_WRITE_SECONDS",
    "RECREATE_ANNOTATION",
    "TAKE_OVER_ANNOTATION",
    "TARGET_LABEL",
    "ArrayReplica",
    "ChangeType",
    "Create",
    "CsiProtocol",
    "CsiVolume",
    "Delete",
    "Desired",
    "DrillTarget",
    "EntityKind",
    "Event",
    "EventType",
    "Observation",
    "Plan",
    "Problem",
    "RemoteSide",
    "Resume",
    "Role",
    "RunAction",
    "Side",
    "SideName",
    "StaticClaim",
    "StatusUpdate",
    "Step",
    "StepResult",
    "Suspend",
    "TakeOver",
    "UpdateSchedule",
    "Verdict",
    "accept_new_system",
    "action_pending",
    "adoptable",
    "array_changed",
    "array_progress",
    "bound_volume",
    "camel_reason",
    "claim_manifests",
    "claim_name",
    "conflict",
    "create_step",
    "decide",
    "describe_owner",
    "drill_conditions",
    "entity_kind",
    "foreign_uid",
    "marked_in_another_namespace",
    "member_claim_name",
    "member_pv_name",
    "merge",
    "not_ours",
    "only_progress_moved",
    "owner_mark",
    "owner_uid",
    "parse_handle",
    "parse_pv",
    "recreate_step",
    "snapshot_name",
    "static_manifests",
    "storage_class_csi",
    "summarize",
    "sync_state",
    "target_of",
    "target_pv_name",
    "volume_name",
]
