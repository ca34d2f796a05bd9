"""Issue 14 item 8: missing from a listing is not gone; an older listing never undoes a newer view."""

from __future__ import annotations

from datetime import timedelta

from replica_operator.array import Replica
from replica_operator.controller import ArrayConnection, Backoff, Reconciler, Trigger, to_array_replica
from tests.unit.controller.fakes import World
from tests.unit.reconcile.builders import body

BACKOFF = Backoff(timedelta(seconds=1), timedelta(seconds=8))


def _replica(replica_id: int) -> Replica:
    return Replica.model_validate({"id": replica_id, "entity_type": "VOLUME", "role": "SOURCE"})


def test_a_listing_that_started_before_a_create_keeps_the_created_replica() -> None:
    connection = ArrayConnection("ibox-1", replicas={})
    started = connection.sequence
    connection.remember(_replica(5))  # created while the listing was under way
    connection.take_listing(started, {})  # the listing did not see it yet
    assert connection.replicas is not None
    assert 5 in connection.replicas


def test_a_listing_that_started_before_a_delete_does_not_bring_it_back() -> None:
    connection = ArrayConnection("ibox-1", replicas={})
    connection.remember(_replica(6))
    started = connection.sequence
    connection.forget(6)
    connection.take_listing(started, {6: to_array_replica(_replica(6), "ibox-1")})
    assert connection.replicas == {}


def test_a_listing_that_started_after_a_change_is_the_truth() -> None:
    connection = ArrayConnection("ibox-1", replicas={})
    connection.remember(_replica(7))
    connection.take_listing(connection.sequence, {})  # started after: 7 is really gone
    assert connection.replicas == {}
    assert connection.changes == {}  # nothing kept once every listing under way has seen it


async def test_a_replica_missing_from_the_listing_but_there_on_get_is_not_not_found() -> None:
    world = World()
    world.arrays["ibox-1"].add_dataset("vol-1")
    reconciler = Reconciler(world.registry, world.kube, BACKOFF)
    first = await reconciler.reconcile(body(), Trigger.EVENT, world.lookup)
    replica_id = first.update.status.replica_id
    assert replica_id is not None
    connection = world.registry.get("ibox-1")
    assert connection is not None
    assert connection.replicas is not None
    connection.replicas.pop(replica_id)  # a listing that skipped it (offset paging under deletes)
    world.log.clear()
    outcome = await reconciler.reconcile(body(status=first.update.status.to_cr()), Trigger.POLL, world.lookup)
    assert outcome.plan.blocked is None or outcome.plan.blocked.reason != "NotFound"
    assert outcome.update.status.replica_id == replica_id
    assert ("ibox-1", "get_replica", replica_id) in [c[:3] for c in world.log.calls]


async def test_a_replica_gone_on_get_is_reported_not_found() -> None:
    world = World()
    world.arrays["ibox-1"].add_dataset("vol-1")
    reconciler = Reconciler(world.registry, world.kube, BACKOFF)
    first = await reconciler.reconcile(body(), Trigger.EVENT, world.lookup)
    replica_id = first.update.status.replica_id
    assert replica_id is not None
    world.arrays["ibox-1"].replicas.pop(replica_id)
    world.arrays["ibox-2"].replicas.clear()
    await world.registry.poll("ibox-1", world.lookup("ibox-1") or {})
    await world.registry.poll("ibox-2", world.lookup("ibox-2") or {})
    outcome = await reconciler.reconcile(body(status=first.update.status.to_cr()), Trigger.POLL, world.lookup)
    assert outcome.plan.blocked is not None
    assert outcome.plan.blocked.reason == "NotFound"
