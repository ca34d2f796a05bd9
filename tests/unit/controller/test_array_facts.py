"""The controller's side of the real protocol: peer credentials, CG search, delete flags, features, links."""

from __future__ import annotations

from datetime import timedelta

from replica_operator.array import DeleteOptions, EntityType, Link, LinkState
from replica_operator.controller import Backoff, Reconciler, Trigger
from replica_operator.reconcile import owner_mark
from tests.unit.controller.fakes import World, infinibox_body
from tests.unit.reconcile.builders import UID, body

BACKOFF = Backoff(timedelta(seconds=1), timedelta(seconds=8))


async def test_the_peer_login_is_the_secret_of_the_array_at_the_links_other_end() -> None:
    world = World()
    world.kube.secrets[("ops", "peer-credentials")] = {"username": "admin", "password": "peer-pw-19af"}
    peer_body = infinibox_body("ibox-2")
    peer_body["spec"] = {
        "url": "https://ibox-2.example:8443",
        "credentialsSecretRef": {"name": "peer-credentials", "namespace": "ops"},
    }
    await world.registry.connect("ibox-1", infinibox_body("ibox-1"))
    await world.registry.connect("ibox-2", peer_body)
    lookup = world.remote_credentials["ibox-1"]
    assert lookup is not None
    to_peer = Link(id=7, name="to-ibox-2", remote_system_name="ibox-2", remote_system_serial_number=2)
    found = await lookup(to_peer)  # type: ignore[misc]
    assert found is not None
    assert (found.address, found.username, found.password.get_secret_value()) == (
        "ibox-2.example",
        "admin",
        "peer-pw-19af",
    )
    nowhere = Link(id=8, name="to-ibox-9", remote_system_name="ibox-9", remote_system_serial_number=99)
    assert await lookup(nowhere) is None  # type: ignore[misc]  # no InfiniBox object is that peer


async def test_a_consistency_group_is_searched_by_local_cg_id() -> None:
    world = World()
    group = world.arrays["ibox-1"].add_group("cg-1", ("m-1", "m-2"))
    mine = world.arrays["ibox-1"].add_replica(
        entity_type="CONSISTENCY_GROUP",
        role="SOURCE",
        state="ACTIVE",
        local_cg_id=group.id,
        link_id=7,
        description=owner_mark(UID, "ns", "rep"),
    )
    await world.connect()
    world.log.clear()
    outcome = await Reconciler(world.registry, world.kube, BACKOFF).reconcile(
        body(kind="ConsistencyGroupReplica"), Trigger.EVENT, world.lookup
    )
    assert ("ibox-1", "find_replicas", "local_cg_id", group.id) in world.log.calls
    assert outcome.plan.adopted is not None
    assert outcome.plan.adopted.id == mine.id
    patched = {c[2] for c in world.log.calls if c[1] == "patch_status"}
    assert patched == {"ConsistencyGroupReplica"}  # the group's own status, not a Replica's


async def test_a_delete_says_every_flag_of_deletion_policy_delete() -> None:
    world = World()

    world.arrays["ibox-1"].add_dataset("vol-1")
    reconciler = Reconciler(world.registry, world.kube, BACKOFF)
    created = await reconciler.reconcile(body(), Trigger.EVENT, world.lookup)
    status = created.update.status.to_cr()
    await reconciler.reconcile(body(status=status, deleting=True), Trigger.DELETE, world.lookup)
    assert world.arrays["ibox-1"].delete_options == [DeleteOptions.for_delete_policy()]


async def test_a_sync_spec_on_an_array_without_sync_replication_makes_no_call() -> None:
    world = World()
    world.arrays["ibox-1"].add_dataset("vol-1")
    world.arrays["ibox-2"].version = "3.0"  # SYNC needs 4.0 (infinisdk has_sync_replication)
    outcome = await Reconciler(world.registry, world.kube, BACKOFF).reconcile(
        body({"replicationType": "SYNC"}), Trigger.EVENT, world.lookup
    )
    assert "create_replica" not in world.log.names()
    assert outcome.plan.blocked is not None
    assert outcome.plan.blocked.reason == "Unsupported"
    assert "ibox-2" in outcome.plan.blocked.message


async def test_a_link_down_in_the_poll_listing_reaches_the_object() -> None:
    world = World()
    volume = world.arrays["ibox-1"].add_dataset("vol-1")
    world.arrays["ibox-1"].add_replica(
        role="SOURCE",
        state="ACTIVE",
        sync_state="OUT_OF_SYNC",
        local_entity_id=volume.id,
        link_id=7,
        description=owner_mark(UID, "ns", "rep"),
    )
    world.arrays["ibox-1"].links[0] = Link(
        id=7, name="to-ibox-2", remote_system_name="ibox-2", link_state=LinkState.DOWN
    )
    await world.connect()
    outcome = await Reconciler(world.registry, world.kube, BACKOFF).reconcile(
        body(), Trigger.POLL, world.lookup
    )
    replicating = next(c for c in outcome.update.status.conditions if c.type == "Replicating")
    assert (replicating.status.value, replicating.reason) == ("False", "LinkDown")
    assert "to-ibox-2" in (replicating.message or "")
    assert world.log.names("ibox-1").count("list_links") == 1  # listed once with the poll, not per object


async def test_a_filesystem_needs_the_feature_and_its_sync_is_left_to_the_array() -> None:
    world = World()
    world.arrays["ibox-1"].add_dataset("fs-1", EntityType.FILESYSTEM)
    world.arrays["ibox-2"].features = ("sync_replication",)  # no filesystem_replicas
    spec = {"source": {"array": "ibox-1", "filesystem": "fs-1"}, "replicationType": "SYNC"}
    reconciler = Reconciler(world.registry, world.kube, BACKOFF)
    refused = await reconciler.reconcile(body(spec), Trigger.EVENT, world.lookup)
    assert refused.plan.blocked is not None
    assert "filesystem_replicas" in refused.plan.blocked.message
    world.arrays["ibox-2"].features = ("sync_replication", "filesystem_replicas")
    await world.registry.remove("ibox-2")  # features are read at connect: connect again
    created = await reconciler.reconcile(body(spec), Trigger.EVENT, world.lookup)
    assert created.plan.blocked is None
    assert [request.replication_type for request in world.arrays["ibox-1"].created] == ["SYNC"]
