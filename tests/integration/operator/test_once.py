"""Issue 14 items 5 and 7: one-shot actions at most once, and a refused step that blocks nothing else.

Real API server, ``ibox-sim`` over HTTP, ``replica-operator run``. Faults are scoped to the
test's own replica by path, and cleared in ``finally``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import kubernetes

from replica_operator.api import GROUP, VERSION
from tests.integration.operator.conftest import Env, condition_of, is_true
from tests.support.admission import deny_requests
from tests.support.operator import OperatorProcess
from tests.support.wait import wait_for


def _ready(status: dict[str, Any]) -> bool:
    return is_true(status, "Ready") and status.get("syncState") == "SYNCHRONIZED"


def _action(result: str, action_id: str) -> Callable[[dict[str, Any]], bool]:
    def check(status: dict[str, Any]) -> bool:
        last = status.get("lastAction") or {}
        return bool(last.get("id") == action_id and last.get("result") == result)

    return check


def _posts(env: Env, path: str) -> list[dict[str, Any]]:
    """Every POST the simulator logged whose path is exactly ``path`` (the log has both systems)."""
    return [r for r in env.arrays.requests() if r["method"] == "POST" and r["path"] == path]


def _replica(env: Env, name: str, **spec: Any) -> dict[str, Any]:
    env.arrays.volume("ibox-1", name)
    env.replica(name, volume=name, **spec)
    return env.objects.wait_status("replicas", name, _ready)


@contextlib.contextmanager
def _fault(env: Env, **spec: Any) -> Iterator[None]:
    env.arrays.admin("PUT", "/_sim/faults", spec)
    try:
        yield
    finally:
        env.arrays.admin("DELETE", "/_sim/faults")


# -- item 7 ------------------------------------------------------------------------------------------
def test_a_refused_type_change_does_not_keep_the_suspension_from_the_array(env: Env) -> None:
    volume = env.name("vol")
    replica_id = _replica(env, volume)["replicaId"]
    change_type = f"^/api/rest/replicas/{replica_id}/change_type"
    with _fault(env, error_rate=1.0, methods=["POST"], path_regex=change_type):
        env.objects.patch("replicas", volume, {"spec": {"replicationType": "SYNC", "suspended": True}})
        status = env.objects.wait_status(
            "replicas",
            volume,
            lambda s: s.get("state") == "SUSPENDED" and condition_of(s, "Synced").get("status") == "False",
        )
        synced = condition_of(status, "Synced")
        assert f"could not change replica {replica_id} to SYNC" in synced["message"], synced
        assert env.arrays.replica("ibox-1", replica_id)["state"] == "SUSPENDED"  # type: ignore[index]
        assert len(_posts(env, f"/api/rest/replicas/{replica_id}/suspend")) == 1
        assert _posts(env, f"/api/rest/replicas/{replica_id}/change_type_to_sync")  # it was tried


# -- item 5 ------------------------------------------------------------------------------------------
def test_a_switch_whose_answer_is_lost_after_the_array_acted_succeeds_without_a_second_call(
    env: Env,
) -> None:
    volume = env.name("vol")
    replica_id = _replica(env, volume, replicationType="SYNC")["replicaId"]
    switch = f"/api/rest/replicas/{replica_id}/switch_role"
    with _fault(env, drop_rate=1.0, methods=["POST"], path_regex=f"^{switch}$", phase="after"):
        env.objects.patch("replicas", volume, {"spec": {"action": {"id": "lost-1", "type": "SwitchRole"}}})
        wait_for(
            lambda: (env.arrays.replica("ibox-1", replica_id) or {}).get("role") == "TARGET",
            timeout=30,
            what="the array to switch the roles",
        )
        wait_for(lambda: _posts(env, switch), timeout=10, what="the dropped call in the simulator's log")
    status = env.objects.wait_status("replicas", volume, _action("Succeeded", "lost-1"), timeout=60)
    assert status["lastAction"]["message"]
    assert len(_posts(env, switch)) == 1
    env.objects.wait_status("replicas", volume, lambda s: s.get("role") == "TARGET")


def _deny_status_writes(env: Env) -> Callable[[], None]:
    """A ValidatingAdmissionPolicy refusing every status write of Replicas in the test's namespace."""
    rule = {
        "apiGroups": [GROUP],
        "apiVersions": ["*"],
        "operations": ["UPDATE"],
        "resources": ["replicas/status"],
    }
    return deny_requests(
        env.objects.cluster,
        f"deny-status-{env.namespace}",
        rule,
        "false",
        "status writes are refused by the test",
        env.namespace,
    )


def _status_refused(env: Env, name: str) -> bool:
    try:
        env.objects.api.patch_namespaced_custom_object_status(
            GROUP, VERSION, env.namespace, "replicas", name, {"status": {}}
        )
    except kubernetes.client.ApiException as error:
        return error.status in (403, 422)
    return False


def _events(env: Env, reason: str) -> list[dict[str, Any]]:
    listed = env.objects.cluster.kubectl_json("-n", env.namespace, "get", "events")
    return [e for e in listed["items"] if e.get("reason") == reason]


def test_no_action_is_sent_while_its_in_progress_record_cannot_be_written(env: Env) -> None:
    volume = env.name("vol")
    replica_id = _replica(env, volume, replicationType="SYNC")["replicaId"]
    switch = f"/api/rest/replicas/{replica_id}/switch_role"
    remove = _deny_status_writes(env)
    try:
        wait_for(lambda: _status_refused(env, volume), timeout=30, what="the admission policy to refuse")
        mark = int(env.arrays.requests()[-1]["seq"])
        env.objects.patch("replicas", volume, {"spec": {"action": {"id": "held-1", "type": "SwitchRole"}}})
        wait_for(
            lambda: sum(1 for r in env.arrays.requests(mark) if r["path"] == "/api/rest/replicas") >= 6,
            timeout=30,
            what="three polls of both arrays",
        )
        assert _posts(env, switch) == []
        assert (env.arrays.replica("ibox-1", replica_id) or {}).get("role") == "SOURCE"
        assert _events(env, "StatusNotWritten"), "the refused InProgress record is reported"
    finally:
        remove()
    env.objects.wait_status("replicas", volume, _action("Succeeded", "held-1"), timeout=90)
    assert len(_posts(env, switch)) == 1


def _killed_after_the_call(
    env: Env,
    operator: OperatorProcess,
    volume: str,
    action: dict[str, str],
    path: str,
    acted: Callable[[], bool],
) -> dict[str, Any]:
    """Send ``action``; the array acts but holds its answer; SIGKILL the operator; restart it."""
    with _fault(env, latency_ms=8_000, methods=["POST"], path_regex=f"^{path}$", phase="after"):
        env.objects.patch("replicas", volume, {"spec": {"action": action}})
        wait_for(acted, timeout=30, what="the array to carry out the action")
        operator.kill()
    recorded = (env.objects.get("replicas", volume) or {}).get("status") or {}
    assert recorded["lastAction"]["result"] == "InProgress", recorded
    operator.start()
    status = env.objects.wait_status("replicas", volume, _action("Succeeded", action["id"]), timeout=60)
    wait_for(lambda: _posts(env, path), timeout=20, what="the held call in the simulator's log")
    return status


def test_a_switch_sent_before_a_crash_is_not_sent_again_after_the_restart(
    env: Env, operator: OperatorProcess
) -> None:
    volume = env.name("vol")
    replica_id = _replica(env, volume, replicationType="SYNC")["replicaId"]
    path = f"/api/rest/replicas/{replica_id}/switch_role"
    action = {"id": "crash-1", "type": "SwitchRole"}

    def acted() -> bool:
        return (env.arrays.replica("ibox-1", replica_id) or {}).get("role") == "TARGET"

    _killed_after_the_call(env, operator, volume, action, path, acted)
    assert len(_posts(env, path)) == 1


def test_sync_now_sent_before_a_crash_is_not_sent_again_after_the_restart(
    env: Env, operator: OperatorProcess
) -> None:
    volume = env.name("vol")
    status = _replica(env, volume, rpo="30m", syncInterval="10m")
    replica_id = status["replicaId"]
    before = (env.arrays.replica("ibox-1", replica_id) or {}).get("last_synchronized") or 0
    path = f"/api/rest/replicas/{replica_id}/sync"

    def acted() -> bool:
        return ((env.arrays.replica("ibox-1", replica_id) or {}).get("last_synchronized") or 0) > before

    _killed_after_the_call(env, operator, volume, {"id": "crash-sync-1", "type": "SyncNow"}, path, acted)
    assert len(_posts(env, path)) == 1
