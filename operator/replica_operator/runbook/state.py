"""What one site's object says about the pair, and whether a runbook step may go on (pure).

The runbook command reads the same replication object on both clusters (site A and site B,
each naming its own array as ``spec.source``) and decides from their specs and statuses
alone: it never asks an array. Everything here works on the objects as the API returns them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from replica_operator.api import ActionResult, ManagementPolicy
from replica_operator.reconcile import TAKE_OVER_ANNOTATION

#: The spec fields that must agree on both sides before management is handed over: the side that
#: becomes Full applies its own spec to the pair.
SHARED_FIELDS = ("replicationType", "rpo", "syncInterval")


@dataclass(frozen=True)
class SiteView:
    """One site's object (None when it does not exist) or why the site could not be read."""

    site: str
    body: Mapping[str, Any] | None = None
    error: str | None = None

    @property
    def spec(self) -> Mapping[str, Any]:
        return (self.body or {}).get("spec") or {}

    @property
    def status(self) -> Mapping[str, Any]:
        return (self.body or {}).get("status") or {}

    @property
    def reachable(self) -> bool:
        return self.error is None

    @property
    def full(self) -> bool:
        return bool(
            self.spec.get("managementPolicy", ManagementPolicy.FULL.value) == ManagementPolicy.FULL.value
        )

    @property
    def role(self) -> str | None:
        role = self.status.get("role")
        return str(role) if role else None

    @property
    def replica_id(self) -> int | None:
        value = self.status.get("replicaId")
        return int(value) if value is not None else None

    @property
    def taking_over(self) -> int | None:
        value = ((self.body or {}).get("metadata") or {}).get("annotations", {}).get(TAKE_OVER_ANNOTATION)
        return int(value) if value and str(value).isdigit() else None

    def condition(self, kind: str) -> Mapping[str, Any]:
        for item in self.status.get("conditions") or []:
            if item.get("type") == kind:
                return dict(item)
        return {}

    def is_true(self, kind: str) -> bool:
        return bool(self.condition(kind).get("status") == "True")

    def reason(self, kind: str) -> str:
        return str(self.condition(kind).get("reason") or "")

    @property
    def current(self) -> bool:
        """Status was computed from the newest spec (observedGeneration caught up)."""
        generation = (self.body or {}).get("metadata", {}).get("generation")
        return bool(self.status.get("observedGeneration") == generation)


def row(view: SiteView) -> dict[str, str]:
    """One line of ``dr status``: what this site's object says."""
    if not view.reachable:
        return {"site": view.site, "object": f"unreachable: {view.error}"}
    if view.body is None:
        return {"site": view.site, "object": "not found"}
    status, spec = view.status, view.spec
    last = status.get("lastAction") or {}
    return {
        "site": view.site,
        "array": str((spec.get("source") or {}).get("array", "")),
        "policy": str(spec.get("managementPolicy", ManagementPolicy.FULL.value)),
        "role": view.role or "-",
        "state": str(status.get("state") or "-"),
        "sync": str(status.get("syncState") or "-"),
        "type": str(status.get("replicationType") or "-"),
        "ready": f"{view.condition('Ready').get('status', '-')}/{view.reason('Ready') or '-'}",
        "synced": f"{view.condition('Synced').get('status', '-')}/{view.reason('Synced') or '-'}",
        "rpo": f"{view.condition('RPOCompliant').get('status', '-')}/{view.reason('RPOCompliant') or '-'}",
        "lastAction": f"{last.get('type', '')} {last.get('result', '')}".strip() or "-",
        "writableClaim": str((status.get("writableClaim") or {}).get("name") or "-"),
    }


def spec_differences(one: SiteView, other: SiteView) -> list[str]:
    """The shared fields whose values differ between the two sites' specs."""
    return [
        f"{name}: {one.site}={one.spec.get(name)!r} {other.site}={other.spec.get(name)!r}"
        for name in SHARED_FIELDS
        if one.spec.get(name) != other.spec.get(name)
    ]


def action_outcome(view: SiteView, action_id: str) -> tuple[bool, str | None, str]:
    """(done, failure, progress) of the one-shot action ``action_id`` as this object reports it."""
    last = view.status.get("lastAction") or {}
    if last.get("id") != action_id:
        return False, None, "waiting for the operator to pick the action up"
    result = last.get("result")
    if result == ActionResult.SUCCEEDED.value:
        return True, None, "succeeded"
    if result == ActionResult.FAILED.value:
        return False, str(last.get("message") or "failed"), "failed"
    return False, None, str(last.get("message") or "in progress")


def planned_blocker(source: SiteView, target: SiteView) -> str | None:
    """Why a planned failover from ``source`` to ``target`` cannot start (None: it can)."""
    for view in (source, target):
        if not view.reachable:
            return f"site {view.site} is unreachable ({view.error}); a planned failover needs both sites"
        if view.body is None:
            return f"site {view.site} has no such object"
    if source.role == "TARGET" and target.role == "SOURCE":
        return None  # the switch is done: only the hand-over may be left
    if not source.full:
        return f"site {source.site} does not manage the pair (managementPolicy is not Full)"
    if source.role != "SOURCE":
        return f"site {source.site}'s array is not the SOURCE (role {source.role}); nothing to fail over from"
    if source.reason("Ready") == "RoleConflict" or target.reason("Ready") == "RoleConflict":
        return "both arrays claim SOURCE (RoleConflict): resolve it first (docs/disaster-recovery.md)"
    differences = spec_differences(source, target)
    if differences:
        return "the two sites' specs differ, so the new manager would change the pair: " + "; ".join(
            differences
        )
    if target.replica_id is None:
        return f"site {target.site} has not observed its replica yet (status.replicaId is empty)"
    return None


def handed_over(new: SiteView) -> str | None:
    """None once ``new`` manages the pair as its SOURCE and is Ready; else what it still shows."""
    if new.full and new.current and new.role == "SOURCE" and new.is_true("Ready") and new.is_true("Synced"):
        return None
    return (
        f"site {new.site}: policy {new.spec.get('managementPolicy')}, role {new.role}, "
        f"Ready {new.reason('Ready') or '-'}, Synced {new.reason('Synced') or '-'}"
    )


def own_claim(view: SiteView) -> str | None:
    """The claim this site's object has of its own array's entity: spec.source.localClaim (made by
    the operator) or spec.source.persistentVolumeClaim (the application's); None: it has none."""
    source = view.spec.get("source") or {}
    local = source.get("localClaim") or {}
    name = local.get("name") or source.get("persistentVolumeClaim")
    return str(name) if name else None


def claim_writable(view: SiteView) -> str | None:
    """None once status.writableClaim is this site's own claim; else what it shows."""
    wanted = own_claim(view)
    shown = view.status.get("writableClaim") or {}
    if wanted is not None and shown.get("name") == wanted:
        return None
    return f"site {view.site}: writableClaim {shown.get('name') or '-'} (waiting for {wanted})"


def unplanned_blocker(survivor: SiteView, lost: SiteView | None) -> str | None:
    """Why ChangeRole on ``survivor`` must not be started (None: it may)."""
    if not survivor.reachable or survivor.body is None:
        return f"site {survivor.site}: {survivor.error or 'no such object'}"
    if survivor.replica_id is None:
        return f"site {survivor.site} has not observed its replica yet (status.replicaId is empty)"
    if lost is not None and lost.reachable and lost.body is not None and lost.is_true("Ready"):
        return (
            f"site {lost.site} answers and reports the pair Ready: use the planned failover "
            "(an unplanned one would leave two SOURCEs)"
        )
    return None
