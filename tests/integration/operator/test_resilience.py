"""Issue 6: deferred type changes, crash safety, arrays that fail, and what is wrong with the input."""

from __future__ import annotations

import json
from collections.abc import Callable

from ibox_sim.testing import RunningSimulator
from tests.integration.operator.conftest import Env, EnvFactory, condition_of, is_true
from tests.support.credentials import PASSWORD
from tests.support.operator import OperatorProcess
from tests.support.wait import wait_for


def _ready(status: dict[str, object]) -> bool:
    return is_true(status, "Ready") and status.get("syncState") == "SYNCHRONIZED"


def _synced_reason(reason: str) -> Callable[[dict[str, object]], bool]:
    return lambda status: condition_of(status, "Synced").get("reason") == reason


def _lists_since(env: Env, seq: int) -> int:
    return sum(
        1 for r in env.arrays.requests(seq) if r["method"] == "GET" and r["path"] == "/api/rest/replicas"
    )


def test_type_change_during_initializing_is_deferred_then_applied(
    make_env: EnvFactory, private_simulator: Callable[..., RunningSimulator]
) -> None:
    env = make_env(private_simulator(initial_sync_seconds=3600))
    volume = env.name("vol")
    env.arrays.volume("ibox-1", volume)
    env.replica(volume, volume=volume)
    status = env.objects.wait_status("replicas", volume, lambda s: s.get("syncState") == "INITIALIZING")
    replica_id = status["replicaId"]

    env.objects.patch("replicas", volume, {"spec": {"replicationType": "SYNC"}})
    deferred = env.objects.wait_status("replicas", volume, _synced_reason("TypeChangeDeferred"))
    assert deferred["pendingReplicationType"] == "SYNC"
    assert deferred["replicationType"] == "ASYNC"
    assert "INITIALIZING" in condition_of(deferred, "Synced")["message"]
    # Let several polls pass while still initializing: not one type-change call may reach the array.
    mark = env.arrays.requests()[-1]["seq"]
    wait_for(lambda: _lists_since(env, mark) >= 6, timeout=20, what="three polls of both arrays")
    assert not [r for r in env.arrays.requests() if "change_type" in r["path"]]
    events = env.objects.cluster.kubectl("-n", env.namespace, "get", "events", "-o", "json").stdout
    assert '"reason": "TypeChangeDeferred"' in events

    env.arrays.admin("POST", f"/_sim/replicas/ibox-1/{replica_id}/complete-initialization")
    done = env.objects.wait_status(
        "replicas", volume, lambda s: s.get("replicationType") == "SYNC", timeout=15
    )
    assert "pendingReplicationType" not in done
    assert is_true(done, "Synced")
    changes = [r for r in env.arrays.requests() if "change_type" in r["path"]]
    assert [(r["path"], r["status"]) for r in changes] == [
        (f"/api/rest/replicas/{replica_id}/change_type_to_sync", 200)
    ]
    assert env.arrays.replica("ibox-1", replica_id)["replication_type"] == "SYNC"  # type: ignore[index]


def test_operator_killed_after_the_array_created_the_replica_adopts_it_after_restart(
    make_env: EnvFactory, private_simulator: Callable[..., RunningSimulator], operator: OperatorProcess
) -> None:
    env = make_env(private_simulator(initial_sync_seconds=1))
    volume = env.name("vol")
    volume_id = env.arrays.volume("ibox-1", volume)["id"]
    # The array creates the replica at once but answers 30 s later: the operator is waiting for
    # that answer (no status written yet) when it is killed.
    late = {"latency_ms": 30_000, "methods": ["POST"], "path_regex": "^/api/rest/replicas$", "phase": "after"}
    env.arrays.admin("PUT", "/_sim/faults", late)
    env.replica(volume, volume=volume)
    wait_for(
        lambda: env.arrays.replicas("ibox-1", local_entity_id=volume_id), timeout=20, what="the array replica"
    )
    operator.kill()
    assert "replicaId" not in ((env.objects.get("replicas", volume) or {}).get("status") or {})
    env.arrays.admin("DELETE", "/_sim/faults")

    operator.start()
    status = env.objects.wait_status("replicas", volume, _ready, timeout=30)
    on_source = env.arrays.replicas("ibox-1", local_entity_id=volume_id)
    assert [r["id"] for r in on_source] == [status["replicaId"]]
    assert len(env.arrays.replicas("ibox-2", remote_replica_id=status["replicaId"])) == 1
    events = env.objects.cluster.kubectl("-n", env.namespace, "get", "events", "-o", "json").stdout
    assert '"reason": "Adopted"' in events


def test_array_down_then_back_recovers_without_a_manual_step(
    make_env: EnvFactory, private_simulator: Callable[..., RunningSimulator]
) -> None:
    env = make_env(private_simulator(initial_sync_seconds=1))
    volume = env.name("vol")
    env.arrays.volume("ibox-1", volume)
    env.replica(volume, volume=volume)
    env.objects.wait_status("replicas", volume, _ready)

    env.arrays.admin("PUT", "/_sim/faults", {"drop_rate": 1.0, "systems": ["ibox-1"]})
    down = env.objects.wait_status("replicas", volume, _synced_reason("ArrayUnreachable"), timeout=60)
    assert condition_of(down, "Ready")["status"] == "Unknown"
    assert down["state"] == "ACTIVE"  # the last known state stays visible
    array = env.objects.wait_status(
        "infiniboxes", env.source, lambda s: condition_of(s, "Connected").get("status") == "False"
    )
    assert condition_of(array, "Connected")["reason"] == "ArrayUnreachable"

    env.arrays.admin("DELETE", "/_sim/faults")
    env.objects.wait_status("replicas", volume, lambda s: _ready(s) and is_true(s, "Synced"), timeout=60)
    env.objects.wait_status("infiniboxes", env.source, lambda s: is_true(s, "Connected"))


def test_bad_credentials_then_fixed_secret(env: Env) -> None:
    env.objects.cluster.credentials_secret(env.namespace, "wrong", password="not-the-password")
    name = env.infinibox(env.name("bad"), "ibox-1", secret="wrong")
    status = env.objects.wait_status(
        "infiniboxes", name, lambda s: condition_of(s, "Connected").get("reason") == "Unauthorized"
    )
    assert condition_of(status, "Connected")["status"] == "False"
    assert "not-the-password" not in str(status)
    env.objects.cluster.kubectl(
        "-n",
        env.namespace,
        "patch",
        "secret",
        "wrong",
        "--type=merge",
        "-p",
        json.dumps({"stringData": {"password": PASSWORD}}),
    )
    fixed = env.objects.wait_status("infiniboxes", name, lambda s: is_true(s, "Connected"), timeout=30)
    assert fixed["systemName"] == "ibox-1"
    assert fixed["serial"] == 10001


def test_infinibox_reports_the_system(env: Env) -> None:
    status = env.objects.wait_status("infiniboxes", env.source, lambda s: is_true(s, "Connected"))
    assert (status["systemName"], status["serial"]) == ("ibox-1", 10001)
    assert status["version"]
    assert status["lastPolled"]
    columns = env.objects.cluster.kubectl("get", "ibox", env.source).stdout.splitlines()
    assert columns[0].split() == ["NAME", "URL", "CONNECTED", "SERIAL", "AGE"]
    assert columns[1].split()[2:4] == ["True", "10001"]


def test_missing_secret_is_reported_and_recovers(env: Env) -> None:
    name = env.infinibox(env.name("nosecret"), "ibox-1", secret="later")
    status = env.objects.wait_status(
        "infiniboxes", name, lambda s: condition_of(s, "Connected").get("reason") == "SecretNotFound"
    )
    assert "later" in condition_of(status, "Connected")["message"]
    env.objects.cluster.credentials_secret(env.namespace, "later")
    env.objects.wait_status("infiniboxes", name, lambda s: is_true(s, "Connected"))


def test_missing_array_is_reported_and_recovers_when_the_infinibox_appears(env: Env) -> None:
    volume = env.name("vol")
    env.arrays.volume("ibox-1", volume)
    late_array = env.name("late")
    env.objects.apply(
        {
            "kind": "Replica",
            "metadata": {"name": volume, "namespace": env.namespace},
            "spec": {
                "source": {"array": late_array, "volume": volume},
                "target": {"array": env.target, "pool": "pool-1"},
            },
        }
    )
    status = env.objects.wait_status("replicas", volume, _synced_reason("ArrayNotFound"))
    assert late_array in condition_of(status, "Synced")["message"]
    env.infinibox(late_array, "ibox-1")
    env.objects.wait_status("replicas", volume, _ready, timeout=30)


def test_missing_link_and_pool_are_reported(env: Env) -> None:
    first, second = env.name("a"), env.name("b")
    env.arrays.volume("ibox-1", first)
    env.arrays.volume("ibox-1", second)
    env.replica(first, volume=first, target={"link": "no-such-link"})
    env.replica(second, volume=second, target={"pool": "no-such-pool"})
    link = env.objects.wait_status("replicas", first, _synced_reason("LinkNotFound"))
    assert "no-such-link" in condition_of(link, "Synced")["message"]
    pool = env.objects.wait_status("replicas", second, _synced_reason("PoolNotFound"))
    assert "no-such-pool" in condition_of(pool, "Synced")["message"]
    assert not env.arrays.replicas("ibox-1", local_entity_name=first)


def test_a_pool_that_appears_later_or_is_recreated_is_found_without_a_manual_step(env: Env) -> None:
    """Pool and link ids are cached per array; a refused create drops the cache, so a pool
    deleted and created again under the same name (a new id) is found on the next pass."""
    pool = env.name("pool")
    first, second = env.name("a"), env.name("b")
    env.arrays.volume("ibox-1", first)
    env.arrays.volume("ibox-1", second)
    env.replica(first, volume=first, target={"pool": pool})
    env.objects.wait_status("replicas", first, _synced_reason("PoolNotFound"))
    old_pool = env.arrays.call("ibox-2", "POST", "/pools", {"name": pool})
    status = env.objects.wait_status("replicas", first, _ready, timeout=30)

    # Remove the replica and its target, then the pool; create the pool again: a new id.
    env.objects.delete("replicas", first)
    env.objects.wait_gone("replicas", first)
    assert env.arrays.replica("ibox-1", status["replicaId"]) is None
    for dataset in env.arrays.call("ibox-2", "GET", "/volumes", pool_id=f"eq:{old_pool['id']}"):
        env.arrays.call("ibox-2", "DELETE", f"/volumes/{dataset['id']}")
    env.arrays.call("ibox-2", "DELETE", f"/pools/{old_pool['id']}")
    new_pool = env.arrays.call("ibox-2", "POST", "/pools", {"name": pool})
    assert new_pool["id"] != old_pool["id"]

    mark = env.arrays.requests()[-1]["seq"]
    env.replica(second, volume=second, target={"pool": pool})
    created = env.objects.wait_status("replicas", second, _ready, timeout=45)
    creates = [
        r["status"]
        for r in env.arrays.requests(mark)
        if (r["method"], r["path"]) == ("POST", "/api/rest/replicas")
    ]
    assert creates[-1] == 200  # after the refused ones (the cached id of the old pool)
    assert all(code >= 400 for code in creates[:-1])
    on_array = env.arrays.replicas("ibox-1", local_entity_name=second)
    assert [r["id"] for r in on_array] == [created["replicaId"]]
    target = env.arrays.replica("ibox-2", created["remoteReplicaId"])
    assert target is not None
    remote_volume = env.arrays.call("ibox-2", "GET", f"/volumes/{target['local_entity_id']}")
    assert remote_volume["pool_id"] == new_pool["id"]


def test_replica_owned_by_someone_else_is_a_conflict(env: Env) -> None:
    volume = env.name("vol")
    local = env.arrays.volume("ibox-1", volume)
    link = env.arrays.call("ibox-1", "GET", "/links", name="eq:to-ibox-2")[0]
    pool = env.arrays.pool_id("ibox-2")
    by_hand = env.arrays.call(
        "ibox-1",
        "POST",
        "/replicas",
        {
            "link_id": link["id"],
            "entity_type": "VOLUME",
            "remote_pool_id": pool,
            "description": "made by hand",
            "entity_pairs": [
                {"local_entity_id": local["id"], "remote_base_action": "CREATE", "remote_entity_id": None}
            ],
        },
    )
    env.replica(volume, volume=volume)
    status = env.objects.wait_status("replicas", volume, _synced_reason("Conflict"))
    assert str(by_hand["id"]) in condition_of(status, "Synced")["message"]
    assert "replicaId" not in status
    assert [r["id"] for r in env.arrays.replicas("ibox-1", local_entity_id=local["id"])] == [by_hand["id"]]
    env.objects.patch("replicas", volume, {"spec": {"deletionPolicy": "Orphan"}})
    env.objects.delete("replicas", volume)
    env.objects.wait_gone("replicas", volume)
    assert env.arrays.replica("ibox-1", by_hand["id"]) is not None  # never touched


def test_replica_deleted_on_the_array_is_reported_not_recreated_unless_asked(env: Env) -> None:
    volume = env.name("vol")
    volume_id = env.arrays.volume("ibox-1", volume)["id"]
    env.replica(volume, volume=volume)
    status = env.objects.wait_status("replicas", volume, _ready)
    env.arrays.call("ibox-1", "DELETE", f"/replicas/{status['replicaId']}")
    gone = env.objects.wait_status(
        "replicas", volume, lambda s: condition_of(s, "Ready").get("reason") == "NotFound"
    )
    assert condition_of(gone, "Synced")["reason"] == "NotFound"
    mark = env.arrays.requests()[-1]["seq"]
    wait_for(lambda: _lists_since(env, mark) >= 4, timeout=20, what="two more polls")
    assert env.arrays.replicas("ibox-1", local_entity_id=volume_id) == []

    env.objects.cluster.kubectl(
        "-n", env.namespace, "annotate", "replica", volume, "replication.infinibox.io/recreate-missing=true"
    )
    again = env.objects.wait_status(
        "replicas",
        volume,
        lambda s: s.get("replicaId") not in (None, status["replicaId"]) and _ready(s),
        timeout=30,
    )
    assert [r["id"] for r in env.arrays.replicas("ibox-1", local_entity_id=volume_id)] == [again["replicaId"]]


def test_allowed_namespaces_is_enforced(env: Env) -> None:
    volume = env.name("vol")
    env.arrays.volume("ibox-1", volume)
    guarded = env.infinibox(env.name("guarded"), "ibox-1", allowedNamespaces=["elsewhere"])
    env.objects.wait_status("infiniboxes", guarded, lambda s: is_true(s, "Connected"))
    env.objects.apply(
        {
            "kind": "Replica",
            "metadata": {"name": volume, "namespace": env.namespace},
            "spec": {
                "source": {"array": guarded, "volume": volume},
                "target": {"array": env.target, "pool": "pool-1"},
            },
        }
    )
    status = env.objects.wait_status("replicas", volume, _synced_reason("NamespaceNotAllowed"))
    assert env.namespace in condition_of(status, "Synced")["message"]
    assert not env.arrays.replicas("ibox-1", local_entity_name=volume)
