"""Who may own a replica when shards split the objects: the index, else the other shards' objects."""

from __future__ import annotations

from replica_operator.controller import Indexes
from replica_operator.controller.shards import owner_exists
from replica_operator.settings import OperatorSettings
from replica_operator.sharding import SHARD_LABEL
from tests.unit.controller.fakes import World
from tests.unit.controller.test_liveness import ListIndex

MINE = {"kind": "Replica", "metadata": {"uid": "uid-mine"}}
INDEXES = Indexes(ListIndex({}), ListIndex({"ibox-1": [MINE]}), ListIndex({}))


async def test_an_owner_in_another_shard_exists_one_nowhere_does_not() -> None:
    world = World()
    world.kube.listed = [{"kind": "ConsistencyGroupReplica", "metadata": {"uid": "uid-elsewhere"}}]
    settings = OperatorSettings(shard="shard1", namespaces=("team-a",))
    assert await owner_exists(INDEXES, world.kube, settings, "uid-mine")
    assert world.log.names("kube") == [], "an owner in the index needs no read"
    assert await owner_exists(INDEXES, world.kube, settings, "uid-elsewhere")
    assert not await owner_exists(INDEXES, world.kube, settings, "uid-gone")
    lists = [call for call in world.log.calls if call[1] == "list_objects"]
    assert {call[3:] for call in lists} == {(f"{SHARD_LABEL}!=shard1", ("team-a",))}


async def test_the_default_shard_asks_the_named_shards_and_an_unreadable_answer_means_it_exists() -> None:
    world = World()
    settings = OperatorSettings()
    assert not await owner_exists(INDEXES, world.kube, settings, "uid-gone")
    assert {call[3] for call in world.log.calls if call[1] == "list_objects"} == {SHARD_LABEL}
    world.kube.refuse_list = True
    assert await owner_exists(INDEXES, world.kube, settings, "uid-gone"), "never a take-over on a guess"
