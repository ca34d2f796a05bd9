"""Issues 8 and 20: the fault suite. The operator is killed where it hurts (after the array acted,
before status says so: creates, type changes, role switches, deletions), the arrays fail, the API
server restarts and the link drops. Each fault is set before the work it should hit, and each
test shows from the simulator's log that it did hit; afterwards status equals the arrays, one
replica per entity, one array call per change, no object lost."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import kubernetes
import pytest
import urllib3

from replica_operator.leadership import LOST_EXIT_CODE
from tests.e2e.faults.world import World, condition, held
from tests.support.kube import Cluster
from tests.support.operator import OperatorProcess
from tests.support.wait import wait_for

KILLED = 30  # the objects the kill scenarios work on, in file order: create, type, role, delete


@pytest.fixture(scope="module")
def killed(world: World) -> list[str]:
    return world.volumes("kill", KILLED)


def _status(items: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    return dict((items.get(name) or {}).get("status") or {})


def test_a_operator_killed_twice_while_creates_are_answered_late(world: World, killed: list[str]) -> None:
    world.arrays.admin("PUT", "/_sim/faults", held("^/api/rest/replicas$", ["POST"]))
    world.apply(killed)
    caught: list[str] = []

    def unrecorded() -> list[str]:
        """Created on the array, no replicaId in status, and not already caught by a kill."""
        on_array = {r["local_entity_id"] for r in world.arrays.replicas("ibox-1")}
        items = world.listed()
        return [
            n
            for n in killed
            if world.entity_ids[n] in on_array and "replicaId" not in _status(items, n) and n not in caught
        ]

    for _ in range(2):
        now = world.kill_in_window(unrecorded)
        caught += now
        world.operator.start()
        # Each one the kill caught is adopted by the new process, with an Event, before the next kill
        # (a kill right after an adoption's status write could take its Event along).
        wait_for(
            lambda now=now: not set(now) - world.events("Adopted"),  # type: ignore[misc]
            timeout=60,
            interval=0.5,
            what=f"Adopted Events for {now}",
        )
    world.arrays.admin("DELETE", "/_sim/faults")
    world.converged(killed)
    world.assert_created_once(killed)  # adopted after each restart, never created again


def _once_per_replica(world: World, since: int, method: str, path_regex: str, count: int) -> None:
    calls = Counter(r["path"] for r in world.requests(since, method, path_regex))
    assert len(calls) == count, f"{method} {path_regex}: {calls}"
    assert set(calls.values()) == {1}, f"{method} {path_regex}: {calls}"


def test_b_operator_killed_while_type_changes_are_answered_late(world: World, killed: list[str]) -> None:
    mark = world.mark()
    world.arrays.admin("PUT", "/_sim/faults", held("/change_type_to_sync$", ["POST"]))
    world.apply(killed, replicationType="SYNC")

    def unrecorded() -> list[str]:
        sync = {
            r["local_entity_id"] for r in world.arrays.replicas("ibox-1") if r["replication_type"] == "SYNC"
        }
        items = world.listed()
        return [
            n
            for n in killed
            if world.entity_ids[n] in sync and _status(items, n).get("replicationType") != "SYNC"
        ]

    world.kill_in_window(unrecorded)
    world.operator.start()
    world.arrays.admin("DELETE", "/_sim/faults")
    items = world.converged(killed)
    assert {_status(items, n)["replicationType"] for n in killed} == {"SYNC"}
    _once_per_replica(world, mark, "POST", "/change_type_to_sync$", KILLED)


def test_c_operator_killed_while_role_switches_are_answered_late(world: World, killed: list[str]) -> None:
    mark = world.mark()
    world.arrays.admin("PUT", "/_sim/faults", held("/switch_role$", ["POST"]))
    world.apply(killed, replicationType="SYNC", action={"id": "switch-1", "type": "SwitchRole"})

    def unrecorded() -> list[str]:
        switched = {r["local_entity_id"] for r in world.arrays.replicas("ibox-1") if r["role"] == "TARGET"}
        items = world.listed()
        return [
            n for n in killed if world.entity_ids[n] in switched and _status(items, n).get("role") != "TARGET"
        ]

    world.kill_in_window(unrecorded)
    world.operator.start()
    world.arrays.admin("DELETE", "/_sim/faults")

    def switched(status: dict[str, Any]) -> bool:
        last = status.get("lastAction") or {}
        return status.get("role") == "TARGET" and (last.get("id"), last.get("result")) == (
            "switch-1",
            "Succeeded",
        )

    items = world.converged(killed, ready=lambda s: switched(s) and s.get("syncState") == "SYNCHRONIZED")
    assert {_status(items, n)["currentSource"]["array"] for n in killed} == {world.target}
    # Exactly once per replica. (The simulator logs a request when it answers it: the calls a
    # kill caught are logged HOLD_MS late, so World reads the log when nothing is in flight.)
    _once_per_replica(world, mark, "POST", "/switch_role$", KILLED)


def test_d_operator_killed_while_deletions_are_answered_late(world: World, killed: list[str]) -> None:
    items = world.listed()
    pairs = {n: (_status(items, n)["replicaId"], _status(items, n)["remoteReplicaId"]) for n in killed}
    targets = {n: world.arrays.replica("ibox-2", pair[1]) for n, pair in pairs.items()}
    mark = world.mark()
    world.arrays.admin("PUT", "/_sim/faults", held(r"^/api/rest/replicas/\d+$", ["DELETE"]))
    world.cluster.kubectl("-n", world.namespace, "delete", "replicas", *killed, "--wait=false")

    def unrecorded() -> list[str]:
        left = {r["id"] for r in world.arrays.replicas("ibox-1")}
        return [n for n in world.listed() if n in pairs and pairs[n][0] not in left]

    caught = world.kill_in_window(unrecorded)
    world.operator.start()
    world.arrays.admin("DELETE", "/_sim/faults")
    wait_for(lambda: not set(killed) & set(world.listed()), timeout=90, interval=1.0, what="all deleted")
    # Exactly one DELETE for each pair the kill caught mid-call (deleted, answer not yet back); the
    # others had theirs in flight or not yet sent (a request the dead process had sent may reach the
    # array after the new one read the replica, so two are possible there, never none).
    logged = world.requests(mark, "DELETE", r"^/api/rest/replicas/\d+$")
    deletes = Counter(r["path"].rsplit("/", 1)[1] for r in logged)
    removed = Counter(r["path"].rsplit("/", 1)[1] for r in logged if r["status"] == 200)
    per_pair = {n: deletes[str(a)] + deletes[str(b)] for n, (a, b) in pairs.items()}
    assert {per_pair[n] for n in caught} == {1}, f"DELETE calls per replica pair: {per_pair}"
    # Each pair was removed by exactly one DELETE; a second one (see above) found it gone (404).
    removals = {n: removed[str(a)] + removed[str(b)] for n, (a, b) in pairs.items()}
    assert set(removals.values()) == {1}, f"DELETEs that removed something, per pair: {removals}"
    assert min(per_pair.values()) >= 1, per_pair
    for name, (source_id, target_id) in pairs.items():
        assert world.arrays.replica("ibox-1", source_id) is None
        assert world.arrays.replica("ibox-2", target_id) is None
        target = targets[name]
        assert target is not None
        # The data stays on both arrays.
        assert world.arrays.call("ibox-1", "GET", f"/volumes/{world.entity_ids[name]}")["name"] == name
        assert world.arrays.call("ibox-2", "GET", f"/volumes/{target['local_entity_id']}")["name"] == name


def _failed(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in requests if r["status"] == 0 or r["status"] >= 500]


def test_e_errors_and_dropped_connections_on_the_arrays(world: World, fleet: list[str]) -> None:
    late = world.volumes("late", 20)
    mark = world.mark()
    world.arrays.admin("PUT", "/_sim/faults", {"error_rate": 0.2, "drop_rate": 0.2})
    world.apply(fleet, rpo="10m", syncInterval="1m")  # a change for all 100 while the arrays fail
    wait_for(
        lambda: len(world.arrays.replicas("ibox-1", rpo_value=600_000)) == len(fleet),
        timeout=120,
        interval=1.0,
        what="the change applied under faults",
    )
    failed_puts = _failed(world.requests(mark, "PUT", r"^/api/rest/replicas/\d+$"))
    assert failed_puts, "no PUT was hit by the faults"
    # The worst case for creation: the array acts, then the answer is lost or replaced by a 5xx.
    mark = world.mark()
    lost_answers = {"error_rate": 0.3, "drop_rate": 0.3, "phase": "after"}
    world.arrays.admin(
        "PUT", "/_sim/faults", {**lost_answers, "methods": ["POST"], "path_regex": "^/api/rest/replicas$"}
    )
    world.apply(late)
    wait_for(
        lambda: (
            {world.entity_ids[n] for n in late}
            <= {r["local_entity_id"] for r in world.arrays.replicas("ibox-1")}
        ),
        timeout=120,
        interval=1.0,
        what="the 20 created under lost answers",
    )
    lost = _failed(world.requests(mark, "POST", "^/api/rest/replicas$"))
    world.arrays.admin("DELETE", "/_sim/faults")
    assert lost, "no create lost its answer"
    items = world.converged(fleet + late)
    world.assert_created_once(late)  # a lost answer is adopted, never sent again
    assert {items[n]["status"]["rpo"] for n in fleet} == {"10m"}
    assert "ArrayUnreachable" in _reasons(world)  # the failures were reported


def _reasons(world: World) -> set[str]:
    events = world.cluster.kubectl_json("-n", world.namespace, "get", "events")["items"]
    return {event["reason"] for event in events}


def _restart_if_it_lost_the_lease(cluster: Cluster, operator: OperatorProcess, back: float) -> None:
    """Do what the kubelet does: a leader that could not renew its Lease within the renew deadline
    (the API server was away longer) exits non-zero and is started again. Wait until it has either
    renewed since the API server came ``back`` or exited."""
    leases = kubernetes.client.CoordinationV1Api(cluster.api_client())

    def settled() -> str | None:
        assert operator.process is not None
        if operator.process.poll() is not None:
            return "exited"
        try:
            lease = leases.read_namespaced_lease(operator.lease_name, "default")
        except (kubernetes.client.ApiException, urllib3.exceptions.HTTPError):
            return None
        renewed = lease.spec.renew_time if lease.spec is not None else None
        return "renewed" if renewed is not None and renewed.timestamp() > back else None

    if (
        wait_for(settled, timeout=60, interval=0.2, what="the operator renewed its Lease or exited")
        == "exited"
    ):
        assert operator.process is not None
        assert operator.process.returncode == LOST_EXIT_CODE, operator.log()[-4000:]
        operator.process = None
        operator.start()


def test_f_kube_apiserver_restart_then_new_work_reaches_the_arrays(
    world: World, fleet: list[str], cluster: Cluster
) -> None:
    if cluster.control_plane is None:
        pytest.skip("USE_EXISTING_CLUSTER: the tests cannot restart someone else's API server")
    cluster.control_plane.stop_apiserver()
    # While the API server is away the arrays change: the operator must notice.
    suspended = [
        r["id"]
        for r in world.arrays.replicas("ibox-1")
        if r["local_entity_id"] in {world.entity_ids[n] for n in fleet}
    ][:10]
    for replica_id in suspended:
        world.arrays.call("ibox-1", "POST", f"/replicas/{replica_id}/suspend")
    cluster.control_plane.start_apiserver()
    _restart_if_it_lost_the_lease(cluster, world.operator, time.time())
    # Watch recovery: a spec change and a new object made AFTER the restart both reach the arrays.
    new = world.volumes("after", 1)
    world.apply(fleet, rpo="15m", syncInterval="1m")
    world.apply(new)
    wait_for(
        lambda: len(world.arrays.replicas("ibox-1", rpo_value=900_000)) == len(fleet),
        timeout=120,
        interval=1.0,
        what="the spec change made after the restart applied on the array",
    )
    items = world.converged(fleet + new)
    assert {items[n]["status"]["rpo"] for n in fleet} == {"15m"}
    assert {world.arrays.replica("ibox-1", i)["state"] for i in suspended} == {"ACTIVE"}  # type: ignore[index]
    world.assert_created_once(new)


def test_g_link_down_and_up(world: World, fleet: list[str]) -> None:
    world.arrays.admin("PUT", "/_sim/links/ibox-1/to-ibox-2", {"state": "DOWN"})

    def all_suspended() -> dict[str, dict[str, Any]]:
        items = world.listed()
        waiting = [n for n in fleet if condition(items[n], "Ready").get("reason") != "AutoSuspended"]
        assert not waiting, f"{len(waiting)} not yet AutoSuspended"
        return items

    down = wait_for(
        all_suspended, timeout=60, interval=1.0, what="every replica AUTO_SUSPENDED, with a reason"
    )
    assert all("AUTO_SUSPENDED" in condition(down[n], "Ready")["message"] for n in fleet)
    world.arrays.admin("PUT", "/_sim/links/ibox-1/to-ibox-2", {"state": "UP"})
    items = world.converged(fleet)  # status read back from both arrays after the link is up
    assert {items[n]["status"]["state"] for n in fleet} == {"ACTIVE"}
