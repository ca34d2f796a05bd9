"""A deleted claim-selector ConsistencyGroupReplica, one whole pass: once its replica is gone the
group it made goes with it (deletionPolicy Delete), and stays under Orphan."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from replica_operator.array import ConsistencyGroup, Unavailable
from replica_operator.controller import Backoff, Reconciler, Trigger
from replica_operator.controller.groups import owned_group
from replica_operator.reconcile import OWNER_KEY, owner_mark
from tests.unit.controller.fakes import World

UID = "0b9c7c1e-5a3f-4c1e-9d2a-7f00c0ffee01"
BACKOFF = Backoff(timedelta(seconds=1), timedelta(seconds=8))


def _deleted(policy: str) -> dict[str, Any]:
    return {
        "apiVersion": "replication.infinibox.io/v1alpha1",
        "kind": "ConsistencyGroupReplica",
        "metadata": {
            "name": "orders",
            "namespace": "shop",
            "uid": UID,
            "resourceVersion": "1",
            "generation": 1,
            "deletionTimestamp": "2026-01-01T00:00:00Z",
        },
        "spec": {
            "source": {"array": "ibox-1", "persistentVolumeClaimSelector": {"matchLabels": {"app": "db"}}},
            "target": {"array": "ibox-2", "pool": "pool-1"},
            "deletionPolicy": policy,
        },
        "status": {},
    }


@pytest.mark.parametrize(("policy", "deleted"), [("Delete", True), ("Orphan", False)])
async def test_the_owned_group_of_a_deleted_object_goes_under_delete_not_orphan(
    policy: str, deleted: bool
) -> None:
    world = World()
    await world.connect()
    source = world.arrays["ibox-1"]
    body = _deleted(policy)
    group = ConsistencyGroup(id=950, name=owned_group(body), pool_id=11)
    source.groups[group.name] = group
    source.members[group.id] = [source.add_dataset("pvc-data-0")]
    source.metadata[group.id] = {OWNER_KEY: owner_mark(UID, "shop", "orders")}
    world.log.clear()
    outcome = await Reconciler(world.registry, world.kube, BACKOFF).reconcile(
        body, Trigger.EVENT, world.lookup
    )
    assert [r.problem for r in outcome.results] == []
    deletes = [c for c in world.log.calls if c[1] == "delete_consistency_group"]
    assert deletes == ([("ibox-1", "delete_consistency_group", group.id)] if deleted else [])
    assert (group.name in source.groups) is not deleted
    assert "pvc-data-0" in source.datasets  # never its members: they are the CSI driver's volumes


@pytest.mark.parametrize("fails", [False, True])
async def test_the_group_goes_in_the_pass_that_deletes_its_replica_not_when_that_delete_fails(
    fails: bool,
) -> None:
    world = World()
    source = world.arrays["ibox-1"]
    body = _deleted("Delete")
    group = source.add_group(owned_group(body), ("pvc-data-0",))
    source.metadata[group.id] = {OWNER_KEY: owner_mark(UID, "shop", "orders")}
    replica = source.add_replica(
        entity_type="CONSISTENCY_GROUP",
        role="SOURCE",
        state="ACTIVE",
        local_cg_id=group.id,
        link_id=7,
        description=owner_mark(UID, "shop", "orders"),
    )
    body["status"] = {"replicaId": replica.id, "observedGeneration": 1}
    await world.connect()
    if fails:
        source.fail = {"delete_replica": Unavailable("ibox-1", "connection lost")}
    world.log.clear()
    outcome = await Reconciler(world.registry, world.kube, BACKOFF).reconcile(
        body, Trigger.EVENT, world.lookup
    )
    assert [(type(r.step).__name__, r.problem is None) for r in outcome.results] == [("Delete", not fails)]
    assert ("ibox-1", "delete_replica", replica.id, False) in world.log.calls
    deletes = [c for c in world.log.calls if c[1] == "delete_consistency_group"]
    assert deletes == ([] if fails else [("ibox-1", "delete_consistency_group", group.id)])
    assert (group.name in source.groups) is fails
