"""Issue 14 item 6: deleted while the operator was down, right after the array created the replica.

The array's answer to the create is held back (simulator fault, phase ``after``: the array has
acted, the client has not heard), the operator is SIGKILLed before it can write the id to
status, the object is deleted meanwhile. After the restart both sides are gone.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from replica_operator.reconcile import owner_mark
from tests.integration.operator.conftest import Env, condition_of, is_true
from tests.support.operator import OperatorProcess
from tests.support.wait import wait_for

HOLD_MS = 20_000  # far longer than it takes to see the replica on the array and kill the operator
HOLD_CREATE = {
    "latency_ms": HOLD_MS,
    "systems": ["ibox-1"],
    "path_regex": "^/api/rest/replicas$",
    "methods": ["POST"],
    "phase": "after",
}


@pytest.fixture(autouse=True)
def held_create_answered(env: Env) -> Iterator[None]:
    """Each test leaves its held-back create inside the simulator; wait until it is answered. The
    log numbers a request when it is answered, so otherwise it lands in the next test's window."""
    log = env.arrays.requests()
    before = int(log[-1]["seq"]) if log else 0
    yield
    wait_for(
        lambda: any(_held_create(entry) for entry in env.arrays.requests(before)),
        timeout=HOLD_MS / 1000 + 30,
        what="the held-back create answered",
    )


def _held_create(entry: dict[str, Any]) -> bool:
    return bool(
        entry["system"] == "ibox-1"
        and entry["method"] == "POST"
        and entry["path"] == "/api/rest/replicas"
        and entry["duration_ms"] >= HOLD_MS
    )


def _ready(status: dict[str, Any]) -> bool:
    return is_true(status, "Ready") and status.get("syncState") == "SYNCHRONIZED"


def _created_then_killed(
    env: Env, operator: OperatorProcess, volume: str, **spec: Any
) -> tuple[str, dict[str, Any]]:
    """Create the Replica, hold back the array's answer to the create, SIGKILL the operator before
    it can write the id to status: the object's mark and the source replica the array made."""
    env.arrays.volume("ibox-1", volume)
    env.arrays.admin("PUT", "/_sim/faults", HOLD_CREATE)
    try:
        env.replica(volume, volume=volume, **spec)
        uid = wait_for(lambda: ((env.objects.get("replicas", volume) or {}).get("metadata") or {}).get("uid"))
        mark = owner_mark(str(uid), env.namespace, volume)
        made = wait_for(lambda: env.arrays.replicas("ibox-1", description=mark), timeout=30, what="created")
        operator.kill()
    finally:
        env.arrays.admin("DELETE", "/_sim/faults")
    assert "replicaId" not in ((env.objects.get("replicas", volume) or {}).get("status") or {})
    return mark, made[0]


def test_deletion_after_a_crash_removes_the_marked_replicas_on_both_arrays(
    env: Env, operator: OperatorProcess
) -> None:
    volume = env.name("vol")
    mark, made = _created_then_killed(env, operator, volume)
    source_id, target_id = made["id"], made["remote_replica_id"]
    assert env.arrays.replicas("ibox-2", description=mark) != []  # the peer was made too
    env.objects.delete("replicas", volume)
    operator.start()
    env.objects.wait_gone("replicas", volume, timeout=60)
    assert env.arrays.replicas("ibox-1", description=mark) == []
    assert env.arrays.replicas("ibox-2", description=mark) == []
    assert env.arrays.replica("ibox-1", source_id) is None
    assert env.arrays.replica("ibox-2", target_id) is None
    events = env.objects.cluster.kubectl_json("-n", env.namespace, "get", "events")["items"]
    deleted = [e["message"] for e in events if e.get("reason") == "Deleted"]
    assert any(str(source_id) in message for message in deleted)
    again = env.name("again")
    # No Conflict with a leftover of the dead object (the old target volume stays: a new name).
    env.replica(again, volume=volume, target={"name": again})
    env.objects.wait_status("replicas", again, _ready)


def test_an_orphan_deleted_after_a_crash_names_the_marked_replica_it_leaves(
    env: Env, operator: OperatorProcess
) -> None:
    """As above, but with deletionPolicy Orphan: status names no replica, the marked pair stays, and
    the Orphaned Event must still say which (it said nothing: a leak nobody heard of)."""
    volume = env.name("vol")
    _, made = _created_then_killed(env, operator, volume, deletionPolicy="Orphan")
    env.objects.delete("replicas", volume)
    operator.start()
    env.objects.wait_gone("replicas", volume, timeout=60)
    assert env.arrays.replica("ibox-1", made["id"]) is not None  # left, as the policy says
    events = env.objects.cluster.kubectl_json("-n", env.namespace, "get", "events")["items"]
    orphaned = [e["message"] for e in events if e.get("reason") == "Orphaned"]
    assert any(f"replica {made['id']} (source array {env.source})" in m for m in orphaned), orphaned


def test_a_deletion_after_a_crash_waits_while_the_source_array_cannot_be_searched(
    env: Env, operator: OperatorProcess
) -> None:
    """As the first test, but ibox-1 answers nothing when the operator comes back: the mark finds
    only the TARGET on ibox-2. Deleting it alone would leave the SOURCE on ibox-1, marked by an
    object that is gone; the deletion waits (DeletionBlocked) and finishes once ibox-1 answers."""
    volume = env.name("vol")
    mark, made = _created_then_killed(env, operator, volume)
    env.arrays.admin("PUT", "/_sim/faults", {"drop_rate": 1.0, "systems": ["ibox-1"]})
    try:
        env.objects.delete("replicas", volume)
        operator.start()
        env.objects.wait_status(
            "replicas",
            volume,
            lambda s: condition_of(s, "Synced").get("reason") == "DeletionBlocked",
            timeout=60,
        )
        assert env.arrays.replicas("ibox-2", description=mark) != []  # not deleted alone
    finally:
        env.arrays.admin("DELETE", "/_sim/faults")
    env.objects.wait_gone("replicas", volume, timeout=60)
    assert env.arrays.replica("ibox-1", made["id"]) is None
    assert env.arrays.replicas("ibox-2", description=mark) == []
