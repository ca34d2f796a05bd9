"""The one way a drill exposes a snapshot: its claim first, read back, then the PV bound to it.

A claim of that name that the drill did not make (the application's, another drill's) is refused
before any PV exists, and the PV names the claim's uid, so no other claim can ever be bound to the
drill's snapshot (a PV pre-bound by name alone would bind to a pending claim of that name).
"""

from __future__ import annotations

from typing import Any

from replica_operator.kube import Kube
from replica_operator.reconcile import DRILL_LABEL, Problem


async def expose(
    kube: Kube, volume: dict[str, Any], claim: dict[str, Any], uid: str
) -> dict[str, Any] | Problem:
    """Create ``claim`` then ``volume`` (each kept if there: 409); the status fields that name them
    (``persistentVolume``, ``persistentVolumeClaim`` and the claim's ``phase`` as read back)."""
    namespace, name = claim["metadata"]["namespace"], claim["metadata"]["name"]
    await kube.create_volume_object(claim)
    made = await kube.read_volume_object("PersistentVolumeClaim", namespace, name)
    if made is None or ((made.get("metadata") or {}).get("labels") or {}).get(DRILL_LABEL) != uid:
        return Problem(
            "ClaimConflict", f"a claim {name} not made by this drill exists in {namespace}", retryable=False
        )
    spec = volume["spec"]
    bound = {**volume, "spec": {**spec, "claimRef": {**spec["claimRef"], "uid": made["metadata"]["uid"]}}}
    await kube.create_volume_object(bound)
    return {
        "persistentVolume": volume["metadata"]["name"],
        "persistentVolumeClaim": name,
        "phase": (made.get("status") or {}).get("phase"),
    }
