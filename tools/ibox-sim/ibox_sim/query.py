"""Collection queries as the InfiniBox API takes them: filters, ``sort``, ``fields`` and paging.

* filter: ``<field>=<op>:<value>`` with the ops of infinibox-api.md §7, or a bare
  ``<field>=<value>`` (equality); several filters AND together;
* values are read in the type of the field: booleans case-insensitively (infinisdk
  sends ``True``/``False``), numbers as numbers, ``null`` as null (``is:null``);
* ``sort=a,-b``; ``fields=a,b``; ``page`` (1-based) and ``page_size`` (default 50, at most 1000).

Unknown fields are refused with 400 ``UNKNOWN_PARAMETER``, malformed values with 400 ``INVALID_VALUE``.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ibox_sim.errors import invalid_value, unknown_parameter

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
OPERATORS = frozenset(
    {
        "eq",
        "ne",
        "gt",
        "ge",
        "lt",
        "le",
        "in",
        "notin",
        "between",
        "like",
        "is",
        "isnot",
        "allof",
        "anyof",
        "noneof",
    }
)


def _list_values(raw: str) -> list[str]:
    text = raw.strip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1]
    return [part.strip() for part in text.split(",")] if text else []


@dataclass
class Filter:
    """One ``field=op:value`` condition."""

    field: str
    op: str
    raw: str
    _cache: dict[type, Any] = dataclasses.field(default_factory=dict, repr=False)

    def _coerce(self, raw: str, sample: Any) -> Any:
        if raw.lower() == "null":
            return None
        if isinstance(sample, bool):
            low = raw.lower()
            if low not in ("true", "false"):
                raise invalid_value(self.field, raw, "expected true or false")
            return low == "true"
        if isinstance(sample, int | float):
            try:
                return int(raw)
            except ValueError:
                try:
                    return float(raw)
                except ValueError:
                    raise invalid_value(self.field, raw, "expected a number") from None
        return raw

    def _operand(self, sample: Any) -> Any:
        """The filter's value(s) in the type of ``sample`` (cached per type)."""
        kind = type(sample)
        if kind not in self._cache:
            if self.op in ("in", "notin", "between", "allof", "anyof", "noneof"):
                element = sample[0] if isinstance(sample, list) and sample else sample
                values = [self._coerce(v, element) for v in _list_values(self.raw)]
                if self.op == "between" and len(values) != 2:
                    raise invalid_value(self.field, self.raw, "between takes two values")
                self._cache[kind] = values
            elif self.op == "like":
                # SQL-style: with % wildcards the whole value must match, without them a substring does
                escaped = re.escape(self.raw)
                pattern = "^" + escaped.replace("%", ".*") + "$" if "%" in self.raw else escaped
                self._cache[kind] = re.compile(pattern, re.IGNORECASE)
            else:
                self._cache[kind] = self._coerce(self.raw, sample)
        return self._cache[kind]

    def matches(self, value: Any) -> bool:
        op = self.op
        operand = self._operand(value)
        if op == "eq" or op == "is":
            return bool(value == operand)
        if op == "ne" or op == "isnot":
            return bool(value != operand)
        if op == "like":
            return value is not None and operand.search(str(value)) is not None
        if op == "in":
            return value in operand
        if op == "notin":
            return value not in operand
        if op in ("allof", "anyof", "noneof"):
            present = set(value) if isinstance(value, list) else {value}
            if op == "allof":
                return all(v in present for v in operand)
            if op == "anyof":
                return any(v in present for v in operand)
            return not any(v in present for v in operand)
        if value is None or operand is None:
            return False
        try:
            if op == "between":
                return bool(operand[0] <= value <= operand[1])
            if op == "gt":
                return bool(value > operand)
            if op == "ge":
                return bool(value >= operand)
            if op == "lt":
                return bool(value < operand)
            return bool(value <= operand)  # le
        except TypeError:
            raise invalid_value(self.field, self.raw, "not comparable") from None


@dataclass
class ListQuery:
    filters: list[Filter]
    sort: list[tuple[str, bool]]  # (field, descending)
    fields: list[str] | None
    page: int
    page_size: int

    @property
    def needs_all_fields(self) -> bool:
        """Filtering and sorting look at every object, so all of them must be rendered."""
        return bool(self.filters or self.sort)


def _positive_int(name: str, raw: str, maximum: int | None = None) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise invalid_value(name, raw, "expected an integer") from None
    if value < 1 or (maximum is not None and value > maximum):
        limit = f" and at most {maximum}" if maximum else ""
        raise invalid_value(name, raw, f"must be at least 1{limit}")
    return value


def parse_fields(raw: str | None, known: frozenset[str]) -> list[str] | None:
    """``fields=a,b`` -> ``["a", "b"]`` (None: all fields)."""
    if raw is None:
        return None
    names = [name for name in (part.strip() for part in raw.split(",")) if name]
    for name in names:
        if name not in known:
            raise unknown_parameter(name)
    return names or None


def parse_list_query(params: Sequence[tuple[str, str]], known: frozenset[str]) -> ListQuery:
    """Read the query string of a collection GET; refuses unknown fields and bad values."""
    filters: list[Filter] = []
    sort: list[tuple[str, bool]] = []
    fields: list[str] | None = None
    page, page_size = 1, DEFAULT_PAGE_SIZE
    for name, raw in params:
        if name == "page":
            page = _positive_int(name, raw)
        elif name == "page_size":
            page_size = _positive_int(name, raw, MAX_PAGE_SIZE)
        elif name == "sort":
            for key in (k.strip() for k in raw.split(",")):
                if not key:
                    continue
                descending = key.startswith("-")
                key = key.lstrip("+-")
                if key not in known:
                    raise unknown_parameter(key)
                sort.append((key, descending))
        elif name == "fields":
            fields = parse_fields(raw, known)
        elif name == "approved":
            continue
        elif name in known:
            op, sep, rest = raw.partition(":")
            if sep and op in OPERATORS:
                filters.append(Filter(name, op, rest))
            else:
                filters.append(Filter(name, "eq", raw))
        else:
            raise unknown_parameter(name)
    return ListQuery(filters=filters, sort=sort, fields=fields, page=page, page_size=page_size)


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, bool | int | float):
        return (1, value)
    if isinstance(value, str):
        return (2, value)
    return (3, repr(value))


def _sort_by(name: str, data: Callable[[R], dict[str, Any]]) -> Callable[[R], tuple[int, Any]]:
    return lambda item: _sort_key(data(item).get(name))


def select(
    objects: Sequence[T], render: Callable[[T], R], data: Callable[[R], dict[str, Any]], query: ListQuery
) -> tuple[list[R], int]:
    """Filter, sort and page ``objects``; returns the page (rendered) and the total count.

    Only the objects on the page are rendered unless filters or sort need every one.
    """
    start = (query.page - 1) * query.page_size
    if not query.needs_all_fields:
        return [render(obj) for obj in objects[start : start + query.page_size]], len(objects)
    items = [render(obj) for obj in objects]
    for condition in query.filters:
        items = [item for item in items if condition.matches(data(item).get(condition.field))]
    for key, descending in reversed(query.sort):
        items.sort(key=_sort_by(key, data), reverse=descending)
    return items[start : start + query.page_size], len(items)


def project(item: dict[str, Any], fields: Sequence[str] | None) -> dict[str, Any]:
    if fields is None:
        return item
    return {name: item.get(name) for name in fields}


def list_metadata(query: ListQuery, total: int) -> dict[str, Any]:
    return {
        "ready": True,
        "page": query.page,
        "page_size": query.page_size,
        "pages_total": math.ceil(total / query.page_size),
        "number_of_objects": total,
    }
