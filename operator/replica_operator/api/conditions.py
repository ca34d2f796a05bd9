"""``metav1.Condition``, field for field, so generic tools (kubectl wait, Argo CD) understand our status."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints

from .base import StatusModel
from .enums import ConditionStatus
from .names import Message
from .timestamps import Timestamp

CONDITION_TYPE_PATTERN = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
)
CONDITION_REASON_PATTERN = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"
MAX_CONDITIONS = 32

CONDITION_LIST_SCHEMA: dict[str, Any] = {
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["type"],
}
"""``json_schema_extra`` for a ``conditions`` list: one entry per type, merged by type on patch."""


class Condition(StatusModel):
    """One aspect of the object's state, with when and why it last changed."""

    type: Annotated[str, StringConstraints(min_length=1, max_length=316, pattern=CONDITION_TYPE_PATTERN)] = (
        Field(description="Type of condition in CamelCase, e.g. Ready or Synced.")
    )
    status: ConditionStatus = Field(description="Status of the condition: True, False or Unknown.")
    observed_generation: int | None = Field(
        default=None,
        ge=0,
        description="The .metadata.generation the condition was set from; older than the object's "
        "generation means the condition is out of date.",
    )
    last_transition_time: Timestamp = Field(
        description="When the condition last changed status (RFC 3339, UTC)."
    )
    reason: Annotated[
        str, StringConstraints(min_length=1, max_length=1024, pattern=CONDITION_REASON_PATTERN)
    ] = Field(
        description="Why the condition is in this status: a CamelCase word for programs, "
        "e.g. TypeChangeDeferred."
    )
    message: Message = Field(description="Why the condition is in this status, for humans; may be empty.")
