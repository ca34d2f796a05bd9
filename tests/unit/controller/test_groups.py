"""The owned group of a claim selector, on fake arrays: made and marked once, another's never
touched, members brought to exactly the claims' volumes from whatever the array holds, removed
(never its members) after the replica."""

from __future__ import annotations

from typing import Any

from replica_operator.api import LabelSelector
from replica_operator.array import ConsistencyGroup, NotFound
from replica_operator.controller.groups import Grouped, ensure_group, owned_group, release_group
from replica_operator.reconcile import ACCEPT_ARRAY_ANNOTATION, OWNER_KEY, Problem, owner_mark
from tests.unit.controller.fakes import FakeArray, World

UID = "0b9c7c1e-5a3f-4c1e-9d2a-7f00c0ffee01"
SELECTOR = LabelSelector.model_validate({"matchLabels": {"app": "db"}})


def _body(**status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "replication.infinibox.io/v1alpha1",
        "kind": "ConsistencyGroupReplica",
        "metadata": {"name": "orders", "namespace": "shop", "uid": UID, "resourceVersion": "1"},
        "spec": {
            "source": {"array": "ibox-1", "persistentVolumeClaimSelector": {"matchLabels": {"app": "db"}}},
            "target": {"array": "ibox-2", "pool": "pool-1"},
        },
        "status": status,
    }


async def _world(*claims: str) -> tuple[World, FakeArray]:
    world = World()
    await world.connect()
    array = world.arrays["ibox-1"]
    for claim in claims:
        _claim(world, array, claim)
    world.log.clear()
    return world, array


def _claim(world: World, array: FakeArray, claim: str) -> None:
    volume = array.add_dataset(f"pvc-{claim}")
    meta = {"name": claim, "namespace": "shop", "labels": {"app": "db"}}
    world.kube.volume_objects[("PersistentVolumeClaim", "shop", claim)] = {
        "metadata": meta,
        "spec": {"volumeName": f"pv-{claim}"},
        "status": {"phase": "Bound"},
    }
    world.kube.volume_objects[("PersistentVolume", None, f"pv-{claim}")] = {
        "metadata": {"name": f"pv-{claim}"},
        "spec": {"csi": {"driver": "infinibox-csi-driver", "volumeHandle": f"{volume.id}$$iscsi"}},
    }


def _changes(world: World) -> list[tuple[Any, ...]]:
    writes = {"create_consistency_group", "set_metadata", "add_cg_member", "remove_cg_member"}
    return [c[1:] for c in world.log.calls if c[0] == "ibox-1" and c[1] in writes]


async def test_the_group_is_made_marked_then_filled_and_the_pass_goes_on_with_its_name() -> None:
    world, array = await _world("data-0", "data-1")
    grouped = await ensure_group(_body(), SELECTOR, world.kube, world.registry, world.lookup)
    assert isinstance(grouped, Grouped)
    name = owned_group(_body())
    group = array.groups[name]
    volumes = [array.datasets[f"pvc-data-{n}"].id for n in range(2)]
    assert _changes(world) == [
        ("create_consistency_group", name, 11),
        ("set_metadata", group.id, {OWNER_KEY: owner_mark(UID, "shop", "orders")}),
        *(("add_cg_member", group.id, volume) for volume in volumes),
    ]
    assert grouped.body["spec"]["source"] == {"array": "ibox-1", "consistencyGroup": name}
    assert grouped.claims == {"pvc-data-0": "data-0", "pvc-data-1": "data-1"}
    assert [e.reason for e in grouped.events] == ["MemberAdded", "MemberAdded"]
    assert ("kube", "list_volume_objects", "PersistentVolumeClaim", "shop", "app=db") in world.log.calls

    world.log.clear()
    again = await ensure_group(_body(), SELECTOR, world.kube, world.registry, world.lookup)
    assert isinstance(again, Grouped)
    assert _changes(world) == []  # re-read: nothing left to do
    assert again.events == ()


async def test_members_are_brought_to_exactly_the_claims_from_what_the_array_holds() -> None:
    world, array = await _world("data-0", "data-1")
    group = await _owned_group(array, members=("pvc-data-0", "stray"))
    grouped = await ensure_group(_body(), SELECTOR, world.kube, world.registry, world.lookup)
    assert isinstance(grouped, Grouped)
    stray, wanted = array.datasets["stray"].id, array.datasets["pvc-data-1"].id
    assert _changes(world) == [("remove_cg_member", group.id, stray), ("add_cg_member", group.id, wanted)]
    assert {d.name for d in array.members[group.id]} == {"pvc-data-0", "pvc-data-1"}


async def test_a_removal_answered_not_found_is_done() -> None:
    world, array = await _world("data-0")
    await _owned_group(array, members=("pvc-data-0", "stray"))
    array.fail["remove_cg_member"] = NotFound("ibox-1", "gone", code="VOLUME_NOT_FOUND")
    grouped = await ensure_group(_body(), SELECTOR, world.kube, world.registry, world.lookup)
    assert isinstance(grouped, Grouped)
    assert grouped.events == ()


async def test_a_group_of_the_name_that_is_someone_elses_is_a_conflict_and_untouched() -> None:
    for mark, members in (
        ("k8s-uid=11111111-2222-3333-4444-555555555555 k8s-object=x/y", ()),
        (None, ("theirs",)),
    ):
        world, array = await _world("data-0")
        group = ConsistencyGroup(id=900, name=owned_group(_body()), pool_id=11)
        array.groups[group.name] = group
        array.members[group.id] = [array.add_dataset(m) for m in members]
        if mark:
            array.metadata[group.id] = {OWNER_KEY: mark}
        found = await ensure_group(_body(), SELECTOR, world.kube, world.registry, world.lookup)
        assert isinstance(found, Problem)
        assert (found.reason, found.retryable) == ("Conflict", False)
        assert group.name in found.message
        assert _changes(world) == []


async def test_an_empty_unmarked_group_of_the_name_is_this_objects_own_from_a_lost_answer() -> None:
    world, array = await _world("data-0")
    group = ConsistencyGroup(id=901, name=owned_group(_body()), pool_id=11)
    array.groups[group.name] = group
    grouped = await ensure_group(_body(), SELECTOR, world.kube, world.registry, world.lookup)
    assert isinstance(grouped, Grouped)
    assert _changes(world) == [
        ("set_metadata", 901, {OWNER_KEY: owner_mark(UID, "shop", "orders")}),
        ("add_cg_member", 901, array.datasets["pvc-data-0"].id),
    ]


async def test_after_a_switch_the_members_are_left_alone() -> None:
    world, array = await _world("data-0")
    await _owned_group(array, members=())
    body = _body(currentSource={"array": "ibox-2", "entity": "x"})
    grouped = await ensure_group(body, SELECTOR, world.kube, world.registry, world.lookup)
    assert isinstance(grouped, Grouped)
    assert _changes(world) == []


async def test_a_deleted_object_resolves_nothing_and_release_removes_only_its_own_unreplicated_group() -> (
    None
):
    world, array = await _world("data-0")
    group = await _owned_group(array, members=("pvc-data-0",))
    body = _body()
    body["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    grouped = await ensure_group(body, SELECTOR, world.kube, world.registry, world.lookup)
    assert isinstance(grouped, Grouped)
    assert [c for c in world.log.calls if c[0] == "kube"] == []  # no claim read on the way out

    array.groups[group.name] = group.model_copy(update={"is_replicated": True})
    held = await release_group(body, world.registry)
    assert isinstance(held, Problem)
    assert held.reason == "GroupStillReplicated"
    array.groups[group.name] = group
    assert await release_group(body, world.registry) is None
    assert ("ibox-1", "delete_consistency_group", group.id) in world.log.calls
    assert group.name not in array.groups

    world.log.clear()
    foreign = ConsistencyGroup(id=902, name=group.name, pool_id=11)
    array.groups[foreign.name] = foreign
    assert await release_group(body, world.registry) is None
    assert [c for c in world.log.calls if c[1] == "delete_consistency_group"] == []


async def _owned_group(array: FakeArray, members: tuple[str, ...]) -> ConsistencyGroup:
    group = ConsistencyGroup(id=950, name=owned_group(_body()), pool_id=11)
    array.groups[group.name] = group
    array.members[group.id] = [array.datasets.get(m) or array.add_dataset(m) for m in members]
    array.metadata[group.id] = {OWNER_KEY: owner_mark(UID, "shop", "orders")}
    array.log.clear()
    return group


async def test_observe_only_makes_and_changes_nothing() -> None:
    world, array = await _world("data-0")
    body = _body()
    body["spec"]["managementPolicy"] = "ObserveOnly"
    grouped = await ensure_group(body, SELECTOR, world.kube, world.registry, world.lookup)
    assert isinstance(grouped, Grouped)
    assert grouped.body["spec"]["source"]["consistencyGroup"] == owned_group(body)
    assert _changes(world) == []
    assert array.groups == {}


async def test_nothing_is_made_on_a_system_other_than_the_recorded_one_until_the_user_accepts_it() -> None:
    world, _ = await _world("data-0")
    changed = await ensure_group(_body(sourceSerial=2), SELECTOR, world.kube, world.registry, world.lookup)
    assert isinstance(changed, Problem)
    assert changed.reason == "ArrayChanged"
    assert _changes(world) == []
    accepted = _body(sourceSerial=2)
    accepted["metadata"]["annotations"] = {ACCEPT_ARRAY_ANNOTATION: "1"}  # the fake systems' serial
    grouped = await ensure_group(accepted, SELECTOR, world.kube, world.registry, world.lookup)
    assert isinstance(grouped, Grouped)
    assert [c[0] for c in _changes(world)] == ["create_consistency_group", "set_metadata", "add_cg_member"]


async def test_nothing_is_made_for_a_namespace_the_infinibox_does_not_allow() -> None:
    world, array = await _world("data-0")

    def lookup(name: str) -> dict[str, Any] | None:
        body = world.lookup(name)
        if body is not None:
            body["spec"]["allowedNamespaces"] = ["databases"]
        return body

    refused = await ensure_group(_body(), SELECTOR, world.kube, world.registry, lookup)
    assert isinstance(refused, Problem)
    assert (refused.reason, refused.retryable) == ("NamespaceNotAllowed", False)
    assert _changes(world) == []
    assert array.groups == {}


async def test_claims_whose_volumes_the_array_lacks_are_all_named() -> None:
    world, array = await _world("data-0", "data-1", "data-2")
    for claim in ("data-0", "data-2"):  # their PVs name ids this array does not have
        del array.datasets[f"pvc-{claim}"]
    refused = await ensure_group(_body(), SELECTOR, world.kube, world.registry, world.lookup)
    assert isinstance(refused, Problem)
    assert (refused.reason, refused.retryable) == ("EntityNotFound", False)
    assert "data-0:" in refused.message
    assert "data-2:" in refused.message
    assert "data-1" not in refused.message
    assert _changes(world) == []
