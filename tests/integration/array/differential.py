"""What the differential test compares, and how it states the differences it intends.

Both clients do the same operation on objects of their own, so ids differ; everything else
must match: method, path, query parameters, the raw-response header, and the body's keys
and values (intervals in ms, enumerations as the array spells them). Reads each client makes
for its own bookkeeping (infinisdk's ``?fields=`` reads, our read-backs) are not the
operation and are left out; a scenario that is about a read says which reads it compares.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from tests.integration.array.proxy import Wire

__all__ = ["Intended", "Shape", "changes", "shape", "shapes"]

ID = "<id>"
_DIGITS = re.compile(r"(?<=/)\d+(?=/|$)")
_ID_VALUE = re.compile(r"^(eq|ne|in|is|isnot):\d+$")
_UNCOMPARED = ("/api/rest/users/login", "/api/rest/users/logout")


@dataclass(frozen=True)
class Shape:
    """A request with its ids replaced by ``<id>``: what both clients must agree on."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    body: Any
    raw_response: bool


@dataclass(frozen=True)
class Intended:
    """A difference kept on purpose: ``adjust`` turns the SDK's requests into ours; ``reason`` says why."""

    reason: str
    adjust: Callable[[list[Shape]], list[Shape]]


def _body_shape(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _body_shape(v, k) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_body_shape(item, key) for item in value]
    if (key == "id" or key.endswith("_id")) and isinstance(value, int) and not isinstance(value, bool):
        return ID
    return value


def _query_value(value: str) -> str:
    return _ID_VALUE.sub(lambda m: f"{m.group(1)}:{ID}", value)


def shape(wire: Wire) -> Shape:
    return Shape(
        method=wire.method,
        path=_DIGITS.sub(ID, wire.path),
        query=tuple(sorted((key, _query_value(value)) for key, value in wire.query)),
        body=_body_shape(wire.body),
        raw_response=wire.raw_response,
    )


def changes(wire: Wire) -> bool:
    """The requests that make an operation: every change except the session's own."""
    return wire.method != "GET" and wire.path not in _UNCOMPARED


def shapes(wires: list[Wire], compared: Callable[[Wire], bool] = changes) -> list[Shape]:
    return [shape(wire) for wire in wires if compared(wire)]


# -- building intended differences


def add_query(*extra: tuple[str, str]) -> Callable[[list[Shape]], list[Shape]]:
    def adjust(found: list[Shape]) -> list[Shape]:
        return [replace(s, query=tuple(sorted((*s.query, *extra)))) for s in found]

    return adjust


def add_body(**extra: Any) -> Callable[[list[Shape]], list[Shape]]:
    def adjust(found: list[Shape]) -> list[Shape]:
        return [replace(s, body={**s.body, **extra}) if isinstance(s.body, dict) else s for s in found]

    return adjust
