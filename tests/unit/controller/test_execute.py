"""Step dispatch: every step type reaches its executor, in order, with its hooks; no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from replica_operator.api import Action, ActionType, ReplicationType
from replica_operator.array import Conflict, Dataset, InvalidState
from replica_operator.controller import EXECUTORS, Backoff, Reconciler, StepContext, execute
from replica_operator.reconcile import (
    ChangeType,
    Delete,
    Desired,
    Observation,
    Resume,
    RunAction,
    Side,
    SideName,
    Step,
    StepResult,
    Suspend,
    UpdateSchedule,
    create_step,
)
from tests.unit.controller.fakes import World, infinibox_body
from tests.unit.reconcile.builders import NOW, desired, replica

SOURCE_REPLICA = replica(id=101)
BACKOFF = Backoff(timedelta(seconds=1), timedelta(seconds=8))


def _observed() -> Observation:
    return Observation(
        source=Side("ibox-1", polled=True, replica=SOURCE_REPLICA),
        target=Side("ibox-2", polled=True),
        now=NOW,
    )


async def _run(world: World, steps: list[Step], obj: Desired | None = None) -> tuple[StepResult, ...]:
    await world.connect()
    world.log.clear()
    reconciler = Reconciler(world.registry, world.kube, BACKOFF)
    obj = obj or desired()
    observed = _observed()

    def context(step: Step) -> StepContext | None:
        connection = world.registry.get(observed.side(step.side).array)
        assert connection is not None
        return StepContext(obj, observed, connection, world.registry, reconciler.reporter)

    return await execute(steps, context)


def _action(kind: ActionType) -> RunAction:
    return RunAction(side=SideName.SOURCE, replica_id=101, action=Action(id="a-1", type=kind))


STEPS_AND_CALLS = [
    (ChangeType(side=SideName.SOURCE, replica_id=101, to=ReplicationType.SYNC), "change_type"),
    (
        UpdateSchedule(side=SideName.SOURCE, replica_id=101, sync_interval=timedelta(seconds=30)),
        "update_replica",
    ),
    (Suspend(side=SideName.SOURCE, replica_id=101), "suspend"),
    (Resume(side=SideName.SOURCE, replica_id=101), "resume"),
    (_action(ActionType.SYNC_NOW), "sync_now"),
    (_action(ActionType.SWITCH_ROLE), "switch_role"),
    (_action(ActionType.CHANGE_ROLE), "change_role"),
    (Delete(side=SideName.SOURCE, replica_id=101), "delete_replica"),
]


@pytest.mark.parametrize(("step", "call"), STEPS_AND_CALLS, ids=[c for _, c in STEPS_AND_CALLS])
async def test_each_step_reaches_its_executor(step: Step, call: str) -> None:
    world = World()
    world.arrays["ibox-1"].replicas[101] = world.arrays["ibox-1"].add_replica(id=101, role="SOURCE")
    (result,) = await _run(world, [step])
    assert result.problem is None
    mutating = [c for c in world.log.names("ibox-1") if c not in ("get_replica",)]
    assert mutating == [call]
    assert world.log.calls[world.log.index("ibox-1", call)][2] == 101


async def test_create_reaches_its_executor() -> None:
    world = World()
    world.arrays["ibox-1"].add_dataset("vol-1")
    (result,) = await _run(world, [create_step(desired())])
    assert result.problem is None
    assert result.replica is not None  # the array's answer, in the rules' terms
    assert len(world.arrays["ibox-1"].created) == 1


def test_every_step_type_has_an_executor() -> None:
    steps_of_the_rules = {c for c in Step.__subclasses__() if c.__module__.startswith("replica_operator.")}
    assert set(EXECUTORS) == steps_of_the_rules


async def test_an_unknown_step_type_fails_loudly() -> None:
    @dataclass(frozen=True, kw_only=True)
    class Teleport(Step):
        pass

    with pytest.raises(TypeError, match="no executor for step Teleport"):
        await _run(World(), [Teleport(side=SideName.SOURCE, replica_id=101)])


async def test_in_progress_is_recorded_before_the_role_call_is_sent() -> None:
    world = World()
    obj = desired({"replicationType": "SYNC", "action": {"id": "a-1", "type": "SwitchRole"}})
    (result,) = await _run(world, [_action(ActionType.SWITCH_ROLE)], obj)
    assert result.problem is None
    patched = world.log.index("kube", "patch_status")
    assert patched < world.log.index("ibox-1", "switch_role")
    status = world.log.calls[patched][4]
    assert status["lastAction"]["result"] == "InProgress"
    assert status["currentSource"] == {"array": "ibox-1", "entity": "vol-1"}


async def test_steps_without_the_hook_write_no_status() -> None:
    world = World()
    await _run(world, [Suspend(side=SideName.SOURCE, replica_id=101)])
    assert "patch_status" not in world.log.names("kube")


async def test_a_failure_does_not_hold_back_the_independent_steps_after_it() -> None:
    world = World()
    world.arrays["ibox-1"].fail["change_type"] = InvalidState(
        "ibox-1", "initializing", code="REPLICA_IS_INITIALIZING"
    )
    results = await _run(
        world,
        [
            ChangeType(side=SideName.SOURCE, replica_id=101, to=ReplicationType.SYNC),
            Suspend(side=SideName.SOURCE, replica_id=101),
        ],
    )
    failed, suspended = results
    assert failed.problem is not None
    assert (failed.problem.reason, failed.code) == ("Rejected", "REPLICA_IS_INITIALIZING")
    assert suspended.problem is None
    assert "suspend" in world.log.names("ibox-1")


async def test_a_one_shot_action_waits_when_a_step_before_it_failed() -> None:
    world = World()
    world.arrays["ibox-1"].fail["suspend"] = InvalidState("ibox-1", "no", code="REPLICA_IS_INITIALIZING")
    results = await _run(world, [Suspend(side=SideName.SOURCE, replica_id=101), _action(ActionType.SYNC_NOW)])
    assert [type(r.step) for r in results] == [Suspend]
    assert "sync_now" not in world.log.names("ibox-1")
    assert "patch_status" not in world.log.names("kube")  # not even its InProgress record


async def test_a_refused_create_drops_the_cached_link_and_pool() -> None:
    world = World()
    world.arrays["ibox-1"].add_dataset("vol-1")
    world.arrays["ibox-1"].fail["create_replica"] = Conflict("ibox-1", "link is gone", code="LINK_NOT_FOUND")
    (result,) = await _run(world, [create_step(desired())])
    assert result.problem is not None
    assert result.problem.reason == "Rejected"
    source, target = world.registry.get("ibox-1"), world.registry.get("ibox-2")
    assert source is not None
    assert target is not None
    assert (source.links, target.pools) == ({}, {})  # both were known before: the poll listed the links


async def test_a_step_on_an_array_without_connection_is_unreachable() -> None:
    step = Suspend(side=SideName.SOURCE, replica_id=101)
    (result,) = await execute([step], lambda _: None)
    assert result.problem is not None
    assert result.problem.reason == "ArrayUnreachable"


# -- a connection dropped while a step runs ---------------------------------------------------------
async def test_a_target_connection_dropped_during_a_create_becomes_the_steps_problem() -> None:
    """A pass checks both arrays before it starts; while it awaits the array, another task may
    refresh a connection and drop its client (its Secret unreadable while the API server restarts,
    as a chaos run did). The step reports the connection's problem; it used to raise (AssertionError)."""
    world = World()
    world.arrays["ibox-1"].add_dataset("vol-1")
    await world.connect()
    found = world.arrays["ibox-1"].find_volume

    async def find_volume_while_ibox_2_is_refreshed(name: str) -> Dataset | None:
        world.kube.secrets.clear()
        await world.registry.connect("ibox-2", infinibox_body("ibox-2"))
        return await found(name)

    world.arrays["ibox-1"].find_volume = find_volume_while_ibox_2_is_refreshed  # type: ignore[method-assign]
    (result,) = await _run(world, [create_step(desired())])
    assert result.problem is not None
    assert result.problem.reason == "SecretNotFound"
    assert world.arrays["ibox-1"].created == []


async def test_a_connection_dropped_before_the_owner_check_becomes_the_steps_problem() -> None:
    """The owner check reads a replica the pass did not see; with the client gone meanwhile it
    reports why rather than raising, and no call is made."""
    world = World()
    world.arrays["ibox-1"].replicas[102] = world.arrays["ibox-1"].add_replica(id=102, role="SOURCE")
    await world.connect()
    world.log.clear()
    reconciler = Reconciler(world.registry, world.kube, BACKOFF)
    obj, observed = desired(), _observed()

    def context(step: Step) -> StepContext | None:
        connection = world.registry.get("ibox-1")
        assert connection is not None
        made = StepContext(obj, observed, connection, world.registry, reconciler.reporter)
        connection.client = None  # dropped by a refresh between the pass's check and the call
        return made

    (result,) = await execute([Suspend(side=SideName.SOURCE, replica_id=102)], context)
    assert result.problem is not None
    assert result.problem.reason == "ArrayUnreachable"
    assert "suspend" not in world.log.names("ibox-1")
