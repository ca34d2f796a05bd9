"""What the observer reads per side, seen through one pass on in-memory arrays: which calls it makes
(a poll reads the listing, an event the array), what it says about an array it may not use, the
link a replica runs over, and the peer of what it adopts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from replica_operator.array import Link, LinkState
from replica_operator.controller import Backoff, Outcome, Reconciler, Trigger
from replica_operator.reconcile import RECREATE_ANNOTATION, Problem, owner_mark
from tests.unit.controller.fakes import World, infinibox_body
from tests.unit.reconcile.builders import UID, body

BACKOFF = Backoff(timedelta(seconds=1), timedelta(seconds=8))


def _condition(outcome: Outcome, kind: str) -> tuple[str, str, str]:
    found = {c.type: c for c in outcome.update.status.conditions}[kind]
    return found.status.value, found.reason, found.message


def _pair(world: World, **source: Any) -> tuple[int, int]:
    """A replica pair of ours: the SOURCE on ibox-1 over link 7, its TARGET on ibox-2."""
    volume = world.arrays["ibox-1"].add_dataset("vol-1")
    target = world.arrays["ibox-2"].add_replica(
        role="TARGET", link_id=8, description=owner_mark(UID, "ns", "rep")
    )
    mine = world.arrays["ibox-1"].add_replica(
        **{
            "role": "SOURCE",
            "state": "ACTIVE",
            "sync_state": "SYNCHRONIZED",
            "replication_type": "ASYNC",
            "local_entity_id": volume.id,
            "link_id": 7,
            "remote_replica_id": target.id,
            "description": owner_mark(UID, "ns", "rep"),
            **source,
        }
    )
    world.arrays["ibox-2"].replicas[target.id] = target.model_copy(update={"remote_replica_id": mine.id})
    return mine.id, target.id


async def _pass(
    world: World, status: dict[str, Any] | None = None, trigger: Trigger = Trigger.EVENT, **kw: Any
) -> Outcome:
    lookup = kw.pop("lookup", world.lookup)
    return await Reconciler(world.registry, world.kube, BACKOFF).reconcile(
        body(status=status, **kw), trigger, lookup
    )


async def test_an_array_with_no_infinibox_object_is_named_and_nothing_is_created() -> None:
    world = World()
    world.arrays["ibox-1"].add_dataset("vol-1")
    outcome = await _pass(world, lookup=lambda name: infinibox_body(name) if name == "ibox-1" else None)
    assert outcome.plan.blocked == Problem("ArrayNotFound", "there is no InfiniBox object named ibox-2")
    assert world.arrays["ibox-1"].created == []


async def test_an_infinibox_that_does_not_allow_the_namespace_stalls_the_object() -> None:
    world = World()
    world.arrays["ibox-1"].add_dataset("vol-1")

    def lookup(name: str) -> dict[str, Any]:
        found = infinibox_body(name)
        found["spec"]["allowedNamespaces"] = ["prod"] if name == "ibox-1" else ["prod", "ns"]
        return found

    outcome = await _pass(world, lookup=lookup)
    assert outcome.plan.blocked == Problem(
        "NamespaceNotAllowed",
        "InfiniBox ibox-1 does not allow namespace ns (see its spec.allowedNamespaces)",
        retryable=False,
    )
    assert _condition(outcome, "Stalled")[:2] == ("True", "NamespaceNotAllowed")
    assert world.arrays["ibox-1"].created == []


async def test_a_namespace_the_infinibox_allows_is_served() -> None:
    world = World()
    world.arrays["ibox-1"].add_dataset("vol-1")

    def lookup(name: str) -> dict[str, Any]:
        found = infinibox_body(name)
        found["spec"]["allowedNamespaces"] = ["ns"]
        return found

    await _pass(world, lookup=lookup)
    assert len(world.arrays["ibox-1"].created) == 1


async def test_a_poll_reads_the_listing_and_an_event_reads_the_array() -> None:
    world = World()
    source_id, target_id = _pair(world)
    await world.connect()
    status = {"replicaId": source_id, "remoteReplicaId": target_id}
    world.log.clear()
    await _pass(world, status, Trigger.POLL)
    assert "get_replica" not in world.log.names()  # 1,000 quiet replicas: no call per object
    await _pass(world, status, Trigger.EVENT)
    assert [c[:3] for c in world.log.calls if c[1] == "get_replica"] == [
        ("ibox-1", "get_replica", source_id),
        ("ibox-2", "get_replica", target_id),
    ]


async def test_the_target_is_found_through_the_source_when_status_knows_only_the_source() -> None:
    world = World()
    source_id, target_id = _pair(world)
    outcome = await _pass(world, {"replicaId": source_id})
    assert outcome.update.status.remote_replica_id == target_id
    assert ("ibox-2", "get_replica", target_id) in world.log.calls


async def test_an_adopted_replica_brings_its_peer_along() -> None:
    world = World()
    source_id, target_id = _pair(world)
    outcome = await _pass(world)
    assert outcome.plan.adopted is not None
    assert outcome.plan.adopted.id == source_id
    assert ("ibox-2", "get_replica", target_id) in world.log.calls
    assert outcome.update.status.current_target is not None
    assert outcome.update.status.current_target.array == "ibox-2"


async def test_a_known_replica_that_is_gone_is_searched_for_only_when_it_may_be_recreated() -> None:
    world = World()
    world.arrays["ibox-1"].add_dataset("vol-1")
    gone = {"replicaId": 901, "remoteReplicaId": 902}
    reported = await _pass(world, gone)
    assert reported.plan.blocked is not None
    assert reported.plan.blocked.reason == "NotFound"
    assert "find_replicas" not in world.log.names()
    recreated = await _pass(world, gone, annotations={RECREATE_ANNOTATION: "true"})
    assert "find_replicas" in world.log.names()
    assert len(recreated.results) == 1  # searched, found nothing: created again


async def test_a_type_an_array_cannot_hold_blocks_a_known_replica() -> None:
    world = World()
    world.arrays["ibox-2"].version = "3.0"  # SYNC needs 4.0
    source_id, target_id = _pair(world)
    outcome = await _pass(
        world, {"replicaId": source_id, "remoteReplicaId": target_id}, spec={"replicationType": "SYNC"}
    )
    assert outcome.plan.blocked is not None
    assert outcome.plan.blocked.reason == "Unsupported"
    assert (
        outcome.plan.blocked.message
        == "InfiniBox ibox-2: SYNC replication needs InfiniBox 4.0 or later; ibox-2 runs 3.0"
    )
    assert "change_type" not in world.log.names()


async def test_a_link_that_is_not_up_is_named_with_its_state_and_description() -> None:
    world = World()
    world.arrays["ibox-1"].links[0] = Link(
        id=7,
        name="to-ibox-2",
        remote_system_name="ibox-2",
        link_state=LinkState.UNKNOWN,
        state_description="no path",
    )
    source_id, target_id = _pair(world)
    outcome = await _pass(world, {"replicaId": source_id, "remoteReplicaId": target_id})
    assert _condition(outcome, "Replicating") == (
        "False",
        "LinkDegraded",
        "replication link to-ibox-2 on ibox-1 (to ibox-2) is UNKNOWN: no path",
    )


async def test_a_link_that_is_down_without_a_description_is_link_down() -> None:
    world = World()
    world.arrays["ibox-1"].links[0] = Link(id=7, name="to-ibox-2", link_state=LinkState.DOWN)
    source_id, target_id = _pair(world)
    outcome = await _pass(world, {"replicaId": source_id, "remoteReplicaId": target_id})
    assert _condition(outcome, "Replicating") == (
        "False",
        "LinkDown",
        "replication link to-ibox-2 on ibox-1 (to the remote array) is DOWN",
    )


async def test_a_link_in_no_state_is_degraded_and_says_so() -> None:
    world = World()
    world.arrays["ibox-1"].links[0] = Link(id=7, name="to-ibox-2", remote_system_name="ibox-2")
    source_id, target_id = _pair(world)
    outcome = await _pass(world, {"replicaId": source_id, "remoteReplicaId": target_id})
    assert _condition(outcome, "Replicating")[1:] == (
        "LinkDegraded",
        "replication link to-ibox-2 on ibox-1 (to ibox-2) is in no state",
    )
