"""A drill of a ConsistencyGroupReplica: a snapshot group of the target consistency group on the DR
array, one PersistentVolume and claim per member snapshot (issue 18).

The array calls are the snapshot group's only: a look-up by name, ``POST /cgs`` with
``parent_id`` (once; a lost answer is found again by name), reads of its members and of the
target group's members (to name the claims), a ``PUT write_protected=false`` on a member
snapshot should the array have made it read-only, and ``DELETE`` of the snapshot group with its
members when the drill ends. The target group and its members are only read.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from replica_operator.api import ReplicaDrillSpec
from replica_operator.array import NotFound
from replica_operator.kube import Kube
from replica_operator.reconcile import DRILL_LABEL, DrillTarget, Problem, claim_manifests, member_names

from .drill_claims import expose
from .ports import ArrayClient

log = logging.getLogger(__name__)


async def start_group(
    kube: Kube,
    client: ArrayClient,
    body: Mapping[str, Any],
    spec: ReplicaDrillSpec,
    target: DrillTarget,
    name: str,
    status: dict[str, Any],
) -> Problem | None:
    """Snapshot group, a PV and claim per member; Ready (None) once every claim is Bound."""
    meta = body["metadata"]
    namespace, drill, uid = meta["namespace"], meta["name"], meta["uid"]
    recorded = (body.get("status") or {}).get("snapshot")
    group = await client.find_consistency_group(name)
    if group is not None and group.parent_id is None:
        return Problem(
            "Conflict", f"{name} on {target.array} is a consistency group, not this drill's", retryable=False
        )
    if group is None and recorded:
        return Problem("SnapshotNotFound", f"the drill's snapshot group {name} is gone from {target.array}")
    if group is None:
        parent = await client.find_consistency_group(target.volume)
        if parent is None:
            return Problem("EntityNotFound", f"consistency group {target.volume} not found on {target.array}")
        group = await client.create_snapshot_group(parent.id, name)
        log.info(
            "drill %s/%s: snapshot group %s of %s on %s",
            namespace,
            drill,
            group.id,
            parent.name,
            target.array,
        )
    assert group.parent_id is not None
    status["snapshot"] = {"array": target.array, "id": group.id, "name": group.name, "parent": target.volume}
    parents = {member.id: member.name for member in await client.list_cg_members(group.parent_id)}
    members: list[dict[str, Any]] = []
    for snapshot in await client.list_cg_members(group.id):
        member = parents.get(snapshot.parent_id or -1, snapshot.name)
        if snapshot.write_protected:
            await client.unprotect(snapshot.id)
        volume, claim = claim_manifests(
            spec,
            namespace=namespace,
            drill=drill,
            uid=uid,
            snapshot_id=snapshot.id,
            size=snapshot.size or 1,
            member=member,
        )
        made = await expose(kube, volume, claim, uid)
        if isinstance(made, Problem):
            return made
        members.append({"parent": member, "snapshotId": snapshot.id, **made})
    status["members"] = members
    waiting = [m["persistentVolumeClaim"] for m in members if m["phase"] != "Bound"]
    if waiting:
        return Problem("ClaimsBinding", f"{len(members) - len(waiting)} of {len(members)} claims bound")
    return None


async def end_group(
    kube: Kube, client: ArrayClient | Problem, body: Mapping[str, Any], spec: ReplicaDrillSpec, name: str
) -> Problem | None:
    """Claims, then PersistentVolumes, then the snapshot group (only what this drill made)."""
    meta = body["metadata"]
    namespace, drill, uid = meta["namespace"], meta["name"], meta["uid"]
    recorded = list((body.get("status") or {}).get("members") or [])
    pairs = {(m["persistentVolume"], m["persistentVolumeClaim"]) for m in recorded}
    if isinstance(client, Problem):
        if not recorded:
            return client
        group = None
    else:
        group = await client.find_consistency_group(name)
    if not isinstance(client, Problem) and group is not None and group.parent_id is not None:
        # Names from the array too: a crash may have come between the claims and their status.
        parents = {member.id: member.name for member in await client.list_cg_members(group.parent_id)}
        for snapshot in await client.list_cg_members(group.id):
            member = parents.get(snapshot.parent_id or -1, snapshot.name)
            pairs.add(member_names(spec, namespace, drill, uid, member))
    claims_left = False
    for _, claim in sorted(pairs):
        found = await kube.read_volume_object("PersistentVolumeClaim", namespace, claim)
        if found is not None and (found["metadata"].get("labels") or {}).get(DRILL_LABEL) == uid:
            await kube.delete_volume_object("PersistentVolumeClaim", claim, namespace)
            claims_left = True
    if claims_left:
        return Problem("ClaimInUse", "waiting for the drill's claims to go (a pod may still use them)")
    volumes_left = False
    for pv, _ in sorted(pairs):
        found = await kube.read_volume_object("PersistentVolume", None, pv)
        if found is not None and (found["metadata"].get("labels") or {}).get(DRILL_LABEL) == uid:
            await kube.delete_volume_object("PersistentVolume", pv)
            volumes_left = True
    if volumes_left:
        return Problem("VolumeInUse", "waiting for the drill's PersistentVolumes to go")
    if isinstance(client, Problem):
        return client
    if group is None:
        return None
    if group.parent_id is None:
        return Problem("Conflict", f"{name} is not a snapshot group; it is left alone", retryable=False)
    with contextlib.suppress(NotFound):  # gone already: that is what was wanted
        await client.delete_snapshot_group(group.id)
    return None
