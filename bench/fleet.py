"""fleet: thousands of Replicas over four array pairs, one operator, the realistic latency profile.

For each N in ``BENCH_FLEET_SIZES`` (default ``1000,2000,5000``) a fresh world of 8 simulated
arrays (``ibox-1`` .. ``ibox-8``, one simulator process; pairs 1->2, 3->4, 5->6, 7->8, N/4
Replicas each) and one operator. The volumes are created at full speed, then the simulator
switches to ``BENCH_LATENCY`` (default ``realistic`` here: 20 ms reads, 150 ms creates, 8
initializations at a time per array; initial sync 0.5 s, so one array's queue of N/4
initializations takes at least N/64 s).

1. **Creation**: the N Replicas are applied with ``BENCH_FLEET_APPLIERS`` (4) concurrent
   ``kubectl apply --server-side`` (a quarter each), and the bench waits (one watch) until all are
   Ready=True. Figures: seconds to all Ready (from the start of the apply and from its end),
   peak RSS, Kubernetes writes and watch events per object, CPU.
2. **Steady state**: after 2 more poll intervals, ``BENCH_FLEET_INTERVALS`` (6) poll intervals of
   5 s: listings and other array requests per array per interval, Kubernetes writes, operator
   CPU (cores) and RSS at rest.
3. **Churn** (largest N only): ``BENCH_FLEET_CHURN`` (500) more Replicas created until Ready and
   deleted until gone, twice; the operator's RSS and its per-object stores
   (``replica_operator_remembered_objects``) and lag series before and after.

``per_object_rss_kib`` compares the RSS at rest between the smallest and the largest N.
"""

from __future__ import annotations

import functools
import os
import re
import threading
import time
from typing import Any

import psutil
from tests.support.kube import writes_between

from bench._world import (
    BenchError,
    ProcessSampler,
    ReplicaWatch,
    RequestLog,
    World,
    apiserver_requests,
    breakdown,
    create_volumes,
    endpoint_of,
    env_float,
    env_sizes,
    metric_sum,
    multi_document,
    operator_world,
    replica_manifest,
    replica_writes,
    set_latency,
    without_apiserver_own,
)

NAME = "fleet"
SIZES = (1000, 2000, 5000)
PAIRS = 4
POLL_INTERVAL = "5s"
POLL_SECONDS = 5.0
INITIAL_SYNC_SECONDS = 0.5
SETTLE_INTERVALS = 2
READY_GOAL_SECONDS = 300.0


def _pair(index: int) -> tuple[str, str]:
    pair = index % PAIRS
    return f"ibox-{2 * pair + 1}", f"ibox-{2 * pair + 2}"


def _create_volumes(world: World, names: list[str]) -> None:
    by_source: dict[str, list[str]] = {}
    for index, name in enumerate(names):
        by_source.setdefault(_pair(index)[0], []).append(name)
    for source, volumes in by_source.items():
        create_volumes(world.sim.url(source), volumes, workers=8)


def _manifests(names: list[str]) -> list[dict[str, Any]]:
    manifests = []
    for index, name in enumerate(names):
        source, target = _pair(index)
        manifests.append(replica_manifest(name, name, source=source, target=target))
    return manifests


def _apply(world: World, manifests: list[dict[str, Any]], appliers: int) -> None:
    """``appliers`` concurrent server-side applies, one share of the manifests each."""
    errors: list[BaseException] = []

    def apply(share: list[dict[str, Any]]) -> None:
        try:
            world.kubectl("apply", "--server-side", "-f", "-", input=multi_document(share), timeout=900)
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=apply, args=(manifests[i::appliers],)) for i in range(appliers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise BenchError(f"kubectl apply failed: {errors[0]}")


def _delete(world: World, names: list[str]) -> None:
    world.kubectl("-n", world.namespace, "delete", "replicas", "--wait=false", *names, timeout=900)


def _stores(world: World) -> dict[str, float]:
    samples = world.operator.metrics()
    stores = {
        labels["store"]: value for labels, value in samples.get("replica_operator_remembered_objects", [])
    }
    stores["lag-series"] = float(len(samples.get("replica_operator_replica_lag_seconds", [])))
    return stores


def _creation(world: World, names: list[str], log: RequestLog, watch: ReplicaWatch) -> dict[str, Any]:
    appliers = int(env_float("BENCH_FLEET_APPLIERS", 4))
    manifests = _manifests(names)
    sampler = ProcessSampler(world.operator.pid).start()
    kube_before = apiserver_requests(world.control_plane)
    first = log.mark()
    started = time.monotonic()
    try:
        _apply(world, manifests, appliers)
        applied = time.monotonic()
        watch.wait_ready(names, timeout=env_float("BENCH_READY_TIMEOUT", 600.0 + 0.1 * len(names)))
        all_ready = max(watch.first_ready[name] for name in names)
        time.sleep(2.0)  # the Ready Events trail the status patches
        kube_after = apiserver_requests(world.control_plane)
        last = log.mark()
    finally:
        process = sampler.stop()
    count = len(names)
    phase = log.entries[first:last]
    creates = [e for e in phase if e["method"] == "POST" and e["path"] == "/api/rest/replicas"]
    if len(creates) != count:
        raise BenchError(f"{len(creates)} replicas created on the arrays, expected {count}")
    writes = without_apiserver_own(writes_between(kube_before, kube_after))
    writes["APPLY replicas"] = writes.get("APPLY replicas", 0) - count  # the applies themselves
    writes = {key: value for key, value in writes.items() if value > 0}
    events = watch.counts()
    return {
        "appliers": appliers,
        "seconds_to_all_ready": round(all_ready - started, 1),
        "kubectl_apply_seconds": round(applied - started, 1),
        "seconds_from_apply_end_to_all_ready": round(all_ready - applied, 1),
        "all_ready_within_goal": all_ready - started <= READY_GOAL_SECONDS,
        "array_requests_per_object": round((last - first) / count, 2),
        "replica_writes_per_object": round(replica_writes(writes) / count, 2),
        "kube_writes_by_kind": writes,
        "watch_events_per_object": round((events.get("ADDED", 0) + events.get("MODIFIED", 0)) / count, 2),
        **process,
    }


_FIRST_PAGE = re.compile(r"(^|&)page=1(&|$)")


def _first_page_of_listing(entry: dict[str, Any]) -> bool:
    """A listing of all replicas starts with page 1 (1,000 per page: 1,250 replicas are 2 pages)."""
    query = str(entry.get("query") or "")
    return endpoint_of(entry) == "GET /replicas (list)" and (
        "page=" not in query or bool(_FIRST_PAGE.search(query))
    )


def _steady(world: World, log: RequestLog, watch: ReplicaWatch, intervals: int) -> dict[str, Any]:
    time.sleep(SETTLE_INTERVALS * POLL_SECONDS)
    sampler = ProcessSampler(world.operator.pid).start()
    events_before, kube_before, first = watch.counts(), apiserver_requests(world.control_plane), log.mark()
    started = time.monotonic()
    time.sleep(intervals * POLL_SECONDS)
    last, window = log.mark(), time.monotonic() - started
    kube_after, events_after = apiserver_requests(world.control_plane), watch.counts()
    process = sampler.stop()
    per_interval = window / POLL_SECONDS
    phase = log.entries[first:last]
    lists, pages, others = {}, {}, {}
    for index in range(1, 2 * PAIRS + 1):
        system = f"ibox-{index}"
        endpoints = breakdown(phase, [system])
        listed = sum(v for k, v in endpoints.items() if k.startswith("GET /replicas (list)"))
        firsts = sum(1 for e in phase if e["system"] == system and _first_page_of_listing(e))
        lists[system] = round(firsts / per_interval, 2)
        pages[system] = round(listed / per_interval, 2)
        others[system] = round((sum(endpoints.values()) - listed) / per_interval, 2)
    writes = without_apiserver_own(writes_between(kube_before, kube_after))
    return {
        "window_seconds": round(window, 1),
        "ibox_1_requests_by_endpoint": breakdown(phase, ["ibox-1"]),
        "listings_per_array_per_interval": lists,
        "list_pages_per_array_per_interval": pages,
        "other_array_requests_per_array_per_interval": others,
        "kube_writes": writes,
        "replica_watch_events": {k: events_after.get(k, 0) - events_before.get(k, 0) for k in events_after},
        "operator_cores": process["cpu_cores_busy"].get("operator"),
        "operator_rss_at_rest_mib": process["operator_last_rss_mib"],
        "machine_cores_busy": process["machine_cores_busy"],
        "load_average": [round(value, 2) for value in os.getloadavg()],
    }


def _churn(world: World, watch: ReplicaWatch, count: int, rounds: int = 2) -> dict[str, Any]:
    before = {"rss_mib": _rss(world), "stores": _stores(world)}
    for round_ in range(rounds):
        names = [f"churn-{round_}-{n:04d}" for n in range(count)]
        _create_volumes(world, names)
        _apply(world, _manifests(names), 2)
        watch.wait_ready(names, timeout=300 + 0.2 * count)
        _delete(world, names)
        watch.wait(functools.partial(_all_gone, set(names)), timeout=300 + 0.2 * count, what="churn deleted")
    time.sleep(SETTLE_INTERVALS * POLL_SECONDS)
    return {
        "objects_per_round": count,
        "rounds": rounds,
        "before": before,
        "after": {"rss_mib": _rss(world), "stores": _stores(world)},
    }


def _all_gone(names: set[str], watch: ReplicaWatch) -> bool:
    return not names & set(watch.statuses)


def _rss(world: World) -> float:
    return round(psutil.Process(world.operator.pid).memory_info().rss / 2**20, 1)


def measure(count: int, *, churn: int) -> dict[str, Any]:
    latency = os.environ.get("BENCH_LATENCY", "").strip() or "realistic"
    intervals = int(env_float("BENCH_FLEET_INTERVALS", 6))
    with operator_world(
        poll_interval=POLL_INTERVAL, initial_sync_seconds=INITIAL_SYNC_SECONDS, systems=2 * PAIRS
    ) as world:
        names = [f"f-{n:05d}" for n in range(count)]
        _create_volumes(world, names)
        latency_ms = set_latency(world.sim, latency)
        log = RequestLog(world.sim).start()
        watch = ReplicaWatch(world.kubeconfig).start()
        try:
            figures: dict[str, Any] = {
                "replicas": count,
                "arrays": 2 * PAIRS,
                "latency_profile": latency,
                "latency_ms": latency_ms,
                "initial_sync_seconds": INITIAL_SYNC_SECONDS,
                "load_average_before": [round(value, 2) for value in os.getloadavg()],
                "creation": _creation(world, names, log, watch),
                "steady_state": _steady(world, log, watch, intervals),
            }
            if churn:
                figures["churn"] = _churn(world, watch, churn)
            stores = _stores(world)
            figures["stores"] = stores
            figures["polls"] = int(metric_sum(world.operator.metrics(), "infinibox_polls_total"))
        finally:
            watch.stop()
            log.stop()
    return figures


def run() -> dict[str, Any]:
    sizes = env_sizes("BENCH_FLEET_SIZES", SIZES)
    churn = int(env_float("BENCH_FLEET_CHURN", 500))
    runs = [measure(count, churn=churn if count == max(sizes) else 0) for count in sizes]
    rest = {run["replicas"]: run["steady_state"]["operator_rss_at_rest_mib"] for run in runs}
    smallest, largest = min(rest), max(rest)
    growth = (rest[largest] - rest[smallest]) * 1024
    per_object = round(growth / (largest - smallest), 1) if largest > smallest else None
    return {"runs": runs, "rss_at_rest_mib": rest, "per_object_rss_kib": per_object}
