"""What an operation needs (world, the system addressed, the instant) and helpers to read request bodies."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ibox_sim.config import SimConfig
from ibox_sim.errors import ApiError, bad_request, invalid_value, missing_parameter, unknown_parameter
from ibox_sim.model import System, World


@dataclass(frozen=True, slots=True)
class Ctx:
    """One operation on one system at one instant (every call in a request sees the same ``now``)."""

    world: World
    system: System
    now: float

    @property
    def cfg(self) -> SimConfig:
        return self.world.config

    def on(self, system: System) -> Ctx:
        """The same operation, acting on another system (the replica's peer)."""
        return Ctx(self.world, system, self.now)


def require_dict(body: Any, what: str = "request body") -> dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise bad_request(f"{what} must be a JSON object")
    return body


def check_keys(body: Mapping[str, Any], allowed: Collection[str]) -> None:
    """Refuse keys the call does not know, as the real API does (400 UNKNOWN_PARAMETER)."""
    for key in body:
        if key not in allowed:
            raise unknown_parameter(key)


def get_int(
    body: Mapping[str, Any], key: str, *, required: bool = False, minimum: int | None = None
) -> int | None:
    value = body.get(key)
    if value is None:
        if required:
            raise missing_parameter(key)
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.lstrip("-").isdigit():
            value = int(value)
        else:
            raise invalid_value(key, value, "expected an integer")
    if minimum is not None and value < minimum:
        raise invalid_value(key, value, f"must be at least {minimum}")
    return value


def require_int(body: Mapping[str, Any], key: str, *, minimum: int | None = None) -> int:
    value = get_int(body, key, required=True, minimum=minimum)
    assert value is not None
    return value


def get_bool(body: Mapping[str, Any], key: str, default: bool = False) -> bool:
    value = body.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise invalid_value(key, value, "expected true or false")


def get_str(
    body: Mapping[str, Any], key: str, *, required: bool = False, max_length: int = 255
) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise missing_parameter(key)
        return None
    if not isinstance(value, str):
        raise invalid_value(key, value, "expected a string")
    if len(value) > max_length:
        raise invalid_value(key, value, f"longer than {max_length} characters")
    return value


def check_name(name: Any, key: str = "name") -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise invalid_value(key, name, "a name is 1 to 255 characters")
    return name


def ensure_unique_name(name: str, existing: Iterable[Any], what: str) -> None:
    for obj in existing:
        if obj.name == name:
            raise ApiError(409, "NAME_ALREADY_EXISTS", f"a {what} named {name!r} already exists")


def flag(params: Mapping[str, str], key: str) -> bool:
    """A boolean query parameter (``true``/``True``/``false``...); absent is false."""
    raw = params.get(key)
    if raw is None:
        return False
    low = raw.lower()
    if low not in ("true", "false"):
        raise invalid_value(key, raw, "expected true or false")
    return low == "true"
