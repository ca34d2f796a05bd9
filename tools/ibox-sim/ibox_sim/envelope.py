"""A parsed API request and the reply to it, independent of HTTP."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ibox_sim.cache import dumps


@dataclass
class ApiRequest:
    method: str
    #: Path below ``/api/rest``, e.g. ``/replicas/1000005``.
    path: str
    params: list[tuple[str, str]] = field(default_factory=list)
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    cookies: Mapping[str, str] = field(default_factory=dict)

    def param(self, name: str) -> str | None:
        for key, value in self.params:
            if key == name:
                return value
        return None

    @property
    def param_map(self) -> dict[str, str]:
        return dict(self.params)


@dataclass
class Reply:
    """Status and envelope; large reads carry the envelope pre-encoded in ``raw`` instead of ``body``."""

    status: int
    body: dict[str, Any] | None
    raw: bytes | None = None
    set_cookies: dict[str, str | None] = field(default_factory=dict)
    #: True when the call changed the model (the state file must be saved).
    mutated: bool = False

    def encoded(self) -> bytes:
        return self.raw if self.raw is not None else dumps(self.body).encode()

    def json(self) -> Any:
        """The envelope as Python objects (for tests driving the API without HTTP)."""
        return json.loads(self.raw) if self.raw is not None else self.body

    @property
    def error_code(self) -> str | None:
        error = (self.body or {}).get("error") if self.raw is None else None
        return error.get("code") if isinstance(error, dict) else None


def ok(result: Any, *, mutated: bool = False) -> Reply:
    return Reply(200, {"result": result, "error": None, "metadata": {"ready": True}}, mutated=mutated)
