"""The runbooks: each step is a patch of an object on one site, then a wait on what it reports.

Every step first looks at what the objects already show and skips what is done, so a runbook
interrupted anywhere (a lost terminal, a timeout) is finished by running the same command again.
The arrays are never called from here: the operators on the two sites do that.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from replica_operator.api import (
    API_VERSION,
    CONSISTENCY_GROUP_REPLICA,
    CONSISTENCY_GROUP_REPLICA_KIND,
    REPLICA_DRILL_KIND,
    REPLICA_DRILL_PLURAL,
    ActionType,
    ManagementPolicy,
)
from replica_operator.reconcile import TAKE_OVER_ANNOTATION

from .sites import Site, StepFailed, create, delete, wait
from .state import (
    SiteView,
    action_outcome,
    claim_writable,
    handed_over,
    own_claim,
    planned_blocker,
    unplanned_blocker,
)

Echo = Callable[[str], None]


def action_id(kind: ActionType) -> str:
    """A fresh one-shot id: the operator runs an action once per id."""
    return f"dr-{kind.value.lower()}-{datetime.now(UTC):%Y%m%d-%H%M%S}"


def _run_action(site: Site, name: str, kind: ActionType, echo: Echo, timeout: float) -> None:
    identifier = action_id(kind)
    echo(f"site {site.name}: spec.action {kind.value} (id {identifier})")
    site.patch(name, {"spec": {"action": {"id": identifier, "type": kind.value}}})
    wait(
        f"{kind.value} on site {site.name}",
        lambda: action_outcome(site.view(name), identifier),
        timeout=timeout,
        echo=echo,
    )


def _observing(site: Site, name: str, check: Callable[[SiteView], str | None]) -> Callable[[], Any]:
    def probe() -> tuple[bool, str | None, str]:
        view = site.view(name)
        if not view.reachable:
            return False, None, f"site {site.name} unreachable ({view.error})"
        left = check(view)
        return left is None, None, left or ""

    return probe


def planned(source: Site, target: Site, name: str, *, echo: Echo, timeout: float) -> float:
    """Planned failover from ``source`` (manages the pair, its array SOURCE) to ``target``.

    1. ASYNC: SyncNow, then replicationType SYNC until SYNCHRONIZED (SwitchRole needs SYNC).
    2. SwitchRole on ``source``: the arrays swap roles.
    3. ``source`` becomes ObserveOnly (its spec back as it was).
    4. ``target`` takes the pair over (annotation naming its replica id) and becomes Full; it
       applies its spec (an ASYNC pair goes back to ASYNC there).
    """
    started = time.monotonic()
    before, after = source.view(name), target.view(name)
    blocker = planned_blocker(before, after)
    if blocker is not None:
        raise StepFailed(blocker)
    shared = {key: before.spec.get(key) for key in ("replicationType", "rpo", "syncInterval")}
    if before.role == "SOURCE":
        if before.status.get("replicationType") == "ASYNC":
            _run_action(source, name, ActionType.SYNC_NOW, echo, timeout)
            echo(f"site {source.name}: replicationType SYNC for the switch")
            source.patch(
                name, {"spec": {"replicationType": "SYNC", "rpo": None, "syncInterval": None, "action": None}}
            )
            wait(
                "the pair SYNCHRONIZED as SYNC",
                _observing(source, name, _synchronized_sync),
                timeout=timeout,
                echo=echo,
            )
        _run_action(source, name, ActionType.SWITCH_ROLE, echo, timeout)
    echo(f"site {source.name}: managementPolicy ObserveOnly")
    source.patch(name, {"spec": {"managementPolicy": ManagementPolicy.OBSERVE_ONLY.value, **shared}})
    wait(
        f"site {source.name} observing",
        _observing(source, name, lambda v: None if v.current else "status not yet from the new spec"),
        timeout=timeout,
        echo=echo,
    )
    take_over(target, name, echo=echo)
    wait(
        f"site {target.name} managing the pair",
        _observing(target, name, handed_over),
        timeout=timeout,
        echo=echo,
    )
    writable_claim(target, name, echo=echo, timeout=timeout)
    return time.monotonic() - started


def writable_claim(site: Site, name: str, *, echo: Echo, timeout: float) -> None:
    """Wait until ``site``'s own claim is reported writable (status.writableClaim) and print it; a
    site whose object asks for no claim has nothing to wait for."""
    if own_claim(site.view(name)) is None:
        echo(f"  site {site.name} has no claim of its volume (spec.source.localClaim): none to wait for")
        return
    wait(
        f"site {site.name}'s claim writable",
        _observing(site, name, claim_writable),
        timeout=timeout,
        echo=echo,
    )
    shown = site.view(name).status.get("writableClaim") or {}
    echo(
        f"  claim {shown.get('namespace')}/{shown.get('name')} is writable on site {site.name} "
        f"(PersistentVolume {shown.get('persistentVolume')}): start the application there"
    )


def take_over(site: Site, name: str, *, echo: Echo, extra: dict[str, Any] | None = None) -> None:
    """``site`` becomes Full and takes over the pair it observes (its replica id in the annotation)."""
    view = site.view(name)
    if view.replica_id is None:
        raise StepFailed(f"site {site.name} has not observed its replica yet (status.replicaId is empty)")
    echo(f"site {site.name}: take over replica {view.replica_id}, managementPolicy Full")
    site.patch(
        name,
        {
            "metadata": {"annotations": {TAKE_OVER_ANNOTATION: str(view.replica_id)}},
            "spec": {"managementPolicy": ManagementPolicy.FULL.value, **(extra or {})},
        },
    )


def unplanned(survivor: Site, lost: Site | None, name: str, *, echo: Echo, timeout: float) -> float:
    """Unplanned failover to ``survivor`` while the other site is gone: take over, ChangeRole."""
    started = time.monotonic()
    view = survivor.view(name)
    blocker = unplanned_blocker(view, lost.view(name) if lost is not None else None)
    if blocker is not None:
        raise StepFailed(blocker)
    if view.role == "SOURCE" and view.full:
        echo(f"site {survivor.name} already manages the pair as its SOURCE")
        writable_claim(survivor, name, echo=echo, timeout=timeout)
        return time.monotonic() - started
    identifier = action_id(ActionType.CHANGE_ROLE)
    take_over(survivor, name, echo=echo, extra={"action": {"id": identifier, "type": "ChangeRole"}})
    echo(f"site {survivor.name}: spec.action ChangeRole (id {identifier})")
    wait(
        f"ChangeRole on site {survivor.name}",
        lambda: action_outcome(survivor.view(name), identifier),
        timeout=timeout,
        echo=echo,
    )
    wait(
        f"site {survivor.name}'s array SOURCE",
        _observing(survivor, name, lambda v: None if v.role == "SOURCE" else f"role {v.role}"),
        timeout=timeout,
        echo=echo,
    )
    writable_claim(survivor, name, echo=echo, timeout=timeout)
    return time.monotonic() - started


def returned(old: Site, manager: Site, name: str, *, echo: Echo, timeout: float) -> float:
    """The old site is back after an unplanned failover: it stops managing, then the command waits
    for the stale SOURCE on its array to be demoted (by the array's administrator: the command
    never calls arrays) and for the pair to replicate from ``manager`` again."""
    started = time.monotonic()
    echo(f"site {old.name}: managementPolicy ObserveOnly (its array's SOURCE is stale)")
    old.patch(name, {"spec": {"managementPolicy": ManagementPolicy.OBSERVE_ONLY.value}})
    stale = old.view(name)
    if stale.reason("Ready") == "RoleConflict" or stale.role == "SOURCE":
        echo(
            f"  both arrays claim SOURCE: on {stale.spec.get('source', {}).get('array')}, demote replica "
            f"{stale.replica_id} (change_role on that array; docs/disaster-recovery.md)"
        )
    wait(
        f"site {old.name}'s array TARGET again",
        _observing(old, name, lambda v: None if v.current and v.role == "TARGET" else _conflict(v)),
        timeout=timeout,
        echo=echo,
    )
    wait(
        f"site {manager.name} managing the pair",
        _observing(manager, name, handed_over),
        timeout=timeout,
        echo=echo,
    )
    return time.monotonic() - started


def _conflict(view: SiteView) -> str:
    return f"role {view.role}, Ready {view.reason('Ready') or '-'}"


def _synchronized_sync(view: SiteView) -> str | None:
    if view.status.get("replicationType") == "SYNC" and view.status.get("syncState") == "SYNCHRONIZED":
        return None
    return f"{view.status.get('replicationType')} {view.status.get('syncState')}"


def drill(site: Site, name: str, drill_name: str, *, end: bool, echo: Echo, timeout: float) -> float:
    """Start a ReplicaDrill of ``name`` on ``site`` and wait until its claim is there, or end it and
    wait until it is gone (snapshot, PersistentVolume and claim with it)."""
    started = time.monotonic()
    if end:
        echo(f"site {site.name}: delete ReplicaDrill {drill_name}")
        delete(site, REPLICA_DRILL_PLURAL, drill_name)

        def gone() -> tuple[bool, str | None, str]:
            view = site.view(drill_name, REPLICA_DRILL_PLURAL)
            if not view.reachable:
                return False, None, f"site {site.name} unreachable ({view.error})"
            return view.body is None, None, view.condition("Ready").get("message", "") or "ending"

        wait(f"drill {drill_name} ended", gone, timeout=timeout, echo=echo)
        return time.monotonic() - started
    replica = site.view(name)
    if replica.body is None or replica.role != "TARGET":
        why = replica.error or (f"role {replica.role}" if replica.body else "no such object")
        raise StepFailed(f"site {site.name}: a drill tests the target side; {name} there: {why}")
    echo(f"site {site.name}: create ReplicaDrill {drill_name} of {name}")
    body = {
        "apiVersion": API_VERSION,
        "kind": REPLICA_DRILL_KIND,
        "metadata": {"name": drill_name, "namespace": site.namespace},
        "spec": {"replicaRef": {"name": name, **_kind(site)}},
    }
    create(site, REPLICA_DRILL_PLURAL, body)

    def ready() -> tuple[bool, str | None, str]:
        view = site.view(drill_name, REPLICA_DRILL_PLURAL)
        if view.is_true("Stalled"):
            return False, str(view.condition("Stalled").get("message")), ""
        claim = view.status.get("persistentVolumeClaim")
        return view.is_true("Ready"), None, f"claim {claim}" if claim else view.reason("Ready") or "starting"

    wait(f"drill {drill_name} Ready", ready, timeout=timeout, echo=echo)
    shown = site.view(drill_name, REPLICA_DRILL_PLURAL).status
    members = shown.get("members") or []
    claims = [m.get("persistentVolumeClaim") for m in members] or [shown.get("persistentVolumeClaim")]
    echo(f"  the test workload mounts claim {', '.join(map(str, claims))} in namespace {site.namespace}")
    return time.monotonic() - started


def _kind(site: Site) -> dict[str, str]:
    """replicaRef.kind of a drill of the kind the command works on (absent: a Replica)."""
    if site.plural == CONSISTENCY_GROUP_REPLICA.plural:
        return {"kind": CONSISTENCY_GROUP_REPLICA_KIND}
    return {}
