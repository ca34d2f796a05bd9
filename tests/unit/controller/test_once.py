"""Issue 14 items 4 and 5 in the controller: the newest body wins, no call without its record."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from replica_operator.controller import Backoff, ObjectMemory, Reconciler, Trigger
from replica_operator.reconcile import NOT_RECORDED, owner_mark
from tests.unit.controller.fakes import World
from tests.unit.reconcile.builders import UID, body

BACKOFF = Backoff(timedelta(seconds=1), timedelta(seconds=8))
MARK = owner_mark(UID, "ns", "rep")


def _known(world: World, state: str, **spec: Any) -> tuple[dict[str, Any], int]:
    """A replica on ibox-1 in ``state``, and the spec/status of an object that knows it (generation 1)."""
    source = world.arrays["ibox-1"].add_replica(
        role="SOURCE",
        state=state,
        sync_state="SYNCHRONIZED",
        replication_type="SYNC",
        remote_replica_id=9,
        description=MARK,  # the object's own replica (issue 14 item 1: only those are changed)
    )
    return {"replicationType": "SYNC", **spec}, source.id


def _status_of(world: World) -> list[dict[str, Any]]:
    return [call[4] for call in world.log.calls if call[1] == "patch_status"]


async def test_a_poll_holding_an_older_body_does_not_undo_a_newer_change() -> None:
    world = World()
    spec, replica_id = _known(world, "SUSPENDED")
    status = {"observedGeneration": 1, "replicaId": replica_id, "conditions": []}
    old = body(spec, {**status, "conditions": [_synced()]}, generation=1)
    new = body({**spec, "suspended": True}, {**status, "conditions": [_synced()]}, generation=2)
    old["metadata"]["resourceVersion"], new["metadata"]["resourceVersion"] = "10", "11"
    reconciler = Reconciler(world.registry, world.kube, BACKOFF)
    await reconciler.reconcile(new, Trigger.EVENT, world.lookup)  # the user suspended: the array is
    world.log.clear()
    await reconciler.on_poll(old, world.lookup)  # a poll that captured the body before the edit

    assert "resume" not in world.log.names("ibox-1")
    assert all(patch.get("observedGeneration", 2) >= 2 for patch in _status_of(world))


async def test_the_index_body_is_taken_when_newer_than_the_one_handed_in() -> None:
    world = World()
    spec, replica_id = _known(world, "SUSPENDED")
    status = {"observedGeneration": 1, "replicaId": replica_id, "conditions": [_synced()]}
    old = body(spec, status, generation=1)
    new = body({**spec, "suspended": True}, status, generation=2)
    reconciler = Reconciler(world.registry, world.kube, BACKOFF)
    reconciler.newest_known = lambda _: new
    outcome = await reconciler.reconcile(old, Trigger.POLL, world.lookup)
    assert outcome.plan.steps == ()  # suspended, as the newest spec says
    assert "resume" not in world.log.names("ibox-1")


async def test_no_action_call_when_its_in_progress_record_cannot_be_written() -> None:
    world = World()
    spec, replica_id = _known(world, "ACTIVE", action={"id": "a-1", "type": "SwitchRole"})
    world.arrays["ibox-2"].add_replica(
        role="TARGET", replication_type="SYNC", remote_replica_id=replica_id, description=MARK
    )
    status = {"observedGeneration": 1, "replicaId": replica_id, "conditions": [_synced()]}
    world.kube.refuse_status = True
    reconciler = Reconciler(world.registry, world.kube, BACKOFF)
    outcome = await reconciler.reconcile(body(spec, status), Trigger.EVENT, world.lookup)

    (result,) = outcome.results
    assert result.problem is not None
    assert result.problem.reason == NOT_RECORDED
    assert "switch_role" not in world.log.names("ibox-1")
    last = outcome.update.status.last_action
    assert last is not None
    assert (last.result, last.attempted_at) == ("InProgress", None)


async def test_the_in_progress_record_survives_a_failed_final_write() -> None:
    world = World()
    spec, replica_id = _known(world, "ACTIVE", action={"id": "a-1", "type": "SyncNow"})
    spec["replicationType"] = "ASYNC"
    world.arrays["ibox-1"].replicas[replica_id] = (
        world.arrays["ibox-1"].replicas[replica_id].model_copy(update={"replication_type": "ASYNC"})
    )
    status = {"observedGeneration": 1, "replicaId": replica_id, "conditions": [_synced()]}
    first = body(spec, status)
    first["metadata"]["resourceVersion"] = "10"
    reconciler = Reconciler(world.registry, world.kube, BACKOFF)
    original = world.kube.patch_status
    calls = 0

    async def refuse_after_the_first(*args: Any) -> str | None:
        nonlocal calls
        calls += 1
        if calls > 1:
            world.kube.refuse_status = True
        return await original(*args)

    world.kube.patch_status = refuse_after_the_first  # type: ignore[method-assign]
    await reconciler.reconcile(first, Trigger.EVENT, world.lookup)  # InProgress written, final write refused
    assert world.log.names("ibox-1").count("sync_now") == 1
    world.kube.refuse_status = False
    await reconciler.reconcile(first, Trigger.EVENT, world.lookup)  # the watch has not delivered anything yet
    assert world.log.names("ibox-1").count("sync_now") == 1  # the remembered record: not sent twice


def _synced() -> dict[str, Any]:
    return {
        "type": "Synced",
        "status": "True",
        "reason": "Synced",
        "message": "",
        "lastTransitionTime": "2026-11-25T11:00:00Z",
    }


def test_the_newest_body_is_kept_by_generation_then_resource_version() -> None:
    memory = ObjectMemory()
    first, second, third = body(generation=1), body(generation=2), body(generation=2)
    first["metadata"]["resourceVersion"], second["metadata"]["resourceVersion"] = "30", "20"
    third["metadata"]["resourceVersion"] = "21"
    assert memory.see(first) is first
    assert memory.see(second) is second  # a newer spec, though a lower resourceVersion
    assert memory.see(first) is second  # an older body handed in later changes nothing
    assert memory.see(third) is third  # same spec, a later write (e.g. our status)
