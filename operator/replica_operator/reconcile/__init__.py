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
from .ownership import describe_owner, foreign_uid, not_ours, owner_mark, owner_uid
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

__all__ = [
    "ACCEPT_ARRAY_ANNOTATION",
    "DRILL_LABEL",
    "NOT_RECORDED",
    "PROGRESS_WRITE_SECONDS",
    "RECREATE_ANNOTATION",
    "TAKE_OVER_ANNOTATION",
    "ArrayReplica",
    "ChangeType",
    "Create",
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
    "camel_reason",
    "claim_manifests",
    "claim_name",
    "conflict",
    "create_step",
    "decide",
    "describe_owner",
    "drill_conditions",
    "foreign_uid",
    "merge",
    "not_ours",
    "only_progress_moved",
    "owner_mark",
    "owner_uid",
    "recreate_step",
    "snapshot_name",
    "summarize",
    "sync_state",
    "target_of",
    "volume_name",
]
