"""Issue 14 item 1: a replica marked by another live object is never changed or deleted; take-over.

The scenario of the issue: namespace A's Replica owns the replica of a volume; an ObserveOnly
Replica in namespace B names the same volume, is switched to Full with ``suspended: true``,
then deleted. The simulator's request log must show no mutating call on A's replica.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from replica_operator.reconcile import RECREATE_ANNOTATION, TAKE_OVER_ANNOTATION, owner_mark
from tests.integration.operator.conftest import Env, Objects, cleanup, condition_of, is_true
from tests.support.kube import Cluster
from tests.support.wait import wait_for

MUTATING = ("POST", "PUT", "DELETE", "PATCH")


@pytest.fixture
def other_namespace(cluster: Cluster) -> Iterator[Objects]:
    """A second namespace, for an object of another team naming the same volume."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    cluster.kubectl("create", "namespace", name)
    objects = Objects(cluster, name)
    yield objects
    for replica in objects.names("replicas"):
        objects.patch("replicas", replica, {"spec": {"deletionPolicy": "Orphan"}})
        objects.delete("replicas", replica)
        objects.wait_gone("replicas", replica)
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


def _ready(status: dict[str, Any]) -> bool:
    return is_true(status, "Ready") and status.get("syncState") == "SYNCHRONIZED"


def _conflict(status: dict[str, Any]) -> bool:
    return condition_of(status, "Synced").get("reason") == "Conflict"


def _mark(env: Env) -> int:
    return int(env.arrays.requests()[-1]["seq"])


def _touching(env: Env, since: int, *replica_ids: int) -> list[dict[str, Any]]:
    """Mutating requests since ``since`` on any of these replicas (or their sub-resources)."""
    paths = tuple(f"/api/rest/replicas/{replica_id}" for replica_id in replica_ids)
    return [
        r
        for r in env.arrays.requests(since)
        if r["method"] in MUTATING and any(r["path"] == p or r["path"].startswith(p + "/") for p in paths)
    ]


def _let_polls_pass(env: Env, since: int, count: int = 8) -> None:
    """Wait until the operator has listed the arrays ``count`` times (time enough to do harm)."""

    def listed() -> bool:
        gets = [
            r
            for r in env.arrays.requests(since)
            if r["method"] == "GET" and r["path"] == "/api/rest/replicas"
        ]
        return len(gets) >= count

    wait_for(listed, timeout=30, what="polls")


def _foreign(env: Env, objects: Objects, name: str, volume: str, **spec: Any) -> None:
    objects.apply(
        {
            "kind": "Replica",
            "metadata": {"name": name, "namespace": objects.namespace},
            "spec": {
                "source": {"array": env.source, "volume": volume},
                "target": {"array": env.target, "pool": "pool-1"},
                **spec,
            },
        }
    )


def _take_over(objects: Objects, name: str, replica_id: int) -> None:
    """The user's take-over step: the annotation naming the replica id."""
    objects.patch("replicas", name, {"metadata": {"annotations": {TAKE_OVER_ANNOTATION: str(replica_id)}}})


def _events(env: Env, namespace: str, reason: str) -> list[dict[str, Any]]:
    listed = env.objects.cluster.kubectl_json("-n", namespace, "get", "events")
    return [e for e in listed["items"] if e.get("reason") == reason]


def test_another_objects_replica_is_never_mutated_or_deleted(env: Env, other_namespace: Objects) -> None:
    volume = env.name("vol")
    env.arrays.volume("ibox-1", volume)
    env.replica(volume, volume=volume)
    owned = env.objects.wait_status("replicas", volume, _ready)
    ids = (owned["replicaId"], owned["remoteReplicaId"])
    intruder = env.name("b")
    _foreign(env, other_namespace, intruder, volume, managementPolicy="ObserveOnly")
    seen = other_namespace.wait_status("replicas", intruder, lambda s: s.get("replicaId") == ids[0])
    assert seen["remoteReplicaId"] == ids[1]  # ObserveOnly may read and report it
    mark = _mark(env)
    other_namespace.patch("replicas", intruder, {"spec": {"managementPolicy": "Full", "suspended": True}})
    blocked = other_namespace.wait_status("replicas", intruder, _conflict)
    assert f"{env.namespace}/{volume}" in condition_of(blocked, "Synced")["message"]
    # Asking to take it over while its owner exists changes nothing either.
    _take_over(other_namespace, intruder, ids[0])
    _let_polls_pass(env, mark)
    other_namespace.delete("replicas", intruder)
    other_namespace.wait_gone("replicas", intruder)
    _let_polls_pass(env, _mark(env), count=3)
    assert _touching(env, mark, *ids) == []
    assert env.arrays.replica("ibox-1", ids[0])["state"] == "ACTIVE"  # type: ignore[index]
    assert (
        str(env.objects.get("replicas", volume)["metadata"]["uid"])
        in (  # type: ignore[index]
            env.arrays.replica("ibox-1", ids[0]) or {}
        )["description"]
    )
    assert _ready(env.objects.get("replicas", volume)["status"])  # type: ignore[index]


def _orphan(env: Env, volume: str) -> int:
    """A replica marked by an object that no longer exists: created, then left with Orphan."""
    env.replica(f"{volume}-gone", volume=volume)
    made = env.objects.wait_status("replicas", f"{volume}-gone", _ready)
    env.objects.patch("replicas", f"{volume}-gone", {"spec": {"deletionPolicy": "Orphan"}})
    env.objects.delete("replicas", f"{volume}-gone")
    env.objects.wait_gone("replicas", f"{volume}-gone")
    return int(made["replicaId"])


def _hand_made(env: Env, volume: str, local: dict[str, Any] | None = None, description: str = "") -> int:
    """A replica made on the array by hand (without a mark unless ``description`` is one)."""
    local = local or env.arrays.volume("ibox-1", volume)
    link = env.arrays.call("ibox-1", "GET", "/links", name="eq:to-ibox-2")[0]
    pair = {
        "local_entity_id": local["id"],
        "remote_base_action": "CREATE",
        "remote_entity_name": f"{volume}-dr{len(description)}",
    }
    body: dict[str, Any] = {"description": description} if description else {}
    body |= {
        "link_id": link["id"],
        "entity_type": "VOLUME",
        "remote_pool_id": env.arrays.pool_id("ibox-2"),
        "entity_pairs": [pair],
    }
    return int(env.arrays.call("ibox-1", "POST", "/replicas", body)["id"])


@pytest.mark.parametrize("origin", ["orphan", "hand-made"])
def test_take_over_is_an_explicit_step_that_re_marks_the_replica(env: Env, origin: str) -> None:
    volume = env.name("vol")
    if origin == "orphan":
        env.arrays.volume("ibox-1", volume)
        replica_id = _orphan(env, volume)
    else:
        replica_id = _hand_made(env, volume)
    mark = _mark(env)
    env.replica(volume, volume=volume)
    env.objects.wait_status("replicas", volume, _conflict)
    _let_polls_pass(env, mark, count=3)
    assert _touching(env, mark, replica_id) == []  # not taken without being asked
    _take_over(env.objects, volume, replica_id)
    status = env.objects.wait_status(
        "replicas", volume, lambda s: _ready(s) and s.get("replicaId") == replica_id
    )
    uid = str(env.objects.get("replicas", volume)["metadata"]["uid"])  # type: ignore[index]
    local = env.arrays.replica("ibox-1", replica_id) or {}
    remote = env.arrays.replica("ibox-2", status["remoteReplicaId"]) or {}
    assert f"k8s-uid={uid}" in local["description"]
    assert f"k8s-uid={uid}" in remote["description"]
    puts = [r for r in _touching(env, mark, replica_id) if r["method"] == "PUT"]
    assert len(puts) == 1
    assert [e["message"] for e in _events(env, env.namespace, "TakenOver")] != []
    cleanup(env)  # deletion now removes it: it is this object's
    assert env.arrays.replica("ibox-1", replica_id) is None


# -- issue 14 item 8: recreate-missing searches first ------------------------------------------------
def test_recreate_missing_adopts_a_marked_replica_instead_of_creating_a_second(env: Env) -> None:
    volume = env.name("vol")
    local = env.arrays.volume("ibox-1", volume)
    env.replica(volume, volume=volume)
    first = env.objects.wait_status("replicas", volume, _ready)
    env.arrays.call("ibox-1", "DELETE", f"/replicas/{first['replicaId']}")
    env.objects.wait_status(
        "replicas", volume, lambda s: condition_of(s, "Synced").get("reason") == "NotFound"
    )
    body = env.objects.get("replicas", volume) or {}
    mark = owner_mark(body["metadata"]["uid"], env.namespace, volume)
    # What a crash between "the array created it" and "status written" leaves: a marked replica.
    found = _hand_made(env, volume, local, description=mark)
    since = _mark(env)
    env.objects.patch("replicas", volume, {"metadata": {"annotations": {RECREATE_ANNOTATION: "true"}}})
    env.objects.wait_status("replicas", volume, lambda s: _ready(s) and s.get("replicaId") == found)
    creates = [
        r for r in env.arrays.requests(since) if r["method"] == "POST" and r["path"] == "/api/rest/replicas"
    ]
    assert creates == []
    assert len(env.arrays.replicas("ibox-1", local_entity_id=local["id"])) == 1
