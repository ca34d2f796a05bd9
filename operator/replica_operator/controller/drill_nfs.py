"""A drill of a filesystem Replica: a writable snapshot of the target filesystem, an NFS export of
it on the DR array, and a static NFS PersistentVolume and claim (issue 18).

As infinibox-csi-driver makes an NFS volume from a snapshot (``storage/nfs/nfscontroller.go``
``createVolumeFromPVCSource``, ``createExportPath``, ``getNfsCsiResponse``). The array calls are
the drill's own objects only: the snapshot's and the export's look-up, ``POST`` and ``DELETE``,
and a read of the NAS network space for its address. The target filesystem is only read.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from replica_operator.api import ReplicaDrillSpec
from replica_operator.array import NotFound
from replica_operator.kube import Kube
from replica_operator.reconcile import DrillTarget, Problem, export_path, nfs_manifests

from .drill_claims import expose
from .ports import ArrayClient

log = logging.getLogger(__name__)


async def start_filesystem(
    kube: Kube,
    client: ArrayClient,
    body: Mapping[str, Any],
    spec: ReplicaDrillSpec,
    target: DrillTarget,
    name: str,
    status: dict[str, Any],
) -> Problem | None:
    """Snapshot, export, PV and claim (each skipped when done); None once the claim exists."""
    meta = body["metadata"]
    namespace, drill, uid = meta["namespace"], meta["name"], meta["uid"]
    recorded = (body.get("status") or {}).get("snapshot")
    snapshot = await client.find_filesystem(name)
    if snapshot is not None and not snapshot.is_snapshot:
        return Problem(
            "Conflict", f"{name} on {target.array} is a filesystem, not this drill's", retryable=False
        )
    if snapshot is None and recorded:
        return Problem("SnapshotNotFound", f"the drill's snapshot {name} is gone from {target.array}")
    if snapshot is None:
        parent = await client.find_filesystem(target.volume)
        if parent is None:
            return Problem("EntityNotFound", f"filesystem {target.volume} not found on {target.array}")
        snapshot = await client.create_filesystem_snapshot(parent.id, name)
        log.info(
            "drill %s/%s: snapshot %s of %s on %s", namespace, drill, snapshot.id, parent.name, target.array
        )
    status["snapshot"] = {
        "array": target.array,
        "id": snapshot.id,
        "name": snapshot.name,
        "parent": target.volume,
    }
    space_name = spec.claim.network_space if spec.claim else None
    space = await client.find_network_space(space_name or "")
    address = space.first_ip() if space is not None else None
    if address is None:
        return Problem(
            "NetworkSpaceNotFound", f"no network space {space_name} with an address on {target.array}"
        )
    path = export_path(namespace, drill, uid)
    export = await client.find_export(path)
    if export is not None and export.filesystem_id != snapshot.id:
        return Problem(
            "Conflict", f"export {path} on {target.array} is another filesystem's", retryable=False
        )
    if export is None:
        export = await client.create_export(snapshot.id, path)
    status["export"] = {"id": export.id, "path": path, "address": address}
    volume, claim = nfs_manifests(
        spec,
        namespace=namespace,
        drill=drill,
        uid=uid,
        snapshot_id=snapshot.id,
        size=snapshot.size or 1,
        address=address,
        export_id=export.id,
    )
    made = await expose(kube, volume, claim, uid)
    if isinstance(made, Problem):
        return made
    status.update(made)
    return None


async def end_filesystem(client: ArrayClient, body: Mapping[str, Any], name: str) -> Problem | None:
    """After claim and PV are gone: the export, then the snapshot (only the drill's own)."""
    meta = body["metadata"]
    path = export_path(meta["namespace"], meta["name"], meta["uid"])
    snapshot = await client.find_filesystem(name)
    export = await client.find_export(path)
    if export is not None and snapshot is not None and export.filesystem_id == snapshot.id:
        with contextlib.suppress(NotFound):
            await client.delete_export(export.id)
    if snapshot is None:
        return None
    if not snapshot.is_snapshot:
        return Problem("Conflict", f"{name} is not a snapshot; it is left alone", retryable=False)
    with contextlib.suppress(NotFound):  # gone already: that is what was wanted
        await client.delete_filesystem_snapshot(snapshot.id)
    return None
