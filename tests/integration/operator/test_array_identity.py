"""Issue 14 item 2: replica ids are bound to the system's serial; a url pointed elsewhere stops every call.

The source InfiniBox's url is pointed at the other simulated system (its replica ids would
name someone else's replicas there), a change is made meanwhile, then the url is pointed back.
"""

from __future__ import annotations

from typing import Any

from replica_operator.api import GROUP, VERSION
from replica_operator.reconcile import ACCEPT_ARRAY_ANNOTATION
from tests.integration.operator.conftest import Env, condition_of, is_true
from tests.support.wait import wait_for

MUTATING = ("POST", "PUT", "DELETE", "PATCH")


def _ready(status: dict[str, Any]) -> bool:
    return is_true(status, "Ready") and status.get("syncState") == "SYNCHRONIZED"


def _point(env: Env, infinibox: str, system: str) -> None:
    patch = {"spec": {"url": env.arrays.url(system)}}
    env.objects.api.patch_cluster_custom_object(GROUP, VERSION, "infiniboxes", infinibox, patch)


def _serial(env: Env, infinibox: str) -> int:
    status = wait_for(lambda: (env.objects.get("infiniboxes", infinibox) or {}).get("status") or {})
    return int(status["serial"])


def test_an_infinibox_pointed_at_another_system_stops_calls_until_pointed_back(env: Env) -> None:
    volume = env.name("vol")
    env.arrays.volume("ibox-1", volume)
    env.replica(volume, volume=volume)
    first = env.objects.wait_status("replicas", volume, _ready)
    old, other = _serial(env, env.source), _serial(env, env.target)
    assert (first["sourceSerial"], first["targetSerial"]) == (old, other)
    since = int(env.arrays.requests()[-1]["seq"])
    _point(env, env.source, "ibox-2")
    changed = env.objects.wait_status(
        "replicas", volume, lambda s: condition_of(s, "Synced").get("reason") == "ArrayChanged"
    )
    message = condition_of(changed, "Synced")["message"]
    assert str(old) in message
    assert str(other) in message
    env.objects.patch("replicas", volume, {"spec": {"suspended": True}})  # would call the array
    wait_for(
        lambda: len([r for r in env.arrays.requests(since) if r["path"] == "/api/rest/replicas"]) >= 8,
        timeout=30,
        what="polls of both InfiniBoxes",
    )
    wrong = [
        r
        for r in env.arrays.requests(since)
        if r["system"] == "ibox-2" and r["method"] in MUTATING and str(first["replicaId"]) in r["path"]
    ]
    assert wrong == []
    assert env.arrays.replica("ibox-1", first["replicaId"])["state"] == "ACTIVE"  # type: ignore[index]
    _point(env, env.source, "ibox-1")
    back = env.objects.wait_status(
        "replicas", volume, lambda s: s.get("state") == "SUSPENDED" and is_true(s, "Synced")
    )
    assert back["replicaId"] == first["replicaId"]
    assert back["sourceSerial"] == old


def test_accepting_the_new_system_forgets_the_old_ids_and_searches_afresh(env: Env) -> None:
    volume = env.name("vol")
    env.arrays.volume("ibox-1", volume)
    env.replica(volume, volume=volume)
    first = env.objects.wait_status("replicas", volume, _ready)
    since = int(env.arrays.requests()[-1]["seq"])
    _point(env, env.source, "ibox-2")
    env.objects.wait_status(
        "replicas", volume, lambda s: condition_of(s, "Synced").get("reason") == "ArrayChanged"
    )
    wait_for(
        lambda: _serial(env, env.source) == _serial(env, env.target), what="the source InfiniBox re-read"
    )
    accepted = {"metadata": {"annotations": {ACCEPT_ARRAY_ANNOTATION: str(_serial(env, env.target))}}}
    env.objects.patch("replicas", volume, accepted)
    # The ids are gone and the object searched the new system afresh (which has no link to the target).
    after = env.objects.wait_status(
        "replicas", volume, lambda s: condition_of(s, "Synced").get("reason") == "LinkNotFound"
    )
    assert "replicaId" not in after
    assert "sourceSerial" not in after
    wrong = [
        r
        for r in env.arrays.requests(since)
        if r["system"] == "ibox-2" and r["method"] in MUTATING and str(first["replicaId"]) in r["path"]
    ]
    assert wrong == []
    env.objects.patch("replicas", volume, {"spec": {"deletionPolicy": "Orphan"}})
    _point(env, env.source, "ibox-1")
