"""Invariant (vi): once the adversary stops and the faults are cleared, everything converges and
status matches the arrays. What "converged" means depends on what the object now asks for."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from replica_operator.api import GROUP, VERSION
from replica_operator.reconcile import ACCEPT_ARRAY_ANNOTATION
from tests.e2e.chaos import invariants as inv
from tests.e2e.chaos.world import Thing, World
from tests.support.wait import WaitTimeout, wait_for

FINAL = {"Succeeded", "Failed"}


def _condition(status: Mapping[str, Any], kind: str) -> dict[str, Any]:
    return next((c for c in status.get("conditions") or [] if c["type"] == kind), {})


def problem(world: World, thing: Thing, body: Mapping[str, Any] | None, role_changed: set[str]) -> str | None:
    """Why ``thing`` has not converged, or None. ``role_changed``: uids of objects on whose
    replicas a ChangeRole was executed (both sides then claim SOURCE: ``RoleConflict`` is right)."""
    if body is None:
        return "lost" if thing.alive else None
    spec, status = body["spec"], dict(body.get("status") or {})
    meta = body["metadata"]
    if status.get("observedGeneration") != meta.get("generation"):
        return f"observedGeneration {status.get('observedGeneration')} != generation {meta.get('generation')}"
    synced, ready = _condition(status, "Synced"), _condition(status, "Ready")
    on_source = world.arrays.replicas("ibox-1", local_entity_id=thing.entity_id)
    if spec.get("managementPolicy") == "ObserveOnly":
        ids = [r["id"] for r in on_source]
        if ids and status.get("replicaId") not in ids:
            return f"ObserveOnly shows replica {status.get('replicaId')}, the array has {ids}"
        return None
    if thing.part == "intruder":  # Full on a protected object's volume
        return None if synced.get("reason") == "Conflict" else f"Synced {synced.get('reason')}, not Conflict"
    if meta["uid"] in role_changed:
        return (
            None
            if ready.get("reason") == "RoleConflict"
            else f"Ready {ready.get('reason')}, not RoleConflict"
        )
    action, last = spec.get("action"), status.get("lastAction") or {}
    if action and last.get("id") != action["id"]:
        return (
            f"action {action['id']} not recorded (lastAction {last.get('id')}; Synced {synced.get('reason')})"
        )
    # A SyncNow or SwitchRole on a replica the spec keeps suspended waits for the resume by design
    # (reconcile/plan.py `_decide_action`): InProgress is then the converged state.
    waits_for_resume = bool(spec.get("suspended")) and action is not None and action["type"] != "ChangeRole"
    if action and last.get("result") not in FINAL and action["type"] != "ChangeRole" and not waits_for_resume:
        return f"action {action['id']} is {last.get('result')}"
    if synced.get("status") != "True":
        return f"Synced {synced.get('reason')}: {synced.get('message')}"
    try:
        world.arrays.assert_pair(status, thing.entity_id)
    except AssertionError as error:
        return str(error)[:300]
    return None


def role_changes(entries: Iterable[Mapping[str, Any]], marks: Mapping[inv.Key, set[str]]) -> set[str]:
    """The uids whose replicas a change_role executed on (the array answered 2xx itself)."""
    found = set()
    for entry in entries:
        call = inv.replica_call(entry)
        if call and call[1] == "change_role" and 200 <= int(entry.get("array_status") or 0) < 300:
            found |= marks.get(call[0], set())
    return found


def _reason(body: Mapping[str, Any], kind: str) -> str | None:
    return _condition(dict(body.get("status") or {}), kind).get("reason")


def _accept_the_array(world: World, thing: Thing, body: Mapping[str, Any]) -> None:
    """An object made or adopted while the source InfiniBox led to the other array keeps that
    array's ids and, with the url back, stops at ``ArrayChanged`` until the user acts (README,
    "Ids belong to one system"). The user's documented step: accept the system it leads to now."""
    infinibox = world.api.get_cluster_custom_object(GROUP, VERSION, "infiniboxes", world.source)
    serial = (infinibox.get("status") or {}).get("serial")
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    if serial is not None and annotations.get(ACCEPT_ARRAY_ANNOTATION) != str(serial):
        world.patch(thing, {"metadata": {"annotations": {ACCEPT_ARRAY_ANNOTATION: str(serial)}}})


def converge(world: World, role_changed: Callable[[], set[str]], timeout: float) -> list[str]:
    """Wait (bounded) until every object has converged; the ones that did not, as violations."""
    # An object that agreed with the arrays once after the calm has converged: volatile fields
    # (syncState during a periodic ASYNC sync) need not agree for every object at one instant.
    settled: set[str] = set()
    waiting: dict[str, str] = {}
    reported = time.monotonic()

    def all_settled() -> bool:
        nonlocal reported
        changed = role_changed()
        waiting.clear()
        for thing in world.things:
            if thing.ref in settled:
                continue
            body = world.get(thing)
            if body is not None and _reason(body, "Synced") == "ArrayChanged":
                _accept_the_array(world, thing, body)
                continue
            found = problem(world, thing, body, changed)
            if found:
                waiting[thing.ref] = found
            else:
                settled.add(thing.ref)
        if waiting and time.monotonic() - reported > 20:
            reported = time.monotonic()
            print(f"chaos: {len(waiting)} not converged yet, e.g. {list(waiting.items())[:3]}", flush=True)
        return not waiting

    try:
        wait_for(all_settled, timeout=timeout, interval=2.0, what="every object converged")
    except WaitTimeout:
        return [f"(vi) {ref} did not converge: {why}" for ref, why in sorted(waiting.items())]
    return []
