"""Issue 14, chaos findings after role switches: deletion, resume and a lost switch answer.

Real API server, ``ibox-sim`` over HTTP, ``replica-operator run``. Each test starts from a SYNC
replica whose roles were switched (its spec.source array now holds the TARGET side).
"""

from __future__ import annotations

from typing import Any

from replica_operator.reconcile import TAKE_OVER_ANNOTATION, owner_mark
from tests.integration.operator.conftest import Env, is_true
from tests.support.wait import wait_for


def _ready(status: dict[str, Any]) -> bool:
    return is_true(status, "Ready") and status.get("syncState") == "SYNCHRONIZED"


def _switched(env: Env, volume: str) -> dict[str, Any]:
    """A SYNC replica whose roles were switched once: ibox-1 holds the TARGET side now."""
    env.arrays.volume("ibox-1", volume)
    env.replica(volume, volume=volume, replicationType="SYNC")
    env.objects.wait_status("replicas", volume, _ready)
    env.objects.patch("replicas", volume, {"spec": {"action": {"id": "switch-1", "type": "SwitchRole"}}})
    return env.objects.wait_status(
        "replicas",
        volume,
        lambda s: (s.get("lastAction") or {}).get("result") == "Succeeded" and s.get("role") == "TARGET",
    )


def _mutations(env: Env, since: int, path: str) -> list[dict[str, Any]]:
    return [r for r in env.arrays.requests(since) if r["method"] != "GET" and r["path"].startswith(path)]


def test_deleting_a_switched_replica_removes_both_sides(env: Env) -> None:
    volume = env.name("vol")
    status = _switched(env, volume)
    uid = (env.objects.get("replicas", volume) or {})["metadata"]["uid"]
    mark = owner_mark(uid, env.namespace, volume)
    source_id, target_id = status["replicaId"], status["remoteReplicaId"]
    assert env.arrays.replica("ibox-1", source_id)["role"] == "TARGET"  # type: ignore[index]
    since = int(env.arrays.requests()[-1]["seq"])
    env.objects.delete("replicas", volume)
    env.objects.wait_gone("replicas", volume, timeout=60)
    assert env.arrays.replica("ibox-1", source_id) is None
    assert env.arrays.replica("ibox-2", target_id) is None
    deletes = [r for r in env.arrays.requests(since) if r["method"] == "DELETE"]
    assert [(r["system"], r["path"], r["status"]) for r in deletes] == [
        ("ibox-2", f"/api/rest/replicas/{target_id}", 200)  # the SOURCE side, its peer goes with it
    ]
    assert env.arrays.replicas("ibox-1", description=mark) == []
    assert env.arrays.replicas("ibox-2", description=mark) == []


def test_orphaning_a_switched_pair_names_the_replica_on_the_array_it_is_on(env: Env) -> None:
    """After a switch the SOURCE is spec.target's replica: the Orphaned Event names that one with
    its array (it named spec.source's replica id with spec.target's array: a pair nobody could find)."""
    volume = env.name("vol")
    status = _switched(env, volume)
    source_id, target_id = status["replicaId"], status["remoteReplicaId"]
    env.objects.patch("replicas", volume, {"spec": {"deletionPolicy": "Orphan"}})
    env.objects.wait_status("replicas", volume, lambda s: s.get("observedGeneration", 0) >= 3)
    env.objects.delete("replicas", volume)
    env.objects.wait_gone("replicas", volume, timeout=60)
    events = env.objects.cluster.kubectl_json("-n", env.namespace, "get", "events")["items"]
    (orphaned,) = [e["message"] for e in events if e.get("reason") == "Orphaned"]
    assert f"replica {target_id} (source array {env.target})" in orphaned, orphaned
    assert f"{source_id} on {env.source}" in orphaned, orphaned  # its peer, named too
    assert env.arrays.replica("ibox-2", target_id) is not None  # left, as asked


def test_a_replica_suspended_by_its_missing_peer_is_not_resumed_in_a_loop(env: Env) -> None:
    """The array suspends a replica whose peer is gone (REMOTE_REPLICA_MISSING) and clears that by
    itself when it is resolved; a resume is refused (409 REPLICA_NOT_SUSPENDED), so none is sent."""
    volume = env.name("vol")
    status = _switched(env, volume)
    source_id, target_id = status["replicaId"], status["remoteReplicaId"]
    since = int(env.arrays.requests()[-1]["seq"])
    # ibox-1 holds the TARGET side now: deleting it by hand leaves ibox-2's SOURCE without a peer.
    env.arrays.call("ibox-1", "DELETE", f"/replicas/{source_id}", force_on_target="true")
    left = env.arrays.replica("ibox-2", target_id)
    assert left is not None
    assert left["state"] == "AUTO_SUSPENDED", left
    assert left["state_reason"] == "REMOTE_REPLICA_MISSING", left

    def reported(s: dict[str, Any]) -> bool:
        ready = next((c for c in s.get("conditions") or [] if c["type"] == "Ready"), {})
        return "REMOTE_REPLICA_MISSING" in ready.get("message", "")

    env.objects.wait_status("replicas", volume, reported, timeout=60)
    listed = [r for r in env.arrays.requests(since) if r["path"] == "/api/rest/replicas"]
    wait_for(  # polls (1 s) of both arrays: several passes over the object since
        lambda: (
            len([r for r in env.arrays.requests(listed[-1]["seq"]) if r["path"] == "/api/rest/replicas"])
            >= 10
        ),
        timeout=60,
        what="several listings after the report",
    )
    assert _mutations(env, since, f"/api/rest/replicas/{target_id}/resume") == []
    synced = env.objects.condition("replicas", volume, "Synced") or {}
    assert synced.get("reason") != "Rejected", synced
    # A switch can never run without the peer: Failed with the array's reason, not InProgress for good.
    env.objects.patch("replicas", volume, {"spec": {"action": {"id": "switch-2", "type": "SwitchRole"}}})
    failed = env.objects.wait_status(
        "replicas", volume, lambda s: (s.get("lastAction") or {}).get("result") == "Failed"
    )
    assert "REMOTE_REPLICA_MISSING" in failed["lastAction"]["message"]
    assert _mutations(env, since, f"/api/rest/replicas/{target_id}/switch_role") == []


def test_deleting_a_half_taken_over_switched_pair_leaves_nothing_marked_by_a_gone_object(env: Env) -> None:
    """The take-over of a switched pair marked one side; the peer's PUT failed (still marked by the
    gone object). Deleting the object removes the pair: the other mark's owner is gone."""
    volume = env.name("vol")
    status = _switched(env, volume)
    source_id, target_id = status["replicaId"], status["remoteReplicaId"]
    env.objects.patch("replicas", volume, {"spec": {"deletionPolicy": "Orphan"}})
    env.objects.wait_status("replicas", volume, lambda s: s.get("observedGeneration", 0) >= 3)
    env.objects.delete("replicas", volume)
    env.objects.wait_gone("replicas", volume, timeout=60)
    assert env.arrays.replica("ibox-1", source_id) is not None  # left, with an Orphaned Event
    env.arrays.admin(
        "PUT",
        "/_sim/faults",
        {"error_rate": 1.0, "methods": ["PUT"], "path_regex": f"^/api/rest/replicas/{target_id}$"},
    )
    try:
        again = env.replica(volume, volume=volume, replicationType="SYNC")
        again["metadata"]["annotations"] = {TAKE_OVER_ANNOTATION: str(source_id)}
        env.objects.apply(again)
        uid = wait_for(lambda: ((env.objects.get("replicas", volume) or {}).get("metadata") or {}).get("uid"))
        mark = owner_mark(str(uid), env.namespace, volume)
        wait_for(
            lambda: env.arrays.replicas("ibox-1", description=mark), timeout=60, what="one side re-marked"
        )
        assert env.arrays.replicas("ibox-2", description=mark) == []  # the peer's PUT failed
        since = int(env.arrays.requests()[-1]["seq"])
        env.objects.delete("replicas", volume)
        env.objects.wait_gone("replicas", volume, timeout=60)
    finally:
        env.arrays.admin("DELETE", "/_sim/faults")
    assert env.arrays.replica("ibox-1", source_id) is None
    assert env.arrays.replica("ibox-2", target_id) is None
    deletes = [r for r in env.arrays.requests(since) if r["method"] == "DELETE"]
    assert [(r["system"], r["path"], r["status"]) for r in deletes] == [
        ("ibox-2", f"/api/rest/replicas/{target_id}", 200)  # the SOURCE side, its peer goes with it
    ]


def test_a_lost_switch_answer_keeps_its_attempt_time_while_other_steps_back_off(env: Env) -> None:
    """Refused suspensions leave the object backing off (2, 4, 8 s, ...); then a SwitchRole is sent
    and its answer lost (the array did not act). While backing off, poll passes with other steps
    (a resume of a replica suspended by hand) show the last results again: they must not move
    ``attemptedAt``, from which the resend after the grace is counted (it moved on every such
    poll, so the switch could stay InProgress for good)."""
    volume = env.name("vol")
    env.arrays.volume("ibox-1", volume)
    env.replica(volume, volume=volume, replicationType="SYNC")
    replica_id = env.objects.wait_status("replicas", volume, _ready)["replicaId"]
    here = f"^/api/rest/replicas/{replica_id}"

    def posts(action: str) -> list[dict[str, Any]]:
        return [r for r in env.arrays.requests() if r["method"] == "POST" and r["path"].endswith(action)]

    env.arrays.admin("PUT", "/_sim/faults", {"error_rate": 1.0, "methods": ["POST"], "path_regex": here})
    try:
        env.objects.patch("replicas", volume, {"spec": {"suspended": True}})
        wait_for(lambda: len(posts("/suspend")) >= 3, timeout=60, what="three refused suspensions")
        env.objects.patch("replicas", volume, {"spec": {"suspended": False}})  # nothing left to do
        env.objects.wait_status("replicas", volume, lambda s: s.get("observedGeneration") == 3)
        hold = {"latency_ms": 3000, "drop_rate": 1.0, "methods": ["POST"], "phase": "before"}
        env.arrays.admin("PUT", "/_sim/faults", {**hold, "path_regex": f"{here}/switch_role$"})
        env.objects.patch("replicas", volume, {"spec": {"action": {"id": "lost-2", "type": "SwitchRole"}}})
        wait_for(lambda: posts("/switch_role"), timeout=30, what="the switch, held and then lost")
        env.arrays.call("ibox-1", "POST", f"/replicas/{replica_id}/suspend")  # by hand: a Resume is planned
        lost = env.objects.wait_status(
            "replicas",
            volume,
            lambda s: "was lost; waiting" in (s.get("lastAction") or {}).get("message", ""),
        )
        attempted = lost["lastAction"]["attemptedAt"]
        since = int(env.arrays.requests()[-1]["seq"])
        wait_for(
            lambda: len([r for r in env.arrays.requests(since) if r["path"] == "/api/rest/replicas"]) >= 10,
            timeout=30,
            what="several polls while the object backs off",
        )
        status = (env.objects.get("replicas", volume) or {}).get("status") or {}
        assert status["lastAction"]["attemptedAt"] == attempted, status["lastAction"]
        assert (env.arrays.replica("ibox-1", replica_id) or {}).get("role") == "SOURCE"  # not switched
    finally:
        env.arrays.admin("DELETE", "/_sim/faults")
