"""Issue 9: one-shot actions, observe-only, RPO compliance, drift, in-use protection, per-array limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import yaml

from ibox_sim.testing import RunningSimulator
from tests.integration.operator.conftest import Env, EnvFactory, condition_of, is_true
from tests.support.operator import OperatorProcess
from tests.support.wait import wait_for

MUTATING = ("POST", "PUT", "DELETE", "PATCH")


def _ready(status: dict[str, Any]) -> bool:
    return is_true(status, "Ready") and status.get("syncState") == "SYNCHRONIZED"


def _action(result: str, action_id: str) -> Callable[[dict[str, Any]], bool]:
    def check(status: dict[str, Any]) -> bool:
        last = status.get("lastAction") or {}
        return bool(last.get("id") == action_id and last.get("result") == result)

    return check


class Mark(NamedTuple):
    """A point in the simulator's request log: its number and when that request started."""

    seq: int
    started: float


def _requests(
    env: Env, since: Mark, *, path: str = "", methods: tuple[str, ...] = MUTATING
) -> list[dict[str, Any]]:
    """Requests sent after ``since``. The log numbers a request when it is answered, so one sent
    before the mark and answered after it (an earlier test's create held back for a minute) is
    left out by its start time."""
    return [
        r
        for r in env.arrays.requests(since.seq)
        if r["started"] >= since.started and r["method"] in methods and path in r["path"]
    ]


def _mark(env: Env) -> Mark:
    last = env.arrays.requests()[-1]
    return Mark(int(last["seq"]), float(last["started"]))


def _sync_replica(env: Env, name: str, **spec: Any) -> dict[str, Any]:
    env.arrays.volume("ibox-1", name)
    env.replica(name, volume=name, replicationType="SYNC", **spec)
    return env.objects.wait_status("replicas", name, _ready)


# -- one-shot actions -------------------------------------------------------------------------------
def test_switch_role_swaps_roles_on_both_arrays_once_per_action_id(env: Env) -> None:
    volume = env.name("vol")
    before = _sync_replica(env, volume)
    manifest = {
        "kind": "Replica",
        "metadata": {"name": volume, "namespace": env.namespace},
        "spec": {
            "source": {"array": env.source, "volume": volume},
            "target": {"array": env.target, "pool": "pool-1"},
            "replicationType": "SYNC",
            "action": {"id": "failover-1", "type": "SwitchRole"},
        },
    }
    env.objects.apply(manifest)
    status = env.objects.wait_status("replicas", volume, _action("Succeeded", "failover-1"))
    assert status["lastAction"]["type"] == "SwitchRole"
    assert status["lastAction"]["completedAt"]
    status = env.objects.wait_status("replicas", volume, lambda s: s.get("role") == "TARGET")
    assert status["currentSource"]["array"] == env.target
    assert status["currentTarget"] == {"array": env.source, "entity": volume}
    assert env.arrays.replica("ibox-1", before["replicaId"])["role"] == "TARGET"  # type: ignore[index]
    assert env.arrays.replica("ibox-2", before["remoteReplicaId"])["role"] == "SOURCE"  # type: ignore[index]
    env.objects.wait_status("replicas", volume, lambda s: is_true(s, "Ready") and is_true(s, "Synced"))

    # The same manifest again (a GitOps re-sync, an operator restart): nothing happens.
    mark = _mark(env)
    env.objects.apply(manifest)
    env.objects.cluster.kubectl("-n", env.namespace, "annotate", "replica", volume, "resync=1", "--overwrite")
    wait_for(lambda: len(_requests(env, mark, path="/api/rest/replicas", methods=("GET",))) >= 6, timeout=20)
    assert _requests(env, mark, path="switch_role") == []
    assert env.arrays.replica("ibox-2", before["remoteReplicaId"])["role"] == "SOURCE"  # type: ignore[index]

    # A new id switches back.
    env.objects.patch("replicas", volume, {"spec": {"action": {"id": "failback-1", "type": "SwitchRole"}}})
    env.objects.wait_status(
        "replicas", volume, lambda s: _action("Succeeded", "failback-1")(s) and s["role"] == "SOURCE"
    )
    assert env.arrays.replica("ibox-1", before["replicaId"])["role"] == "SOURCE"  # type: ignore[index]
    assert len(_requests(env, mark, path="switch_role")) == 1


def test_switch_role_on_async_fails_with_the_reason(env: Env) -> None:
    volume = env.name("vol")
    env.arrays.volume("ibox-1", volume)
    mark = _mark(env)
    env.replica(volume, volume=volume, action={"id": "nope", "type": "SwitchRole"})
    status = env.objects.wait_status("replicas", volume, _action("Failed", "nope"), timeout=30)
    assert "SYNC" in status["lastAction"]["message"]
    assert _requests(env, mark, path="switch_role") == []


def test_sync_now_starts_a_sync_job(env: Env) -> None:
    volume = env.name("vol")
    env.arrays.volume("ibox-1", volume)
    env.replica(volume, volume=volume)
    status = env.objects.wait_status("replicas", volume, _ready)
    mark = _mark(env)
    env.objects.patch("replicas", volume, {"spec": {"action": {"id": "sync-1", "type": "SyncNow"}}})
    env.objects.wait_status("replicas", volume, _action("Succeeded", "sync-1"))
    syncs = _requests(env, mark, path=f"/replicas/{status['replicaId']}/sync")
    assert [(r["method"], r["status"]) for r in syncs] == [("POST", 200)]


def test_change_role_promotes_the_target_when_the_source_array_is_lost(env: Env) -> None:
    volume = env.name("vol")
    before = _sync_replica(env, volume)
    # The source array is lost: its link is down and it answers nothing.
    env.arrays.admin("PUT", "/_sim/links/ibox-1/to-ibox-2", {"state": "DOWN"})
    env.arrays.admin("PUT", "/_sim/faults", {"drop_rate": 1.0, "systems": ["ibox-1"]})
    try:
        env.objects.wait_status(
            "replicas", volume, lambda s: condition_of(s, "Synced").get("reason") == "ArrayUnreachable"
        )
        env.objects.patch("replicas", volume, {"spec": {"action": {"id": "dr-1", "type": "ChangeRole"}}})
        status = env.objects.wait_status("replicas", volume, _action("Succeeded", "dr-1"), timeout=30)
        assert status["currentSource"]["array"] == env.target
        promoted = env.arrays.replica("ibox-2", before["remoteReplicaId"])
        assert promoted is not None
        assert promoted["role"] == "SOURCE"
        lost = env.objects.wait_status("infiniboxes", env.source, lambda s: not is_true(s, "Connected"))
        assert condition_of(lost, "Connected")["reason"] == "ArrayUnreachable"
    finally:
        env.arrays.admin("DELETE", "/_sim/faults")
        env.arrays.admin("PUT", "/_sim/links/ibox-1/to-ibox-2", {"state": "UP"})
    changes = [r for r in env.arrays.requests() if "change_role" in r["path"]]
    assert [(r["system"], r["status"]) for r in changes] == [("ibox-2", 200)]
    # Both arrays answer again and both say SOURCE: a conflict the operator reports, never "fixes".
    env.objects.wait_status(
        "replicas", volume, lambda s: condition_of(s, "Synced").get("reason") == "RoleConflict"
    )
    env.objects.patch("replicas", volume, {"spec": {"deletionPolicy": "Orphan"}})


# -- observe only -------------------------------------------------------------------------------------
def test_observe_only_reports_an_existing_replica_on_the_dr_side_and_never_mutates(env: Env) -> None:
    volume, remote = env.name("vol"), env.name("vol-dr")
    local = env.arrays.volume("ibox-1", volume)
    link = env.arrays.call("ibox-1", "GET", "/links", name="eq:to-ibox-2")[0]
    made = env.arrays.call(
        "ibox-1",
        "POST",
        "/replicas",
        {
            "link_id": link["id"],
            "entity_type": "VOLUME",
            "remote_pool_id": env.arrays.pool_id("ibox-2"),
            "entity_pairs": [
                {
                    "local_entity_id": local["id"],
                    "remote_base_action": "CREATE",
                    "remote_entity_id": None,
                    "remote_entity_name": remote,
                }
            ],
        },
    )
    mark = _mark(env)
    # Observed from the DR array: its replica of the remote volume, whose source is on ibox-1.
    env.objects.apply(
        {
            "kind": "Replica",
            "metadata": {"name": remote, "namespace": env.namespace},
            "spec": {
                "source": {"array": env.target, "volume": remote},
                "target": {"array": env.source, "mode": "Existing", "name": volume},
                "managementPolicy": "ObserveOnly",
                "suspended": True,  # differs from the array on purpose: reported, not applied
            },
        }
    )
    status = env.objects.wait_status(
        "replicas", remote, lambda s: s.get("replicaId") is not None and "currentSource" in s
    )
    assert status["role"] == "TARGET"
    assert status["remoteReplicaId"] == made["id"]
    assert status["currentSource"] == {"array": env.source, "entity": volume}
    drifted = env.objects.wait_status(
        "replicas", remote, lambda s: condition_of(s, "Synced").get("reason") == "Drifted"
    )
    assert "suspended" in condition_of(drifted, "Synced")["message"]
    wait_for(lambda: len(_requests(env, mark, path="/api/rest/replicas", methods=("GET",))) >= 6, timeout=20)
    env.objects.delete("replicas", remote)
    env.objects.wait_gone("replicas", remote)
    mutations = [r for r in _requests(env, mark) if r["path"] != "/api/rest/users/login"]
    assert mutations == []
    assert env.arrays.replica("ibox-1", made["id"])["state"] == "ACTIVE"  # type: ignore[index]
    events = env.objects.cluster.kubectl("-n", env.namespace, "get", "events", "-o", "json").stdout
    assert '"reason": "Orphaned"' in events


# -- RPO compliance --------------------------------------------------------------------------------------
def test_rpo_compliance_follows_the_last_sync(env: Env, operator: OperatorProcess) -> None:
    volume = env.name("vol")
    env.arrays.volume("ibox-1", volume)
    env.replica(volume, volume=volume, rpo="3s", syncInterval="1s")
    status = env.objects.wait_status("replicas", volume, lambda s: _ready(s) and is_true(s, "RPOCompliant"))
    assert condition_of(status, "RPOCompliant")["reason"] == "WithinRPO"
    assert is_true(status, "Replicating")
    env.arrays.admin("PUT", f"/_sim/replicas/ibox-1/{status['replicaId']}/jobs", {"paused": True})
    late = env.objects.wait_status(
        "replicas", volume, lambda s: condition_of(s, "RPOCompliant").get("status") == "False", timeout=30
    )
    assert condition_of(late, "RPOCompliant")["reason"] == "RPOExceeded"
    metrics = operator.metrics()
    lag = [
        line
        for line in metrics.splitlines()
        if line.startswith("replica_operator_replica_rpo_overrun_seconds") and f'name="{volume}"' in line
    ]
    assert lag
    assert float(lag[0].rsplit(" ", 1)[1]) > 0
    env.arrays.admin("PUT", f"/_sim/replicas/ibox-1/{status['replicaId']}/jobs", {"paused": False})
    env.objects.wait_status("replicas", volume, lambda s: is_true(s, "RPOCompliant"), timeout=30)


# -- drift -------------------------------------------------------------------------------------------------
def test_type_changed_by_hand_is_corrected(env: Env) -> None:
    volume = env.name("vol")
    env.arrays.volume("ibox-1", volume)
    env.replica(volume, volume=volume)
    status = env.objects.wait_status("replicas", volume, lambda s: _ready(s) and is_true(s, "Synced"))
    mark = _mark(env)
    env.arrays.call("ibox-1", "POST", f"/replicas/{status['replicaId']}/change_type_to_sync", {})
    wait_for(
        lambda: len(_requests(env, mark, path="change_type_to_async")) == 1, timeout=20, what="correction"
    )
    fixed = env.objects.wait_status(
        "replicas", volume, lambda s: s.get("replicationType") == "ASYNC" and is_true(s, "Synced")
    )
    assert env.arrays.replica("ibox-1", status["replicaId"])["replication_type"] == "ASYNC"  # type: ignore[index]
    events = env.objects.cluster.kubectl("-n", env.namespace, "get", "events", "-o", "json").stdout
    assert '"reason": "DriftCorrected"' in events
    assert fixed["replicationType"] == "ASYNC"


def test_drift_is_only_reported_under_report_policy(env: Env) -> None:
    volume = env.name("vol")
    env.arrays.volume("ibox-1", volume)
    env.replica(volume, volume=volume, driftPolicy="Report", rpo="5m")
    status = env.objects.wait_status("replicas", volume, lambda s: _ready(s) and is_true(s, "Synced"))
    mark = _mark(env)
    env.arrays.call("ibox-1", "PUT", f"/replicas/{status['replicaId']}", {"rpo_value": 600_000})
    env.arrays.call("ibox-1", "POST", f"/replicas/{status['replicaId']}/suspend")
    drifted = env.objects.wait_status(
        "replicas", volume, lambda s: condition_of(s, "Synced").get("reason") == "Drifted", timeout=20
    )
    message = condition_of(drifted, "Synced")["message"]
    assert "rpo is 10m" in message
    assert "suspended" in message
    wait_for(lambda: len(_requests(env, mark, path="/api/rest/replicas", methods=("GET",))) >= 6, timeout=20)
    mutations = [r for r in _requests(env, mark) if r["path"] != "/api/rest/users/login"]
    changes = [(r["method"], r["path"]) for r in mutations]
    replica_path = f"/api/rest/replicas/{status['replicaId']}"
    assert changes == [("PUT", replica_path), ("POST", f"{replica_path}/suspend")], (
        mutations
    )  # the test's own two
    events = env.objects.cluster.kubectl("-n", env.namespace, "get", "events", "-o", "json").stdout
    assert '"reason": "Drifted"' in events
    # A change of the spec is still applied under Report.
    env.objects.patch("replicas", volume, {"spec": {"rpo": "15m"}})
    env.objects.wait_status("replicas", volume, lambda s: is_true(s, "Synced") and s.get("state") == "ACTIVE")
    replica = env.arrays.replica("ibox-1", status["replicaId"])
    assert replica is not None
    assert (replica["rpo_value"], replica["state"]) == (900_000, "ACTIVE")


# -- in-use protection and the way out -------------------------------------------------------------------
def test_an_infinibox_in_use_cannot_be_deleted_until_nothing_uses_it(env: Env) -> None:
    volume = env.name("vol")
    env.arrays.volume("ibox-1", volume)
    env.replica(volume, volume=volume, driftPolicy="Report")  # Report: a change by hand shows in status
    replica_id = env.objects.wait_status("replicas", volume, _ready)["replicaId"]
    env.objects.delete("infiniboxes", env.source)
    blocked = env.objects.wait_status(
        "infiniboxes",
        env.source,
        lambda s: is_true(s, "InUse") and volume in condition_of(s, "InUse")["message"],
    )
    assert env.namespace in condition_of(blocked, "InUse")["message"]
    assert env.objects.get("infiniboxes", env.source)["metadata"]["deletionTimestamp"]  # type: ignore[index]
    # Polling goes on while the deletion waits: a change made on the array after it shows in status.
    env.arrays.call("ibox-1", "POST", f"/replicas/{replica_id}/suspend")
    env.objects.wait_status("replicas", volume, lambda s: s.get("state") == "SUSPENDED", timeout=15)
    env.objects.delete("replicas", volume)
    env.objects.wait_gone("replicas", volume)
    env.objects.wait_gone("infiniboxes", env.source)


def test_deleting_a_replica_whose_array_is_gone_waits_and_says_how_to_get_out(
    make_env: EnvFactory, private_simulator: Callable[..., RunningSimulator]
) -> None:
    simulator = private_simulator(initial_sync_seconds=1)
    env = make_env(simulator)
    volume = env.name("vol")
    env.arrays.volume("ibox-1", volume)
    env.replica(volume, volume=volume)
    status = env.objects.wait_status("replicas", volume, _ready)
    env.arrays.admin("PUT", "/_sim/faults", {"drop_rate": 1.0, "systems": ["ibox-1"]})
    env.objects.delete("replicas", volume)
    blocked = env.objects.wait_status(
        "replicas", volume, lambda s: condition_of(s, "Synced").get("reason") == "DeletionBlocked", timeout=60
    )
    assert "deletionPolicy to Orphan" in condition_of(blocked, "Synced")["message"]
    assert env.objects.get("replicas", volume) is not None  # not lost, not silently dropped
    # The TARGET on ibox-2 answers, but is not deleted alone: its SOURCE on ibox-1 would stay.
    assert env.arrays.replica("ibox-2", status["remoteReplicaId"]) is not None
    env.objects.patch("replicas", volume, {"spec": {"deletionPolicy": "Orphan"}})
    env.objects.wait_gone("replicas", volume)
    events = env.objects.cluster.kubectl("-n", env.namespace, "get", "events", "-o", "json").stdout
    assert f"replica {status['replicaId']}" in events
    assert '"reason": "Orphaned"' in events
    env.arrays.admin("DELETE", "/_sim/faults")


# -- per-array limits ----------------------------------------------------------------------------------------
CAP = 3
#: Each request waits this long on the simulator, so the operator's requests overlap (without it
#: they hardly ever do, and a cap that is ignored goes unseen).
LATENCY = {"reads": 100, "creates": 150, "actions": 150, "deletes": 100}


def _high_water_under_load(env: Env, cap: int, count: int) -> dict[str, int]:
    """Set both arrays' maxConcurrentRequests to ``cap``, create ``count`` replicas at once under
    injected latency, and return each simulated system's high-water mark of requests in flight."""
    for name in (env.source, env.target):
        env.objects.api.patch_cluster_custom_object(
            "replication.infinibox.io",
            "v1alpha1",
            "infiniboxes",
            name,
            {"spec": {"maxConcurrentRequests": cap}},
        )
        env.objects.wait_status(
            "infiniboxes",
            name,
            lambda s, name=name: (  # type: ignore[misc]
                s.get("observedGeneration")
                == (env.objects.get("infiniboxes", name) or {})["metadata"]["generation"]
                and is_true(s, "Connected")
            ),
            what=f"{name} reconfigured",
        )
    names = [env.name(f"c{cap}-{i:02d}") for i in range(count)]
    for name in names:
        env.arrays.volume("ibox-1", name)
    env.arrays.admin("PUT", "/_sim/latency", LATENCY)
    env.arrays.admin("POST", "/_sim/stats/reset")
    manifests = [
        {
            "apiVersion": "replication.infinibox.io/v1alpha1",
            "kind": "Replica",
            "metadata": {"name": name, "namespace": env.namespace},
            "spec": {
                "source": {"array": env.source, "volume": name},
                "target": {"array": env.target, "pool": "pool-1"},
            },
        }
        for name in names
    ]
    env.objects.cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(manifests))
    for name in names:
        env.objects.wait_status("replicas", name, lambda s: s.get("replicaId") is not None, timeout=90)
    stats = env.arrays.admin("GET", "/_sim/stats")
    env.arrays.admin("PUT", "/_sim/latency", {"profile": "none"})
    assert stats["by_system"]["ibox-1"]["requests_total"] >= count * 2
    return {system: counts["in_flight_high_water"] for system, counts in stats["by_system"].items()}


def test_max_concurrent_requests_is_reached_and_never_exceeded(
    make_env: EnvFactory, private_simulator: Callable[..., RunningSimulator]
) -> None:
    capped = _high_water_under_load(make_env(private_simulator(initial_sync_seconds=1)), CAP, 30)
    assert capped["ibox-1"] == CAP, capped  # the cap is used to the full, and holds
    assert capped["ibox-2"] <= CAP, capped
    # The control: the same load with a higher cap overlaps more, so it is the cap that held.
    control = _high_water_under_load(make_env(private_simulator(initial_sync_seconds=1)), 3 * CAP, 30)
    assert control["ibox-1"] > CAP, control
    assert control["ibox-1"] <= 3 * CAP, control
