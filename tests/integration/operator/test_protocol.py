"""Issue 15, the shell side: the operator against the simulator's real-array modes, over HTTP.

Remote authorization, odd values in one replica, missing features, links that go down and
the autoResume policy; each on the real API server with the operator as a subprocess.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from ibox_sim.testing import RunningSimulator
from tests.integration.operator.conftest import Env, EnvFactory, condition_of, is_true
from tests.support.operator import OperatorProcess
from tests.support.wait import wait_for

PEER_PASSWORD = "peer-pw-4c7e19d2"
GUARDED = "REMOTE_PERMISSION_REQUIRED"


def _ready(status: dict[str, Any]) -> bool:
    return is_true(status, "Ready") and status.get("syncState") == "SYNCHRONIZED"


def _reason(kind: str, reason: str) -> Callable[[dict[str, Any]], bool]:
    return lambda status: condition_of(status, kind).get("reason") == reason


def _infinibox_status(env: Env, name: str, check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    def probe() -> dict[str, Any]:
        status = dict((env.objects.get("infiniboxes", name) or {}).get("status") or {})
        if not check(status):
            raise AssertionError(f"InfiniBox {name} status: {status}")
        return status

    return wait_for(probe, timeout=30, interval=0.25, what=f"InfiniBox {name} status")


def test_peer_credentials_are_sent_only_after_the_array_asks_and_never_logged(
    make_env: EnvFactory, private_simulator: Callable[..., RunningSimulator], operator: OperatorProcess
) -> None:
    sim = private_simulator(
        initial_sync_seconds=0.5, extra_args=("--require-remote-auth", "--password", PEER_PASSWORD)
    )
    env = make_env(sim)
    env.arrays.auth = ("admin", PEER_PASSWORD)
    env.objects.cluster.credentials_secret(env.namespace, "strong", password=PEER_PASSWORD)
    env.infinibox(env.source, "ibox-1", secret="strong")
    env.infinibox(env.target, "ibox-2", secret="strong")
    offset = len(operator.log())
    volume = env.name("vol")
    env.arrays.volume("ibox-1", volume)
    env.replica(volume, volume=volume, replicationType="SYNC")
    env.objects.wait_status("replicas", volume, _ready, timeout=45)

    env.objects.patch("replicas", volume, {"spec": {"action": {"id": "switch-1", "type": "SwitchRole"}}})
    env.objects.wait_status(
        "replicas", volume, lambda s: (s.get("lastAction") or {}).get("result") == "Succeeded", timeout=30
    )
    env.objects.delete("replicas", volume)
    env.objects.wait_gone("replicas", volume)
    assert env.arrays.replicas("ibox-1") == []
    assert env.arrays.replicas("ibox-2") == []

    calls = [r for r in env.arrays.requests() if r["method"] != "GET"]
    guarded = [
        r
        for r in calls
        if (r["method"], r["path"]) == ("POST", "/api/rest/replicas")
        or r["path"].endswith("/switch_role")
        or (r["method"] == "DELETE" and r["path"].startswith("/api/rest/replicas/"))
    ]
    kinds = {(r["method"], r["path"].rsplit("/", 1)[-1].isdigit()) for r in guarded}
    assert {("POST", False), ("DELETE", True)} <= kinds
    assert any(r["path"].endswith("/switch_role") for r in guarded)
    # Each guarded call was refused first (no header sent up front), then repeated once with it.
    for first, second in zip(guarded[::2], guarded[1::2], strict=True):
        assert (first["status"], first["error_code"]) == (403, GUARDED)
        assert (second["system"], second["method"], second["path"]) == (
            first["system"],
            first["method"],
            first["path"],
        )
        assert second["status"] == 200
    assert not [r for r in env.arrays.requests() if r["method"] == "GET" and r["status"] == 403]
    logged = operator.log()[offset:]
    assert PEER_PASSWORD not in logged
    assert base64.b64encode(f"admin:{PEER_PASSWORD}".encode()).decode() not in logged


def test_odd_values_in_one_replica_are_reported_on_its_object_and_the_others_go_on(
    env: Env, operator: OperatorProcess
) -> None:
    names = [env.name(suffix) for suffix in ("odd", "aa", "plain")]
    for name in names:
        env.arrays.volume("ibox-1", name)
        env.replica(name, volume=name)
    ids = {name: env.objects.wait_status("replicas", name, _ready)["replicaId"] for name in names}
    odd, active_active, plain = names
    overrides = {
        odd: {"progress": "lots", "jobs": None, "state": "NEW"},
        active_active: {"replication_type": "ACTIVE_ACTIVE"},
    }
    for name, fields in overrides.items():
        env.arrays.admin("PUT", f"/_sim/replicas/ibox-1/{ids[name]}/fields", fields)
    try:
        unreadable = env.objects.wait_status("replicas", odd, _reason("Synced", "UnreadableField"))
        synced = condition_of(unreadable, "Synced")
        assert synced["status"] == "Unknown"
        assert "progress" in synced["message"]
        assert unreadable["state"] == "NEW"  # the readable fields are still shown
        counted = f'infinibox_parse_issues_total{{array="{env.source}",endpoint="/api/rest/replicas"}}'
        assert counted in operator.metrics()
        unmanaged = env.objects.wait_status("replicas", active_active, _reason("Synced", "UnmanagedType"))
        assert condition_of(unmanaged, "Synced")["status"] == "Unknown"
        assert unmanaged["replicationType"] == "ACTIVE_ACTIVE"

        mark = env.arrays.requests()[-1]["seq"]
        env.objects.patch("replicas", plain, {"spec": {"rpo": "7m"}})
        updated = env.objects.wait_status("replicas", plain, lambda s: s.get("rpo") == "7m")
        assert is_true(updated, "Synced")
        changed = [r["path"] for r in env.arrays.requests(mark) if r["method"] != "GET"]
        assert f"/api/rest/replicas/{ids[plain]}" in changed
        odd_paths = [f"/api/rest/replicas/{ids[name]}" for name in overrides]
        assert not [path for path in changed if any(path.startswith(odd_path) for odd_path in odd_paths)]
    finally:
        for name in overrides:
            env.arrays.admin("DELETE", f"/_sim/replicas/ibox-1/{ids[name]}/fields")


def test_features_and_links_show_on_the_infinibox_and_a_missing_feature_is_refused(
    make_env: EnvFactory, private_simulator: Callable[..., RunningSimulator]
) -> None:
    sim = private_simulator(initial_sync_seconds=0.5)
    sim.admin("PUT", "/_sim/config", {"disabled_features": ["filesystem_replicas"]})
    env = make_env(sim)
    status = _infinibox_status(env, env.source, lambda s: bool(s.get("features")) and bool(s.get("links")))
    assert "sync_replication" in status["features"]
    assert "filesystem_replicas" not in status["features"]
    assert status["version"] == "7.3.10.0"
    assert status["links"] == [{"name": "to-ibox-2", "remoteSystem": "ibox-2", "state": "UP"}]

    filesystem = env.name("fs")
    env.arrays.filesystem("ibox-1", filesystem)
    env.replica(filesystem, filesystem=filesystem)
    refused = env.objects.wait_status("replicas", filesystem, _reason("Synced", "Unsupported"))
    assert condition_of(refused, "Synced")["status"] == "False"
    assert "filesystem_replicas" in condition_of(refused, "Synced")["message"]
    assert not [
        r for r in env.arrays.requests() if (r["method"], r["path"]) == ("POST", "/api/rest/replicas")
    ]


def test_a_link_down_is_named_and_auto_resume_decides_who_resumes(
    make_env: EnvFactory, private_simulator: Callable[..., RunningSimulator]
) -> None:
    env = make_env(private_simulator(initial_sync_seconds=0.5, auto_suspend_after_seconds=0))
    auto, manual = env.name("auto"), env.name("manual")
    for name in (auto, manual):
        env.arrays.volume("ibox-1", name)
    env.replica(auto, volume=auto)
    env.replica(manual, volume=manual, autoResume=False)
    ids = {name: env.objects.wait_status("replicas", name, _ready)["replicaId"] for name in (auto, manual)}

    env.arrays.admin("PUT", "/_sim/links/ibox-1/to-ibox-2", {"state": "DOWN"})
    for name in (auto, manual):
        down = env.objects.wait_status("replicas", name, _reason("Replicating", "LinkDown"))
        assert "to-ibox-2" in condition_of(down, "Replicating")["message"]
    links = _infinibox_status(env, env.source, lambda s: (s.get("links") or [{}])[0].get("state") == "DOWN")
    assert links["links"][0]["name"] == "to-ibox-2"

    env.arrays.admin("PUT", "/_sim/links/ibox-1/to-ibox-2", {"state": "UP"})
    env.objects.wait_status("replicas", auto, lambda s: s.get("state") == "ACTIVE", timeout=45)
    waiting = env.objects.wait_status("replicas", manual, _reason("Replicating", "AutoSuspended"))
    assert waiting["state"] == "AUTO_SUSPENDED"
    assert "autoResume" in condition_of(waiting, "Ready")["message"]
    mark = env.arrays.requests()[-1]["seq"]
    wait_for(
        lambda: sum(1 for r in env.arrays.requests(mark) if r["path"] == "/api/rest/replicas") >= 4,
        timeout=20,
        what="two more polls of both arrays",
    )
    resumes = [r["path"] for r in env.arrays.requests() if r["path"].endswith("/resume")]
    assert f"/api/rest/replicas/{ids[auto]}/resume" in resumes
    assert f"/api/rest/replicas/{ids[manual]}/resume" not in resumes
    assert env.objects.get("replicas", manual)["status"]["state"] == "AUTO_SUSPENDED"  # type: ignore[index]

    env.objects.patch("replicas", manual, {"spec": {"autoResume": True}})
    env.objects.wait_status("replicas", manual, lambda s: s.get("state") == "ACTIVE", timeout=30)


def test_a_group_is_searched_by_local_cg_id_and_deleted_with_every_flag_said(env: Env) -> None:
    group = env.name("cg")
    group_id = env.arrays.consistency_group("ibox-1", group, [env.name("m1"), env.name("m2")])["id"]
    env.objects.apply(
        {
            "kind": "ConsistencyGroupReplica",
            "metadata": {"name": group, "namespace": env.namespace},
            "spec": {
                "source": {"array": env.source, "consistencyGroup": group},
                "target": {"array": env.target, "pool": "pool-1"},
            },
        }
    )
    replica_id = env.objects.wait_status("consistencygroupreplicas", group, _ready)["replicaId"]
    searches = [
        r["query"] for r in env.arrays.requests() if (r["method"], r["path"]) == ("GET", "/api/rest/replicas")
    ]
    assert [q for q in searches if f"local_cg_id=eq%3A{group_id}" in q or f"local_cg_id=eq:{group_id}" in q]
    assert not [
        q
        for q in searches
        if f"local_entity_id=eq%3A{group_id}" in q or f"local_entity_id=eq:{group_id}" in q
    ]

    env.objects.delete("consistencygroupreplicas", group)
    env.objects.wait_gone("consistencygroupreplicas", group)
    (delete,) = [
        r
        for r in env.arrays.requests()
        if (r["method"], r["path"]) == ("DELETE", f"/api/rest/replicas/{replica_id}")
    ]
    flags = dict(pair.split("=", 1) for pair in delete["query"].split("&"))
    assert {
        key: flags.get(key) for key in ("retain_staging_area", "force_on_target", "force_if_remote_error")
    } == {
        "retain_staging_area": "false",
        "force_on_target": "false",
        "force_if_remote_error": "false",
    }


def test_a_replica_waiting_for_an_initialization_slot_is_initializing_and_defers_a_type_change(
    make_env: EnvFactory, private_simulator: Callable[..., RunningSimulator], operator: OperatorProcess
) -> None:
    """PENDING (beyond the array's concurrent-initialization limit) counts as initializing, as
    infinisdk's ``is_initializing_pending`` reads it: Ready waits, a type change is deferred and no
    change_type call is sent until the replica has initialized."""
    sim = private_simulator(initial_sync_seconds=6, max_concurrent_inits=1)
    env = make_env(sim)
    first, second = env.name("first"), env.name("second")
    for volume in (first, second):  # one after the other: the first takes the only slot
        env.arrays.volume("ibox-1", volume)
        env.replica(volume, volume=volume, rpo="5m", syncInterval="1m")
        env.objects.wait_status("replicas", volume, lambda s: s.get("replicaId") is not None)
    pending = env.objects.wait_status("replicas", second, lambda s: s.get("replicaId") is not None)
    on_array = env.arrays.replica("ibox-1", pending["replicaId"])
    assert on_array is not None
    assert on_array["sync_state"] == "INITIALIZING_PENDING", on_array
    assert any(job.get("state") == "PENDING" for job in on_array.get("jobs") or []), on_array
    assert condition_of(pending, "Ready").get("status") != "True"

    change = {"replicationType": "SYNC", "rpo": None, "syncInterval": None}
    env.objects.patch("replicas", second, {"spec": change})
    deferred = env.objects.wait_status(
        "replicas", second, lambda s: s.get("pendingReplicationType") == "SYNC", timeout=20
    )
    assert condition_of(deferred, "Synced").get("reason") == "TypeChangeDeferred"
    still = env.arrays.replica("ibox-1", pending["replicaId"])
    assert still is not None
    assert still["sync_state"] in ("INITIALIZING_PENDING", "INITIALIZING"), still
    assert not [r for r in env.arrays.requests() if r["path"].endswith("/change_type_to_sync")]

    done = env.objects.wait_status(
        "replicas", second, lambda s: _ready(s) and s.get("replicationType") == "SYNC", timeout=60
    )
    assert done.get("pendingReplicationType") is None
    calls = [r for r in env.arrays.requests() if r["path"].endswith("/change_type_to_sync")]
    assert len(calls) == 1, calls
