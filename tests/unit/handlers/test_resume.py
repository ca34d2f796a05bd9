"""After a restart, kopf's resume handler looks at once for what a killed operator half-created.

An object with no ``status.replicaId`` may have a replica on the array whose create answer was
lost with the process: the resume pass adopts it now instead of waiting for the next poll (which,
at a long ``pollInterval``, may be an hour away). Issue 20, the "no adoption search on resume"
mutation.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import kopf
from kopf._core.engines.indexing import OperatorIndexer

from replica_operator.controller import Backoff, Indexes, Reconciler, Runtime
from replica_operator.handlers import wiring
from replica_operator.reconcile import owner_mark
from replica_operator.settings import OperatorSettings
from tests.unit.controller.fakes import World, infinibox_body
from tests.unit.reconcile.builders import UID, body

BACKOFF = Backoff(timedelta(seconds=1), timedelta(seconds=8))


def _runtime(world: World) -> Runtime:
    runtime = Runtime(
        OperatorSettings(), world.kube, world.registry, Reconciler(world.registry, world.kube, BACKOFF)
    )
    indexers = {name: OperatorIndexer() for name in ("infiniboxes", "replicas", "groups")}
    for name in world.arrays:
        indexers["infiniboxes"].replace((None, name, name), {name: infinibox_body(name)})  # type: ignore[arg-type]
    runtime.indexes = Indexes(*(indexer.index for indexer in indexers.values()))
    return runtime


async def _resume(world: World, status: dict[str, Any]) -> None:
    obj = kopf.Body(body(status=status))
    await wiring.resume(body=obj, memo=kopf.Memo(runtime=_runtime(world)), status=obj.status)


def _half_created(world: World) -> int:
    """The replica a killed operator's create left on the array (marked, its answer never read)."""
    volume = world.arrays["ibox-1"].add_dataset("vol-1")
    replica = world.arrays["ibox-1"].add_replica(
        role="SOURCE",
        state="ACTIVE",
        sync_state="SYNCHRONIZED",
        local_entity_id=volume.id,
        link_id=7,
        description=owner_mark(UID, "ns", "rep"),
    )
    return replica.id


async def test_resume_adopts_the_replica_a_killed_operator_created_without_creating_another() -> None:
    world = World()
    replica_id = _half_created(world)
    await _resume(world, status={})

    assert world.arrays["ibox-1"].created == []  # no second replica of the volume
    patches = [c[4] for c in world.log.calls if c[1] == "patch_status"]
    assert patches
    assert patches[-1]["replicaId"] == replica_id
    events = [(c[2], c[3]) for c in world.log.calls if c[1] == "post_event"]
    assert ("Adopted", f"adopted replica {replica_id} on ibox-1") in events


async def test_resume_of_an_object_without_a_replica_creates_it_at_once() -> None:
    world = World()
    world.arrays["ibox-1"].add_dataset("vol-1")
    await _resume(world, status={})
    assert len(world.arrays["ibox-1"].created) == 1  # the search found nothing: created now


async def test_resume_leaves_an_object_with_a_replica_id_to_the_polls() -> None:
    """A thousand settled objects after a restart cost no array call and no write at start."""
    world = World()
    replica_id = _half_created(world)
    await _resume(world, status={"replicaId": replica_id, "remoteReplicaId": 202})
    assert world.log.calls == []
