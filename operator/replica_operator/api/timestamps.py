"""Points in time as Kubernetes writes them: RFC 3339, UTC, ``Z``, whole seconds (like metav1.Time)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, PlainSerializer, WithJsonSchema


def format_timestamp(value: datetime) -> str:
    """``datetime(2026, 11, 25, 12, tzinfo=UTC)`` -> ``"2026-11-25T12:00:00Z"``; sub-seconds are dropped."""
    if value.tzinfo is None:
        raise ValueError(f"a timestamp needs a time zone: {value!r}")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


Timestamp = Annotated[
    AwareDatetime,
    AfterValidator(_to_utc),
    PlainSerializer(format_timestamp, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""An aware ``datetime`` in UTC, read from RFC 3339 and written as ``2026-11-25T12:00:00Z``."""
