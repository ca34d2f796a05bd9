"""Reading array objects field by field, so one odd value spoils one field, not a whole page.

Nulls in lists and flags already read as empty (:mod:`.models`), and enumerations keep
values they do not know (``OpenEnum``). What is left (a string where a number belongs, a
list of the wrong shape) is dropped from the item, named in ``parse_problems``, and the
field keeps its empty value. Only an item without a usable ``id`` is unreadable: it cannot
be told apart from any other, so the caller skips it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

__all__ = ["ParseIssue", "parse_tolerant", "usable_id"]

M = TypeVar("M", bound=BaseModel)

#: Values required by a model but unreadable on the wire: what stands in for them.
_STAND_INS: Mapping[str, Any] = {"entity_type": "UNKNOWN", "name": ""}
_SHOWN_VALUE = 60


@dataclass(frozen=True, slots=True)
class ParseIssue:
    """One object the client could not read completely (for logs and metrics, never secrets)."""

    array: str
    #: The path template, e.g. ``/api/rest/replicas``.
    endpoint: str
    #: The object's id, or None when it had no usable id and was skipped.
    object_id: int | None
    problems: tuple[str, ...]


def usable_id(data: Any) -> int | None:
    """The item's integer ``id``, or None (missing, null, a bool, a string)."""
    ident = data.get("id") if isinstance(data, Mapping) else None
    return ident if isinstance(ident, int) and not isinstance(ident, bool) else None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN_VALUE else text[: _SHOWN_VALUE - 3] + "..."


def _where(location: tuple[int | str, ...]) -> str:
    parts = [f"[{part}]" if isinstance(part, int) else f".{part}" for part in location[1:]]
    return str(location[0]) + "".join(parts)


def parse_tolerant(model: type[M], data: Mapping[str, Any]) -> tuple[M, tuple[str, ...]]:
    """``model`` from ``data``, dropping each top-level field that fails; raises only if the rest still fails.

    Each round drops at least one field, so it ends within one round per field.
    """
    remaining = dict(data)
    problems: list[str] = []
    for _ in range(len(remaining) + len(_STAND_INS) + 1):
        try:
            return model.model_validate(remaining), tuple(problems)
        except ValidationError as error:
            dropped = _drop_failed(remaining, error, problems)
        if not dropped:
            break
    raise ValueError(f"unreadable {model.__name__}: {', '.join(problems) or 'no field to drop'}")


def _drop_failed(remaining: dict[str, Any], error: ValidationError, problems: list[str]) -> bool:
    """Remove (or stand in for) the fields ``error`` names; whether anything changed."""
    changed = False
    for detail in error.errors():
        location = detail["loc"]
        key = str(location[0]) if location else ""
        if key in remaining and remaining[key] != _STAND_INS.get(key, object()):
            problems.append(f"{_where(tuple(location))}: {_shown(detail.get('input'))}")
            if key in _STAND_INS:
                remaining[key] = _STAND_INS[key]
            else:
                del remaining[key]
            changed = True
        elif key in _STAND_INS and key not in remaining:
            problems.append(f"{key}: missing")
            remaining[key] = _STAND_INS[key]
            changed = True
    return changed
