"""A Replica whose source is a claim: until the claim names an entity, Synced says why and nothing
reaches the arrays; the answer is written once, not on every pass, and a deletion is not held up."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from replica_operator.controller import Backoff, Outcome, Reconciler, Trigger
from replica_operator.reconcile import Problem
from tests.unit.controller.fakes import World
from tests.unit.reconcile.builders import body

BACKOFF = Backoff(timedelta(seconds=1), timedelta(seconds=8))
CLAIM_SOURCE = {"source": {"array": "ibox-1", "persistentVolumeClaim": "data"}}


async def _pass(world: World, obj: dict[str, Any], trigger: Trigger = Trigger.EVENT) -> Outcome:
    return await Reconciler(world.registry, world.kube, BACKOFF).reconcile(obj, trigger, world.lookup)


def _synced(outcome: Outcome) -> tuple[str, str, str]:
    found = {c.type: c for c in outcome.update.status.conditions}["Synced"]
    return found.status.value, found.reason, found.message


def _calls(world: World, name: str) -> list[tuple[Any, ...]]:
    return [c for c in world.log.calls if c[1] == name]


async def test_a_pending_claim_waits_with_the_reason_and_calls_no_array() -> None:
    world = World()
    world.kube.volume_objects[("PersistentVolumeClaim", "ns", "data")] = {"status": {"phase": "Pending"}}
    outcome = await _pass(world, body(CLAIM_SOURCE))
    waiting = "PersistentVolumeClaim data is not bound to a PersistentVolume yet"
    assert outcome.plan.blocked == Problem("ClaimNotBound", waiting)
    assert _synced(outcome) == ("False", "ClaimNotBound", waiting)
    assert world.log.names("ibox-1") == world.log.names("ibox-2") == []
    (patch,) = _calls(world, "patch_status")
    assert patch[2:4] == ("Replica", "rep")
    assert _calls(world, "post_event") == []  # waiting for a binding is not a warning

    world.log.clear()
    again = await _pass(world, body(CLAIM_SOURCE, status=outcome.update.status.to_cr()))
    assert again.update.changed is False
    assert _calls(world, "patch_status") == []  # told once: a quiet object costs no write


async def test_a_missing_claim_is_a_warning_naming_it() -> None:
    world = World()
    outcome = await _pass(world, body(CLAIM_SOURCE))
    missing = "PersistentVolumeClaim data does not exist in this namespace"
    assert _synced(outcome) == ("False", "ClaimNotFound", missing)
    assert [c[2:] for c in _calls(world, "post_event")] == [("ClaimNotFound", missing)]


async def test_deleting_an_object_whose_claim_never_resolved_is_released_at_once() -> None:
    world = World()
    outcome = await _pass(world, body(CLAIM_SOURCE, deleting=True), Trigger.DELETE)
    assert outcome.plan.release  # no entity was ever resolved, so no replica was made
    assert _calls(world, "patch_status") == []  # the object is going: no status write


async def test_deleting_an_object_that_had_a_replica_is_not_released_by_its_claim() -> None:
    world = World()
    outcome = await _pass(world, body(CLAIM_SOURCE, {"replicaId": 77}, deleting=True), Trigger.DELETE)
    assert not outcome.plan.release  # the replica it made may still be on the array
    assert len(_calls(world, "patch_status")) == 1
