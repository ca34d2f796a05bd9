"""Backoff memory: exponential, capped, reset on success; a replay while backing off calls nothing."""

from __future__ import annotations

from datetime import timedelta

from replica_operator.array import Conflict
from replica_operator.controller import Backoff, Reconciler, Trigger
from replica_operator.controller.memory import Memories, ObjectMemory
from replica_operator.reconcile import Problem, SideName, StepResult, Suspend
from tests.unit.controller.fakes import World
from tests.unit.reconcile.builders import body

BACKOFF = Backoff(timedelta(seconds=2), timedelta(seconds=10))
STEP = Suspend(side=SideName.SOURCE, replica_id=101)
FAILED = (StepResult(STEP, Problem("Rejected", "no")),)
WORKED = (StepResult(STEP),)


def test_backoff_doubles_and_is_capped() -> None:
    assert [BACKOFF.delay(n) for n in (1, 2, 3, 4, 5)] == [2.0, 4.0, 8.0, 10.0, 10.0]


def test_failures_push_the_retry_out_and_success_resets_it() -> None:
    memory = ObjectMemory()
    memory.note_results(FAILED, BACKOFF, now=100.0)
    memory.note_results(FAILED, BACKOFF, now=100.0)
    assert (memory.failures, memory.retry_at, memory.last_results) == (2, 104.0, FAILED)
    assert memory.backing_off(103.9)
    assert not memory.backing_off(104.0)
    memory.note_results(WORKED, BACKOFF, now=105.0)
    assert (memory.failures, memory.retry_at, memory.last_results) == (0, 0.0, ())


def test_a_pass_without_steps_leaves_the_backoff_alone() -> None:
    memory = ObjectMemory()
    memory.note_results(FAILED, BACKOFF, now=0.0)
    memory.note_results((), BACKOFF, now=1.0)
    assert (memory.failures, memory.retry_at) == (1, 2.0)


def test_a_body_older_than_our_last_write_gets_that_status() -> None:
    memory = ObjectMemory()
    memory.wrote("5", {"replicaId": 101})
    stale = {"metadata": {"resourceVersion": "5"}, "status": {}}
    assert memory.latest(stale)["status"] == {"replicaId": 101}
    newer = {"metadata": {"resourceVersion": "6"}, "status": {"replicaId": 102}}
    assert memory.latest(newer) is newer
    assert memory.latest(stale) is stale  # the newer read superseded what we wrote


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_poll_while_backing_off_replays_the_failure_and_calls_nothing() -> None:
    world, clock = World(), Clock()
    world.arrays["ibox-1"].add_dataset("vol-1")
    world.arrays["ibox-1"].fail["create_replica"] = Conflict("ibox-1", "name taken", code="NAME_EXISTS")
    reconciler = Reconciler(world.registry, world.kube, BACKOFF, clock=clock)
    obj = body()

    first = await reconciler.reconcile(obj, Trigger.EVENT, world.lookup)
    assert [r.problem.reason for r in first.results if r.problem] == ["Rejected"]
    creates = world.log.names("ibox-1").count("create_replica")
    events = world.log.names("kube").count("post_event")

    clock.now += BACKOFF.delay(1) - 0.5
    replay = await reconciler.reconcile(obj, Trigger.POLL, world.lookup)
    assert replay.results == first.results
    assert world.log.names("ibox-1").count("create_replica") == creates  # nothing sent again
    assert world.log.names("kube").count("post_event") == events  # and nothing told again

    clock.now += 1.0
    del world.arrays["ibox-1"].fail["create_replica"]
    retried = await reconciler.reconcile(obj, Trigger.POLL, world.lookup)
    assert [r.problem for r in retried.results] == [None]
    assert world.log.names("ibox-1").count("create_replica") == creates + 1
    assert reconciler.memories.of(obj).failures == 0


async def test_an_event_is_not_held_back_by_the_backoff() -> None:
    world, clock = World(), Clock()
    world.arrays["ibox-1"].add_dataset("vol-1")
    world.arrays["ibox-1"].fail["create_replica"] = Conflict("ibox-1", "name taken", code="NAME_EXISTS")
    reconciler = Reconciler(world.registry, world.kube, BACKOFF, clock=clock)
    await reconciler.reconcile(body(), Trigger.EVENT, world.lookup)
    await reconciler.reconcile(body(), Trigger.EVENT, world.lookup)  # the user changed something: try now
    assert world.log.names("ibox-1").count("create_replica") == 2
    assert reconciler.memories.of(body()).failures == 2


def test_a_pass_of_an_object_deleted_meanwhile_keeps_no_memory_of_it() -> None:
    memories = Memories()
    gone = body()
    memories.of(gone).failures = 3
    memories.forget(gone["metadata"]["uid"])
    late = memories.of(gone)  # a poll's fan-out captured the body before the deletion
    assert late.failures == 0
    assert len(memories) == 0
    assert memories.of(gone) is not late  # nothing kept for it


def test_the_forgotten_uids_are_bounded() -> None:
    memories = Memories()
    for number in range(Memories.RECENTLY_FORGOTTEN + 10):
        memories.forget(f"uid-{number}")
    assert len(memories._forgotten) == Memories.RECENTLY_FORGOTTEN
