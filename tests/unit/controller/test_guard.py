"""Issue 14 item 1: the owner check before every mutating call, even on a plan that slipped past the rules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from replica_operator.api import Action, ActionType, ReplicationType
from replica_operator.controller import Backoff, Reconciler, StepContext, execute
from replica_operator.reconcile import (
    ArrayReplica,
    ChangeType,
    Delete,
    Observation,
    Resume,
    RunAction,
    Side,
    SideName,
    Step,
    StepResult,
    Suspend,
    TakeOver,
    UpdateSchedule,
    owner_mark,
)
from tests.unit.controller.fakes import World
from tests.unit.reconcile.builders import NOW, UID, desired, replica

OTHER_UID = "11111111-2222-3333-4444-555555555555"
OTHER = f"k8s-uid={OTHER_UID} k8s-object=team-a/db"
READS = ("get_replica", "list_all_replicas", "get_system", "login", "list_links")


async def _run(
    world: World, steps: list[Step], seen: ArrayReplica | None, owner_exists: Callable[[str], bool]
) -> tuple[StepResult, ...]:
    await world.connect()
    world.log.clear()
    reconciler = Reconciler(world.registry, world.kube, Backoff(timedelta(seconds=1), timedelta(seconds=8)))
    observed = Observation(Side("ibox-1", polled=True, replica=seen), Side("ibox-2", polled=True), NOW)

    async def exists(uid: str) -> bool:
        return owner_exists(uid)

    def context(step: Step) -> StepContext | None:
        connection = world.registry.get(observed.side(step.side).array)
        assert connection is not None
        return StepContext(
            desired(), observed, connection, world.registry, reconciler.reporter, owner_exists=exists
        )

    return await execute(steps, context)


def _mutations(world: World) -> list[str]:
    return [c for array in ("ibox-1", "ibox-2") for c in world.log.names(array) if c not in READS]


MUTATING_STEPS: list[Step] = [
    ChangeType(side=SideName.SOURCE, replica_id=101, to=ReplicationType.SYNC),
    UpdateSchedule(side=SideName.SOURCE, replica_id=101, rpo=timedelta(minutes=1)),
    Suspend(side=SideName.SOURCE, replica_id=101),
    Resume(side=SideName.SOURCE, replica_id=101),
    RunAction(side=SideName.SOURCE, replica_id=101, action=Action(id="a-1", type=ActionType.SWITCH_ROLE)),
    Delete(side=SideName.SOURCE, replica_id=101),
]


@pytest.mark.parametrize("step", MUTATING_STEPS, ids=lambda s: type(s).__name__)
async def test_no_call_on_a_replica_another_object_marked(step: Step) -> None:
    world = World()
    world.arrays["ibox-1"].add_replica(id=101, role="SOURCE", description=OTHER)
    (result,) = await _run(world, [step], replica(id=101, description=OTHER), lambda uid: True)
    assert result.problem is not None
    assert result.problem.reason == "Conflict"
    assert "team-a/db" in result.problem.message
    assert _mutations(world) == []
    assert "patch_status" not in world.log.names("kube")  # not even RunAction's InProgress record


async def test_a_replica_the_pass_did_not_see_is_read_before_the_call() -> None:
    world = World()
    world.arrays["ibox-1"].add_replica(id=303, role="SOURCE", description=OTHER)
    (result,) = await _run(world, [Suspend(side=SideName.SOURCE, replica_id=303)], None, lambda uid: True)
    assert result.problem is not None
    assert result.problem.reason == "Conflict"
    assert world.log.names("ibox-1") == ["get_replica"]


async def test_take_over_is_refused_while_the_marked_owner_exists() -> None:
    world = World()
    world.arrays["ibox-1"].add_replica(id=101, role="SOURCE", description=OTHER)
    step = TakeOver(
        side=SideName.SOURCE, replica_id=101, description=owner_mark(UID, "ns", "rep"), previous="x"
    )
    (result,) = await _run(world, [step], replica(id=101, description=OTHER), lambda uid: uid == OTHER_UID)
    assert result.problem is not None
    assert result.problem.reason == "Conflict"
    assert _mutations(world) == []


async def test_take_over_of_an_orphan_re_marks_both_sides() -> None:
    world = World()
    world.arrays["ibox-1"].add_replica(id=101, role="SOURCE", description=OTHER)
    world.arrays["ibox-2"].add_replica(id=202, role="TARGET", description=OTHER)
    mark = owner_mark(UID, "ns", "rep")
    step = TakeOver(side=SideName.SOURCE, replica_id=101, description=mark, peer_id=202, previous="x")
    (result,) = await _run(world, [step], replica(id=101, description=OTHER), lambda uid: False)
    assert result.problem is None
    assert world.arrays["ibox-1"].replicas[101].description == mark
    assert world.arrays["ibox-2"].replicas[202].description == mark
