"""Issue 14 item 12: index entries of objects a LIST proves gone are found and dropped from kopf's index."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from kopf._core.engines.indexing import OperatorIndexer

from replica_operator.controller import Backoff, Indexes, Reconciler, Runtime
from replica_operator.controller.relist import discard, entries, gone
from replica_operator.kube import Listing
from replica_operator.settings import OperatorSettings
from tests.unit.controller.fakes import World

BACKOFF = Backoff(timedelta(seconds=1), timedelta(seconds=8))


def _body(name: str, uid: str, version: int, namespace: str | None = "ns") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "uid": uid, "resourceVersion": str(version)}
    if namespace is not None:
        meta["namespace"] = namespace
    return {"kind": "Replica", "metadata": meta}


def test_only_entries_absent_from_a_newer_listing_are_gone() -> None:
    kept, deleted, newer = _body("a", "u-a", 10), _body("b", "u-b", 11), _body("c", "u-c", 30)
    listing = Listing(frozenset({"u-a"}), "20", None)
    # c is absent too, but was seen after the LIST was served: it may have been created since.
    assert gone([kept, deleted, newer], listing) == [deleted]


def test_a_listing_proves_nothing_outside_its_namespaces_or_without_a_numeric_version() -> None:
    other = _body("b", "u-b", 11, namespace="elsewhere")
    assert gone([other], Listing(frozenset(), "20", frozenset({"ns"}))) == []
    assert gone([_body("b", "u-b", 11)], Listing(frozenset(), "opaque", None)) == []
    assert gone([_body("b", "u-b", 11)], Listing(frozenset(), "", None)) == []


def test_an_object_indexed_under_two_arrays_is_gone_once_and_dropped_from_both() -> None:
    """kopf's own index (1.45): the object leaves every key, its neighbours stay."""
    indexer = OperatorIndexer()
    stale, live = _body("old", "u-old", 5), _body("new", "u-new", 6)
    for body in (stale, live):
        key = ("ns", body["metadata"]["name"], body["metadata"]["uid"])
        indexer.replace(key, {"ibox-1": body, "ibox-2": body})  # type: ignore[arg-type]
    index = indexer.index
    found = gone(entries(index), Listing(frozenset({"u-new"}), "9", None))
    assert found == [stale]
    discard(index, stale)
    assert [list(index[key]) for key in ("ibox-1", "ibox-2")] == [[live], [live]]
    discard(index, live)
    assert list(index) == []  # emptied keys go too: an unused array is no longer named


async def test_a_relist_drops_the_gone_from_the_users_of_their_arrays() -> None:
    world = World()
    indexes = {name: OperatorIndexer() for name in ("infiniboxes", "replicas", "groups")}
    stale, live = _body("old", "u-old", 5), _body("new", "u-new", 6)
    for body in (stale, live):
        key = ("ns", body["metadata"]["name"], body["metadata"]["uid"])
        indexes["replicas"].replace(key, {"ibox-1": body})  # type: ignore[arg-type]
    runtime = Runtime(
        OperatorSettings(), world.kube, world.registry, Reconciler(world.registry, world.kube, BACKOFF)
    )
    runtime.indexes = Indexes(*(indexer.index for indexer in indexes.values()))
    forgotten: list[str] = []
    runtime.forgetters.append(forgotten.append)  # e.g. kopf's diff base in memory
    world.kube.listings["replicas"] = Listing(frozenset({"u-new"}), "9", None)
    assert runtime.indexes.has_object("u-old")
    assert await runtime.relist_once() == 1
    assert forgotten == ["u-old"]
    assert [b["metadata"]["uid"] for b in runtime.indexes.users("ibox-1")] == ["u-new"]
    assert not runtime.indexes.has_object("u-old")
    assert await runtime.relist_once() == 0  # nothing left to drop


async def test_a_shard_relists_its_own_objects_so_those_relabelled_away_are_dropped_too() -> None:
    world = World()
    runtime = Runtime(
        OperatorSettings(shard="shard1"),
        world.kube,
        world.registry,
        Reconciler(world.registry, world.kube, BACKOFF),
    )
    runtime.indexes = Indexes(*(OperatorIndexer().index for _ in range(3)))
    await runtime.relist_once()
    selectors = {call[2]: call[4] for call in world.log.calls if call[1] == "list_uids"}
    shard = "replication.infinibox.io/shard=shard1"
    assert selectors == {"infiniboxes": None, "replicas": shard, "consistencygroupreplicas": shard}
