"""Issue 14 item 4: a poll that captured an object's body before a change never undoes the change.

The poll of an array captures the bodies of the objects that use it, then fans out under the
operator's limit of parallel passes. Here 64 objects of another array keep that limit busy
(their volume look-ups are slowed down on their simulator), so the poll of our object's array
waits with the body it captured, while the user's edit is carried out by the event pass.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import kubernetes
import urllib3

from ibox_sim.testing import RunningSimulator
from replica_operator.api import GROUP, VERSION
from tests.integration.operator.conftest import Env, EnvFactory, is_true
from tests.support.wait import wait_for

BLOCKERS = 64  # the operator's MAX_PARALLEL_PASSES
LOOKUP_LATENCY_MS = 4_000


class StatusWatch:
    """Every observedGeneration the API server shows for one object, from a real watch."""

    def __init__(self, env: Env, name: str) -> None:
        self.generations: list[int] = []
        self._watch = kubernetes.watch.Watch()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(env, name), daemon=True)
        self._thread.start()

    def _run(self, env: Env, name: str) -> None:
        stream = self._watch.stream(
            env.objects.api.list_namespaced_custom_object,
            GROUP,
            VERSION,
            env.namespace,
            "replicas",
            field_selector=f"metadata.name={name}",
            timeout_seconds=120,
        )
        try:
            for event in stream:
                generation = (event["object"].get("status") or {}).get("observedGeneration")
                if generation is not None:
                    self.generations.append(int(generation))
        except urllib3.exceptions.ProtocolError:
            if not self._stopping.is_set():
                raise

    def stop(self) -> list[int]:
        self._stopping.set()
        self._watch.stop()
        self._thread.join(timeout=10)
        return self.generations


def _blockers(env: Env) -> None:
    """Objects whose source volume does not exist: every poll of their array looks it up again."""
    for number in range(BLOCKERS):
        name = env.name(f"blocker-{number}")
        env.objects.api.create_namespaced_custom_object(
            GROUP,
            VERSION,
            env.namespace,
            "replicas",
            {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "Replica",
                "metadata": {"name": name},
                "spec": {
                    "source": {"array": env.source, "volume": name},
                    "target": {"array": env.target, "pool": "pool-1"},
                    "deletionPolicy": "Orphan",
                },
            },
        )


def _listings(env: Env, since: int, system: str = "ibox-1") -> int:
    return sum(
        1
        for r in env.arrays.requests(since)
        if r["system"] == system and r["method"] == "GET" and r["path"] == "/api/rest/replicas"
    )


def _edit_right_after_a_listing(env: Env, name: str, spec: dict[str, Any]) -> None:
    """Patch the spec as soon as the source array was listed (its poll now holds the older body)."""
    mark = int(env.arrays.requests()[-1]["seq"])
    wait_for(lambda: _listings(env, mark) >= 1, timeout=30, interval=0.05, what="a listing of the source")
    env.objects.patch("replicas", name, {"spec": spec})


def _calls(env: Env, replica_id: int, action: str) -> int:
    path = f"/api/rest/replicas/{replica_id}/{action}"
    return sum(1 for r in env.arrays.requests() if r["method"] == "POST" and r["path"] == path)


def test_a_poll_that_captured_the_older_body_does_not_undo_suspend_or_resume(
    make_env: EnvFactory, private_simulator: Callable[..., RunningSimulator]
) -> None:
    env = make_env(private_simulator(initial_sync_seconds=0.5))
    busy = make_env(private_simulator(initial_sync_seconds=0.5))
    busy.infinibox(busy.source, "ibox-1", maxConcurrentRequests=64)
    volume = env.name("vol")
    env.arrays.volume("ibox-1", volume)
    env.replica(volume, volume=volume)
    replica_id = env.objects.wait_status("replicas", volume, lambda s: is_true(s, "Ready"))["replicaId"]

    slow = {"latency_ms": LOOKUP_LATENCY_MS, "methods": ["GET"], "path_regex": "^/api/rest/volumes"}
    busy.arrays.admin("PUT", "/_sim/faults", slow)
    watch = StatusWatch(env, volume)
    try:
        _blockers(busy)
        wait_for(
            lambda: (
                sum(1 for r in busy.arrays.requests() if r["path"] == "/api/rest/volumes") >= 2 * BLOCKERS
            ),
            timeout=60,
            what="the other array's objects to keep the passes busy",
        )
        for suspended, state in ((True, "SUSPENDED"), (False, "ACTIVE")):
            _edit_right_after_a_listing(env, volume, {"suspended": suspended})
            env.objects.wait_status("replicas", volume, lambda s, state=state: s.get("state") == state)
            mark = int(env.arrays.requests()[-1]["seq"])
            wait_for(lambda m=mark: _listings(env, m) >= 3, timeout=60, what="three more polls of the source")
            assert env.arrays.replica("ibox-1", replica_id)["state"] == state  # type: ignore[index]
    finally:
        busy.arrays.admin("DELETE", "/_sim/faults")
        generations = watch.stop()

    assert (_calls(env, replica_id, "suspend"), _calls(env, replica_id, "resume")) == (1, 1)
    events = env.objects.cluster.kubectl_json("-n", env.namespace, "get", "events")["items"]
    corrected = [
        e for e in events if e["involvedObject"]["name"] == volume and e["reason"] == "DriftCorrected"
    ]
    assert corrected == []
    assert generations == sorted(generations), generations
    assert generations[-1] == 3
