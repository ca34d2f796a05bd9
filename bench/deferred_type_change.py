"""deferred-type-change: from the end of INITIALIZING to ``change_type_to_sync`` on the array.

A fresh world (``pollInterval`` 5s; the simulator's initial sync is 1 hour, so replicas stay
INITIALIZING until told) gets ``REPEATS`` ASYNC Replicas (default 7). Once each shows
``syncState: INITIALIZING`` its spec is patched to ``replicationType: SYNC``; the operator must
defer the change (``status.pendingReplicationType: SYNC``, Synced=False TypeChangeDeferred,
and the array refuses the type change while initialising).

Then, one replica at a time, after a random pause (so that the moment falls anywhere in
the poll cycle), the bench ends its initialisation with the simulator's admin call
``POST /_sim/replicas/ibox-1/{id}/complete-initialization`` and waits for
``POST /api/rest/replicas/{id}/change_type_to_sync`` (HTTP 200) in the simulator's request
log. Latency = that request's ``started`` (simulator clock) minus the moment the admin call
returned (mapped onto the simulator clock). Also: how long until the object's status shows
SYNC with no pending type (from the watch). Figures: median and max, with the poll interval.

``BENCH_DEFERRED_BACKGROUND`` (default 0) adds that many Ready replicas first, to see the
latency when every poll pass also has to walk many other objects.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from typing import Any

import kubernetes

from bench._world import (
    NAMESPACE,
    SOURCE,
    BenchError,
    ReplicaWatch,
    RequestLog,
    World,
    create_volumes,
    env_float,
    multi_document,
    operator_world,
    replica_manifest,
)
from replica_operator.api import GROUP, VERSION

NAME = "deferred-type-change"
POLL_INTERVAL = "5s"
POLL_SECONDS = 5.0
REPEATS = 7
INITIAL_SYNC_SECONDS = 3600.0


def _status(watch: ReplicaWatch, name: str) -> dict[str, Any]:
    return watch.statuses.get(name) or {}


def _is_sync(name: str) -> Callable[[ReplicaWatch], bool]:
    """The object's status shows SYNC and no pending type any more."""

    def check(watch: ReplicaWatch) -> bool:
        status = _status(watch, name)
        return status.get("replicationType") == "SYNC" and not status.get("pendingReplicationType")

    return check


def _wait_change_on_array(log: RequestLog, replica_id: int, timeout: float) -> dict[str, Any]:
    path = f"/api/rest/replicas/{replica_id}/change_type_to_sync"
    deadline = time.monotonic() + timeout
    while True:
        log.fetch()
        for entry in log.entries:
            if entry["path"] == path and entry["method"] == "POST" and entry["status"] == 200:
                return entry
        if time.monotonic() > deadline:
            raise BenchError(f"no successful change_type_to_sync for replica {replica_id} in {timeout:.0f} s")
        time.sleep(0.05)


def _background(world: World, watch: ReplicaWatch, count: int) -> None:
    """``count`` other replicas, Ready (initialisation ended by the admin API) before the measurement."""
    names = [f"bg-{n:04d}" for n in range(count)]
    create_volumes(world.sim.url(SOURCE), names)
    world.kubectl("apply", "-f", "-", input=multi_document(replica_manifest(n, n) for n in names))
    watch.wait(
        lambda w: all(_status(w, n).get("replicaId") for n in names),
        timeout=120 + 0.6 * count,
        what="background replicas created",
    )
    for name in names:
        world.sim.admin(
            "POST", f"/_sim/replicas/{SOURCE}/{_status(watch, name)['replicaId']}/complete-initialization"
        )
    watch.wait_ready(names, timeout=60 + 0.1 * count)


def run() -> dict[str, Any]:
    repeats = int(env_float("BENCH_DEFERRED_REPEATS", REPEATS))
    background = int(env_float("BENCH_DEFERRED_BACKGROUND", 0))
    rng = random.Random(20261125)
    with operator_world(poll_interval=POLL_INTERVAL, initial_sync_seconds=INITIAL_SYNC_SECONDS) as world:
        log = RequestLog(world.sim).start()
        watch = ReplicaWatch(world.kubeconfig).start()
        try:
            if background:
                _background(world, watch, background)
            names = [f"deferred-{n:02d}" for n in range(repeats)]
            create_volumes(world.sim.url(SOURCE), names)
            world.kubectl("apply", "-f", "-", input=multi_document(replica_manifest(n, n) for n in names))
            watch.wait(
                lambda w: all(_status(w, n).get("syncState") == "INITIALIZING" for n in names),
                timeout=120,
                what="replicas INITIALIZING",
            )
            api = world.custom()
            for name in names:
                api.patch_namespaced_custom_object(
                    GROUP, VERSION, NAMESPACE, "replicas", name, {"spec": {"replicationType": "SYNC"}}
                )
            watch.wait(
                lambda w: all(_status(w, n).get("pendingReplicationType") == "SYNC" for n in names),
                timeout=60,
                what="type changes deferred (status.pendingReplicationType)",
            )
            refused_while_initializing = sum(
                1 for e in log.entries if e["path"].endswith("/change_type_to_sync") and e["status"] == 409
            )
            array_latencies: list[float] = []
            status_latencies: list[float] = []
            for name in names:
                time.sleep(rng.uniform(0.0, POLL_SECONDS))
                replica_id = int(_status(watch, name)["replicaId"])
                before = time.monotonic()
                clock = world.sim.admin("GET", "/_sim/clock")["now"]
                offset = clock - (before + time.monotonic()) / 2  # simulator clock minus ours
                world.sim.admin("POST", f"/_sim/replicas/{SOURCE}/{replica_id}/complete-initialization")
                ended = time.monotonic()
                entry = _wait_change_on_array(log, replica_id, timeout=3 * POLL_SECONDS + 30)
                array_latencies.append(entry["started"] - offset - ended)
                watch.wait(_is_sync(name), timeout=3 * POLL_SECONDS + 30, what=f"{name} status SYNC")
                status_latencies.append(time.monotonic() - ended)
        except kubernetes.client.ApiException as error:
            raise BenchError(f"Kubernetes API: {error.status} {error.reason}") from None
        finally:
            watch.stop()
            log.stop()
    return {
        "poll_interval": POLL_INTERVAL,
        "repeats": repeats,
        "background_replicas": background,
        "type_change_attempts_while_initializing": refused_while_initializing,
        "seconds_to_change_on_array": {
            "median": round(statistics.median(array_latencies), 2),
            "max": round(max(array_latencies), 2),
            "min": round(min(array_latencies), 2),
            "all": [round(value, 2) for value in array_latencies],
        },
        "seconds_to_status_sync": {
            "median": round(statistics.median(status_latencies), 2),
            "max": round(max(status_latencies), 2),
        },
        "within_one_poll_interval": max(array_latencies) <= POLL_SECONDS,
    }
