"""Durations as users write them (``30s``, ``1m30s``) and as Python uses them (``timedelta``).

The CRD accepts a subset of Go duration strings (whole numbers of ``h``, ``m``, ``s``
and ``ms``) so that CEL's ``duration()`` can compare them on the API server and
Python can parse them without ambiguity.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema

from .cel import Reason, rule

DURATION_PATTERN = r"^([0-9]+(ms|s|m|h))+$"
DURATION_MAX_LENGTH = 32
DURATION_IN_RANGE_PATTERN = r"^([0-9]{1,5}h|[0-9]{1,7}m|[0-9]{1,9}s|[0-9]{1,12}ms)+$"
"""Durations CEL's ``duration()`` surely reads: each part is at most ~1e17 ns per character, so
32 characters stay below Go's int64 nanoseconds. Rules call ``duration()`` only on these;
a longer number is reported by the bound's own message instead of an evaluation error."""
_PART = re.compile(r"([0-9]+)(ms|s|m|h)")
_UNIT_MS = {"h": 3_600_000, "m": 60_000, "s": 1_000, "ms": 1}
_MAX_MS = (2**63 - 1) // 1_000_000  # CEL's duration() is a Go time.Duration: int64 nanoseconds


def parse_duration(text: str) -> timedelta:
    """``"1m30s"`` -> ``timedelta(seconds=90)``; raise ``ValueError`` for anything else."""
    if len(text) > DURATION_MAX_LENGTH or not re.fullmatch(DURATION_PATTERN, text):
        raise ValueError(
            f"invalid duration {text!r}: use whole numbers with units h, m, s or ms, e.g. 30s, 5m, 1m30s"
        )
    milliseconds = sum(int(number) * _UNIT_MS[unit] for number, unit in _PART.findall(text))
    if milliseconds > _MAX_MS:
        raise ValueError(f"invalid duration {text!r}: longer than a Go duration can be (about 2562047h)")
    return timedelta(milliseconds=milliseconds)


def duration_bounds(field: str, *, at_least: str | None = None, at_most: str) -> dict[str, str]:
    """CEL: ``field`` (when set and well-formed) lies within the bounds, inclusive.

    Without a maximum the CRD admitted e.g. ``rpo: 2562048h``, which no Go or Python
    duration holds; a value too large for ``duration()`` fails the rule's evaluation,
    so the API server rejects it as well.
    """
    checks = [f"duration(self.{field}) <= duration('{at_most}')"]
    if at_least is not None:
        checks.insert(0, f"duration(self.{field}) >= duration('{at_least}')")
    span = f"at least {at_least} and at most {at_most}" if at_least is not None else f"at most {at_most}"
    return rule(
        f"!has(self.{field}) || !self.{field}.matches('{DURATION_PATTERN}') "
        f"|| (self.{field}.matches('{DURATION_IN_RANGE_PATTERN}') && {' && '.join(checks)})",
        f"{field} must be {span}",
        field_path=f".{field}",
        reason=Reason.INVALID,
    )


def format_duration(value: timedelta) -> str:
    """The shortest string ``parse_duration`` reads back: ``timedelta(seconds=90)`` -> ``"1m30s"``.

    The format's resolution is one millisecond; finer parts are rounded to the nearest one.
    """
    milliseconds = round(value / timedelta(milliseconds=1))
    if milliseconds < 0:
        raise ValueError(f"a duration cannot be negative: {value!r}")
    if milliseconds == 0:
        return "0s"
    parts = []
    for unit, size in _UNIT_MS.items():
        count, milliseconds = divmod(milliseconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def _to_timedelta(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        if value < timedelta(0):
            raise ValueError(f"a duration cannot be negative: {value!r}")
        return value
    if isinstance(value, str):
        return parse_duration(value)
    raise ValueError(f"a duration must be a string such as 30s or 1m30s, not {type(value).__name__}")


Duration = Annotated[
    timedelta,
    PlainValidator(_to_timedelta),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN, "maxLength": DURATION_MAX_LENGTH}),
]
"""A ``timedelta`` read from and written as a duration string (``"1m30s"``) in the CR form."""
