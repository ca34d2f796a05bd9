"""The Events of one pass: what the steps did, and the transitions a user should hear of."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from replica_operator.api import ActionResult, ConditionStatus, ConditionType, LastAction

from .conditions import find
from .desired import Status
from .observed import ArrayReplica, Problem
from .steps import Create, Step
from .volumes import REFUSED_CLAIM_REASONS

if TYPE_CHECKING:
    from .plan import Plan

T = ConditionStatus.TRUE


class EventType(StrEnum):
    NORMAL = "Normal"
    WARNING = "Warning"


@dataclass(frozen=True)
class Event:
    type: EventType
    reason: str
    message: str


@dataclass(frozen=True)
class StepResult:
    """How one step went; ``problem`` is None on success."""

    step: Step
    problem: Problem | None = None
    code: str | None = None
    """The array's error code, when the array refused."""
    replica: ArrayReplica | None = None
    """The replica as the array answered the step (a create, an update), when it did."""
    outcome_unknown: bool = False
    """The call was sent but its answer was lost: the array may or may not have acted."""


_WARN_ON_ENTRY = frozenset(
    {"Conflict", "NotFound", "Drifted", "ArrayUnreachable", "RoleConflict", "DeletionBlocked", "Unauthorized"}
    | {"Unsupported", "InvalidConfiguration", "MembershipFailed"}
    | REFUSED_CLAIM_REASONS
)


def events_of(
    plan: Plan, results: Sequence[StepResult], previous: Status, current: Status
) -> tuple[Event, ...]:
    """The Events that tell what this pass did and which transitions it made."""
    events: list[Event] = []
    if plan.adopted is not None:
        events.append(
            Event(EventType.NORMAL, "Adopted", f"adopted replica {plan.adopted.id} on {plan.adopted.array}")
        )
    for result in results:
        if result.problem is None:
            message = result.step.done()
            if result.step.drift:
                message = f"corrected a change made outside Kubernetes: {message}"
            elif isinstance(result.step, Create) and current.replica_id is not None:
                message = f"created replica {current.replica_id}"
            events.append(Event(EventType.NORMAL, result.step.event_reason, message))
        else:
            events.append(
                Event(
                    EventType.WARNING,
                    result.problem.reason,
                    f"could not {result.step.describe()}: {result.problem.message}",
                )
            )
    if current.pending_replication_type is not None and previous.pending_replication_type is None:
        events.append(
            Event(
                EventType.NORMAL,
                "TypeChangeDeferred",
                f"the change to {current.pending_replication_type} waits for the initial sync to finish",
            )
        )
    before, after = (
        find(previous.conditions, ConditionType.SYNCED),
        find(current.conditions, ConditionType.SYNCED),
    )
    if (
        after is not None
        and after.reason in _WARN_ON_ENTRY
        and (before is None or before.reason != after.reason)
    ):
        events.append(Event(EventType.WARNING, after.reason, after.message))
    ready_before, ready_after = find(previous.conditions, "Ready"), find(current.conditions, "Ready")
    if (
        ready_after is not None
        and ready_after.status is T
        and (ready_before is None or ready_before.status is not T)
    ):
        events.append(Event(EventType.NORMAL, "Ready", ready_after.message))
    events.extend(_action_outcome(previous.last_action, current.last_action))
    return tuple(events)


def _action_outcome(before: LastAction | None, after: LastAction | None) -> tuple[Event, ...]:
    """The Event of a one-shot action that has just finished (either way)."""
    if after is None or after == before or after.result is ActionResult.IN_PROGRESS:
        return ()
    kind = EventType.NORMAL if after.result is ActionResult.SUCCEEDED else EventType.WARNING
    return (Event(kind, f"Action{after.result}", f"{after.type} {after.id}: {after.message}"),)
