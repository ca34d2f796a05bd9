"""The metrics hook: one :class:`RequestRecord` per HTTP request, for whoever exports metrics.

The client does not import a metrics library; the operator passes an ``observer`` that
turns records into counters and histograms. Every field has low cardinality: the
endpoint is a template (``/api/rest/replicas/{id}/suspend``), never a concrete path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

__all__ = ["Observer", "RequestRecord"]


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One HTTP request to an array (each retry and each login is a request of its own)."""

    #: The client's name for the array.
    array: str
    method: str
    #: The path template, e.g. ``/api/rest/replicas/{id}``.
    endpoint: str
    #: The HTTP status, or None when no answer arrived.
    status: int | None
    #: The :class:`~replica_operator.array.errors.ArrayError` subclass raised, or None on success.
    error: str | None
    duration_seconds: float


Observer: TypeAlias = Callable[[RequestRecord], None]
