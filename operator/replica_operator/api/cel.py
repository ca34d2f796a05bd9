"""CEL validation rules attached to models and fields; the generator copies them into the CRD.

Rules live next to the fields they check, so the schema and the models cannot drift.
They must read an absent field as its default (the CRD carries no ``default:``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Reason(StrEnum):
    """How the API server words a failed rule (``Required value: ...``, ``Forbidden: ...``)."""

    REQUIRED = "FieldValueRequired"
    FORBIDDEN = "FieldValueForbidden"
    INVALID = "FieldValueInvalid"


def rule(
    expression: str, message: str, *, field_path: str | None = None, reason: Reason | None = None
) -> dict[str, str]:
    """One ``x-kubernetes-validations`` entry; ``field_path`` (e.g. ``.pool``) points the error at a field."""
    entry = {"rule": expression, "message": message}
    if field_path is not None:
        entry["fieldPath"] = field_path
    if reason is not None:
        entry["reason"] = reason.value
    return entry


def validations(*rules: dict[str, str]) -> dict[str, Any]:
    """``json_schema_extra`` for a model or a field that carries CEL rules."""
    return {"x-kubernetes-validations": list(rules)}


def immutable(path: str, remedy: str) -> dict[str, Any]:
    """``json_schema_extra`` for a field that may not change once the object exists (a transition rule)."""
    return validations(rule("self == oldSelf", f"{path} is immutable: {remedy}"))
