"""Collection queries in the array's syntax (infinibox-api.md §7).

A filter is ``<field>=<op>:<value>``; several are ANDed. Callers pass a mapping of field
to value, where a plain value means equality and :class:`Filter` (built by :func:`eq`,
:func:`in_`, :func:`is_null`, ...) any other operator. Values are rendered the way the
array reads them: booleans as ``true``/``false``, times and intervals as milliseconds,
enumerations as their value, ``None`` as ``is:null``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import TypeAlias

__all__ = [
    "MAX_PAGE_SIZE",
    "Filter",
    "FilterValue",
    "Filters",
    "eq",
    "filter_params",
    "in_",
    "is_null",
    "like",
    "ne",
    "not_null",
    "page_params",
]

#: The largest page the array serves.
MAX_PAGE_SIZE = 1000

Scalar: TypeAlias = str | int | float | bool | Enum | datetime | timedelta


@dataclass(frozen=True, slots=True)
class Filter:
    """One condition: ``op`` is an operator of the API (``eq``, ``ne``, ``in``, ``like``, ``is``, ...)."""

    op: str
    value: Scalar | tuple[Scalar, ...] | None

    def render(self) -> str:
        if isinstance(self.value, tuple):
            return f"{self.op}:({','.join(render_value(v) for v in self.value)})"
        return f"{self.op}:{render_value(self.value)}"


FilterValue: TypeAlias = Scalar | Filter | None
Filters: TypeAlias = Mapping[str, FilterValue]


def eq(value: Scalar) -> Filter:
    return Filter("eq", value)


def ne(value: Scalar) -> Filter:
    return Filter("ne", value)


def in_(values: Iterable[Scalar]) -> Filter:
    return Filter("in", tuple(values))


def like(pattern: str) -> Filter:
    """SQL-style match; ``%`` is the wildcard."""
    return Filter("like", pattern)


def is_null() -> Filter:
    return Filter("is", None)


def not_null() -> Filter:
    return Filter("isnot", None)


def render_value(value: Scalar | None) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("filter times must be timezone-aware")
        return str(round(value.timestamp() * 1000))
    if isinstance(value, timedelta):
        return str(round(value / timedelta(milliseconds=1)))
    return str(value)


def filter_params(filters: Filters | None) -> list[tuple[str, str]]:
    """Query parameters for ``filters`` (plain values are equality, ``None`` is ``is:null``)."""
    params: list[tuple[str, str]] = []
    for name, value in (filters or {}).items():
        condition = value if isinstance(value, Filter) else Filter("is" if value is None else "eq", value)
        params.append((name, condition.render()))
    return params


def page_params(page: int, page_size: int) -> list[tuple[str, str]]:
    """Paging parameters, as infinisdk sends them (``page`` and ``page_size``, no ``sort``: §7).

    Without a sort the array's order is its own; :mod:`.listing` copes with objects that
    move between pages while they are read.
    """
    if page < 1:
        raise ValueError("page is 1-based")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    return [("page", str(page)), ("page_size", str(page_size))]
