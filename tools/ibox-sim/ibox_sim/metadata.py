"""Object metadata (``/api/rest/metadata/<object id>``): string keys and values on any object but a
replica, as infinisdk's ``MetadataHolder`` uses them (infinibox-api.md §9). Deleting an object
drops its keys (:func:`forget`).

Assumed, not evidenced: the error code of a missing key (``METADATA_NOT_FOUND``, 404 is what the
SDK relies on) and that values must be strings (every observed client sends strings).
"""

from __future__ import annotations

from typing import Any

from ibox_sim.context import Ctx, require_dict
from ibox_sim.errors import ApiError, invalid_value, not_found
from ibox_sim.model import MetadataEntry, System

_TYPES = (
    ("pools", "pool"),
    ("volumes", "volume"),
    ("filesystems", "filesystem"),
    ("cgs", "cg"),
    ("links", "link"),
    ("network_spaces", "ipd"),
)


def object_type(system: System, object_id: int) -> str:
    """The metadata ``object_type`` of an object (404 when there is none; 400 for a replica)."""
    for collection, name in _TYPES:
        if object_id in getattr(system, collection):
            return name
    if object_id in system.replicas:
        raise ApiError(400, "METADATA_IS_NOT_SUPPORTED_FOR_ENTITY", "replicas do not hold metadata")
    raise ApiError(404, "OBJECT_NOT_FOUND", f"object {object_id} not found")


def render(system: System, object_id: int, entry: MetadataEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "object_id": object_id,
        "object_type": object_type(system, object_id),
        "key": entry.key,
        "value": entry.value,
    }


def put(ctx: Ctx, object_id: int, body: Any) -> list[dict[str, Any]]:
    """Set (upsert) keys; answers the object's keys as they are now."""
    system = ctx.system
    object_type(system, object_id)
    data = require_dict(body)
    for key, value in data.items():
        if not isinstance(value, str):
            raise invalid_value(key, value, "metadata values are strings")
    keys = system.metadata.setdefault(object_id, {})
    for key, value in data.items():
        found = keys.get(key)
        if found is None:
            keys[key] = MetadataEntry(id=system.allocate_id(), key=key, value=value)
        else:
            found.value = value
    return listed(ctx, object_id)


def listed(ctx: Ctx, object_id: int) -> list[dict[str, Any]]:
    system = ctx.system
    object_type(system, object_id)
    return [render(system, object_id, e) for e in system.metadata.get(object_id, {}).values()]


def get(ctx: Ctx, object_id: int, key: str) -> dict[str, Any]:
    system = ctx.system
    object_type(system, object_id)
    entry = system.metadata.get(object_id, {}).get(key)
    if entry is None:
        raise not_found("metadata", key)
    return render(system, object_id, entry)


def delete(ctx: Ctx, object_id: int, key: str | None) -> list[dict[str, Any]]:
    """Delete one key (404 when absent) or, with ``key`` None, all of them."""
    system = ctx.system
    shown = listed(ctx, object_id)
    if key is None:
        system.metadata.pop(object_id, None)
        return shown
    keys = system.metadata.get(object_id, {})
    if key not in keys:
        raise not_found("metadata", key)
    entry = keys.pop(key)
    return [render(system, object_id, entry)]


def forget(system: System, object_id: int) -> None:
    """An object was deleted: its keys go with it."""
    system.metadata.pop(object_id, None)
