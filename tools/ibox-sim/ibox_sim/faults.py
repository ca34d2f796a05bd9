"""Fault injection: added latency, 5xx errors at random, dropped connections.

The decision for a request is made by :meth:`FaultInjector.decide` from the fault spec
and a random generator passed in, so tests can seed it and check decisions without I/O;
the HTTP layer only carries them out.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

ERROR_STATUSES = (500, 502, 503)
ERROR_CODES = {500: "INTERNAL_ERROR", 502: "SERVICE_UNAVAILABLE", 503: "SERVICE_UNAVAILABLE"}


class FaultSpec(BaseModel):
    """The body of ``PUT /_sim/faults``; applies to API requests of ``systems`` (all when null)."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: float = Field(default=0.0, ge=0, le=600_000)
    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    drop_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    systems: list[str] | None = None
    path_regex: str | None = None
    #: Only requests with these methods (e.g. ``["POST"]``); all when null.
    methods: list[str] | None = None
    #: ``before``: the fault hits before the array acts. ``after``: the array acts, then the
    #: answer is delayed, replaced by an error or lost: "it happened, but the client never heard".
    phase: Literal["before", "after"] = "before"

    @field_validator("path_regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as error:
                raise ValueError(f"path_regex does not compile: {error}") from None
        return value


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do to one request: wait ``latency_seconds``, then pass, answer an error, or drop."""

    latency_seconds: float
    action: Literal["pass", "error", "drop"]
    status: int | None = None
    after: bool = False

    @property
    def code(self) -> str | None:
        return ERROR_CODES.get(self.status) if self.status is not None else None


PASS = Decision(0.0, "pass")


class FaultInjector:
    """Holds the current fault spec and decides, request by request, with its own random generator."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()
        self._spec: FaultSpec | None = None
        self._pattern: re.Pattern[str] | None = None

    @property
    def spec(self) -> FaultSpec | None:
        return self._spec

    def set(self, spec: FaultSpec) -> None:
        self._spec = spec
        self._pattern = re.compile(spec.path_regex) if spec.path_regex else None

    def clear(self) -> None:
        self._spec = None
        self._pattern = None

    def applies(self, system: str, path: str, method: str = "GET") -> bool:
        spec = self._spec
        if spec is None:
            return False
        if spec.systems is not None and system not in spec.systems:
            return False
        if spec.methods is not None and method.upper() not in {m.upper() for m in spec.methods}:
            return False
        return self._pattern is None or self._pattern.search(path) is not None

    def decide(self, system: str, path: str, method: str = "GET") -> Decision:
        """Draw the fate of one API request to ``system`` for ``path``."""
        spec = self._spec
        if spec is None or not self.applies(system, path, method):
            return PASS
        latency = spec.latency_ms / 1000.0
        after = spec.phase == "after"
        if spec.drop_rate > 0 and self._rng.random() < spec.drop_rate:
            return Decision(latency, "drop", after=after)
        if spec.error_rate > 0 and self._rng.random() < spec.error_rate:
            return Decision(latency, "error", self._rng.choice(ERROR_STATUSES), after=after)
        return Decision(latency, "pass", after=after)
