"""One whole pass on in-memory arrays: observe, decide, execute, refresh, write."""

from __future__ import annotations

from datetime import timedelta

from replica_operator import array
from replica_operator.controller import Backoff, Outcome, Reconciler, Trigger
from replica_operator.reconcile import owner_mark
from tests.unit.controller.fakes import World, infinibox_body
from tests.unit.reconcile.builders import UID, body

BACKOFF = Backoff(timedelta(seconds=1), timedelta(seconds=8))


async def test_a_new_object_creates_its_replica_with_the_entity_the_search_found() -> None:
    world = World()
    volume = world.arrays["ibox-1"].add_dataset("vol-1")
    reconciler = Reconciler(world.registry, world.kube, BACKOFF)
    outcome = await reconciler.reconcile(body({"rpo": "5m"}), Trigger.EVENT, world.lookup)

    (result,) = outcome.results
    assert result.problem is None
    (request,) = world.arrays["ibox-1"].created
    assert request.entity_pairs[0].local_entity_id == volume.id
    assert world.log.names("ibox-1").count("find_volume") == 1  # the search's look-up, not a second one
    patches = [c[4] for c in world.log.calls if c[1] == "patch_status"]
    assert result.replica is not None
    assert patches[-1]["replicaId"] == result.replica.id
    assert "Created" in [c[2] for c in world.log.calls if c[1] == "post_event"]


async def test_a_replica_marked_with_our_uid_is_adopted_not_created() -> None:
    world = World()
    volume = world.arrays["ibox-1"].add_dataset("vol-1")
    mine = world.arrays["ibox-1"].add_replica(
        role="SOURCE",
        state="ACTIVE",
        sync_state="SYNCHRONIZED",
        local_entity_id=volume.id,
        link_id=7,
        description=owner_mark(UID, "ns", "rep"),
    )
    await world.connect()
    reconciler = Reconciler(world.registry, world.kube, BACKOFF)
    outcome = await reconciler.reconcile(body(), Trigger.EVENT, world.lookup)

    assert outcome.plan.adopted is not None
    assert outcome.plan.adopted.id == mine.id
    assert world.arrays["ibox-1"].created == []
    assert outcome.update.status.replica_id == mine.id


async def test_a_quiet_object_is_skipped_by_the_next_poll() -> None:
    world = World()
    world.arrays["ibox-1"].add_dataset("vol-1")
    reconciler = Reconciler(world.registry, world.kube, BACKOFF)
    first = await reconciler.reconcile(body(), Trigger.EVENT, world.lookup)
    settled = body(status=first.update.status.to_cr())
    await reconciler.on_poll(settled, world.lookup)
    assert reconciler.memories.of(settled).fingerprint is not None  # settled: the next poll may skip it
    world.log.clear()
    await reconciler.on_poll(settled, world.lookup)
    assert world.log.calls == []  # same object, same listing: no array call, no status write


async def test_an_object_whose_claim_could_not_be_made_is_not_skipped_by_the_next_poll() -> None:
    """A claim's wait (no export yet, no RBAC yet) is nothing the fingerprint sees: polls retry it."""
    world = World()
    world.arrays["ibox-1"].add_dataset("vol-1")
    world.kube.refuse_volumes = True
    reconciler = Reconciler(world.registry, world.kube, BACKOFF)
    spec = {"source": {"array": "ibox-1", "volume": "vol-1", "localClaim": {"name": "db"}}}
    first = await reconciler.reconcile(body(spec), Trigger.EVENT, world.lookup)
    assert "TargetClaimFailed" in [c[2] for c in world.log.calls if c[1] == "post_event"]
    waiting = body(spec, status=first.update.status.to_cr())
    await reconciler.on_poll(waiting, world.lookup)
    assert reconciler.memories.of(waiting).fingerprint is None  # not settled: the next poll looks again
    world.kube.refuse_volumes = False
    await reconciler.on_poll(waiting, world.lookup)
    made = [c[3] for c in world.log.calls if c[1] == "create_volume_object" and c[2] == "PersistentVolume"]
    assert made[-1] == f"iro-{UID}-local"
    assert reconciler.memories.of(waiting).fingerprint is not None  # made: quiet again


async def test_a_move_of_progress_alone_is_written_at_most_every_thirty_seconds() -> None:
    world = World()
    volume = world.arrays["ibox-1"].add_dataset("vol-1")
    fields = {"role": "SOURCE", "state": "ACTIVE", "local_entity_id": volume.id, "link_id": 7}
    mine = world.arrays["ibox-1"].add_replica(
        **fields, sync_state="INITIALIZING", progress=10, description=owner_mark(UID, "ns", "rep")
    )
    await world.connect()
    now = [1000.0]
    reconciler = Reconciler(world.registry, world.kube, BACKOFF, clock=lambda: now[0])
    first = await reconciler.reconcile(body(), Trigger.EVENT, world.lookup)
    assert first.update.status.progress == 10

    def writes() -> list[dict[str, object]]:
        return [c[4] for c in world.log.calls if c[1] == "patch_status"]

    async def poll(progress: int, **changed: object) -> Outcome:
        world.arrays["ibox-1"].replicas[mine.id] = mine.model_copy(update={"progress": progress, **changed})
        await world.registry.poll("ibox-1", infinibox_body("ibox-1"))  # the next listing
        world.log.clear()
        return await reconciler.reconcile(
            body(status=first.update.status.to_cr()), Trigger.POLL, world.lookup
        )

    seen = await poll(40)
    assert seen.update.changed
    assert seen.update.status.progress == 40
    assert writes() == []  # 0 s after the last write: progress alone waits
    now[0] += 31
    await poll(60)
    assert [w["progress"] for w in writes()] == [60]
    await poll(70, sync_state="SYNCHRONIZED")  # a transition is written at once
    assert writes()
    assert writes()[-1]["syncState"] == "SYNCHRONIZED"


async def test_a_change_role_while_the_source_array_is_lost_sends_nothing_to_that_array() -> None:
    """Issue 18: after the promotion, status is written without re-reading the lost side (whose
    retries would hold the status back by seconds); the call goes to the target array only."""
    world = World()
    source_volume = world.arrays["ibox-1"].add_dataset("vol-1")
    target_volume = world.arrays["ibox-2"].add_dataset("vol-1")
    mark = owner_mark(UID, "ns", "rep")
    common = {
        "state": "ACTIVE",
        "sync_state": "SYNCHRONIZED",
        "description": mark,
        "replication_type": "ASYNC",
    }
    source = world.arrays["ibox-1"].add_replica(
        role="SOURCE", local_entity_id=source_volume.id, link_id=7, **common
    )
    target = world.arrays["ibox-2"].add_replica(
        role="TARGET", local_entity_id=target_volume.id, remote_replica_id=source.id, **common
    )
    world.arrays["ibox-1"].replicas[source.id] = source.model_copy(update={"remote_replica_id": target.id})
    await world.connect()
    world.arrays["ibox-1"].fail = {
        name: array.Unavailable("ibox-1", "connection lost") for name in ("list_all_replicas", "get_replica")
    }
    await world.registry.poll("ibox-1", infinibox_body("ibox-1"))  # the lost array is now known as such
    world.log.clear()
    status = {"replicaId": source.id, "remoteReplicaId": target.id, "observedGeneration": 1}
    spec = {"action": {"id": "dr-1", "type": "ChangeRole"}}
    outcome = await Reconciler(world.registry, world.kube, BACKOFF).reconcile(
        body(spec, status), Trigger.EVENT, world.lookup
    )
    assert [r.problem for r in outcome.results] == [None]
    assert world.log.names("ibox-2").count("change_role") == 1
    assert world.log.names("ibox-1") == []
