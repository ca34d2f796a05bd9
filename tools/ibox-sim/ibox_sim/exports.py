"""NFS exports: ``POST /exports``, ``GET /exports[/<id>]``, ``DELETE /exports/<id>``.

The body is the one infinibox-csi-driver sends (``storage/nfs/nfscontroller.go``
``createExportPath``: ``filesystem_id``, ``export_path``, ``transport_protocols``,
``privileged_port``, ``snapdir_visible``, ``permissions``). ASSUMED, not evidenced: that a real
array refuses a second export of the same path (``EXPORT_PATH_ALREADY_EXISTS`` is this
simulator's code) and what else it checks; the simulator serves no NFS, only the objects.
"""

from __future__ import annotations

from typing import Any

from ibox_sim.clock import to_ms
from ibox_sim.context import Ctx, check_keys, get_bool, get_int, get_str, require_dict
from ibox_sim.errors import bad_request, conflict, not_found
from ibox_sim.model import Export, System

_KEYS = frozenset(
    {
        "filesystem_id",
        "export_path",
        "permissions",
        "transport_protocols",
        "privileged_port",
        "snapdir_visible",
        "enabled",
    }
)


def get_export(system: System, export_id: int) -> Export:
    export = system.exports.get(export_id)
    if export is None:
        raise not_found("export", export_id)
    return export


def create_export(ctx: Ctx, body: Any) -> Export:
    data = require_dict(body)
    check_keys(data, _KEYS)
    system = ctx.system
    filesystem_id = get_int(data, "filesystem_id", required=True)
    assert filesystem_id is not None
    if filesystem_id not in system.filesystems:
        raise not_found("filesystem", filesystem_id)
    path = get_str(data, "export_path") or f"/{system.filesystems[filesystem_id].name}"
    if not path.startswith("/"):
        raise bad_request(f"export_path {path!r} must start with '/'")
    if any(e.export_path == path for e in system.exports.values()):
        raise conflict("EXPORT_PATH_ALREADY_EXISTS", f"an export of path {path!r} exists")
    permissions = data.get("permissions") or []
    if not isinstance(permissions, list) or not all(isinstance(p, dict) for p in permissions):
        raise bad_request("permissions must be a list of objects")
    export = Export(
        id=system.allocate_id(),
        filesystem_id=filesystem_id,
        export_path=path,
        permissions=permissions,
        transport_protocols=get_str(data, "transport_protocols") or "TCP",
        privileged_port=get_bool(data, "privileged_port", False),
        snapdir_visible=get_bool(data, "snapdir_visible", False),
        enabled=get_bool(data, "enabled", True),
        created_at=ctx.now,
    )
    system.exports[export.id] = export
    return export


def delete_export(ctx: Ctx, export_id: int) -> Export:
    return ctx.system.exports.pop(get_export(ctx.system, export_id).id)


def render_export(export: Export) -> dict[str, Any]:
    """The fields the driver sends and reads (``ID``, ``ExportPath``); a real export has more."""
    return {
        "id": export.id,
        "filesystem_id": export.filesystem_id,
        "export_path": export.export_path,
        "permissions": [dict(p) for p in export.permissions],
        "transport_protocols": export.transport_protocols,
        "privileged_port": export.privileged_port,
        "snapdir_visible": export.snapdir_visible,
        "enabled": export.enabled,
        "created_at": to_ms(export.created_at),
    }
