"""Base classes: camelCase in the CR form, snake_case in Python."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class CRModel(BaseModel):
    """A part of a custom resource."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    def to_cr(self) -> dict[str, Any]:
        """The CR form (camelCase, JSON types, absent instead of null): for manifests and status patches."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class SpecModel(CRModel):
    """A part of a spec: unknown fields are errors (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid")


class StatusModel(CRModel):
    """A part of a status: unknown fields are ignored, so an older operator can read a newer status."""

    model_config = ConfigDict(extra="ignore")
