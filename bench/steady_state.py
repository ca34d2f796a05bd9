"""steady-state: what 1,000 Ready replicas cost per poll interval when nothing changes.

A fresh world (``pollInterval`` 5s, 2 s initial sync) gets ``BENCH_STEADY_REPLICAS``
(default 1,000) ASYNC Replicas (rpo 2m, syncInterval 20s, so that every replica runs
periodic jobs during the window: SYNC_IN_PROGRESS for 1 s, then ``last_synchronized`` moves
forward, which is not a transition and must not be written). Once all are Ready=True the
bench lets ``SETTLE_INTERVALS`` poll intervals pass, then measures over ``INTERVALS`` poll
intervals (default 12, i.e. 60 s):

* array requests per poll interval, per array, by endpoint (list vs per-object GETs), from
  the simulator's request log;
* Kubernetes writes in the window (``apiserver_request_total`` write verbs, any resource,
  and the bench's own watch on the Replicas: MODIFIED events);
* the operator's CPU (share of one core), RSS, polls and reconciles per interval and the mean
  time of one poll pass, from psutil and the operator's ``/metrics``.
"""

from __future__ import annotations

import time
from typing import Any

from tests.support.kube import writes_between

from bench._world import (
    SOURCE,
    TARGET,
    BenchError,
    ProcessSampler,
    ReplicaWatch,
    RequestLog,
    World,
    apiserver_requests,
    breakdown,
    create_volumes,
    env_float,
    histogram_mean,
    metric_sum,
    multi_document,
    operator_world,
    replica_manifest,
    without_apiserver_own,
)

NAME = "steady-state"
POLL_INTERVAL = "5s"
POLL_SECONDS = 5.0
SETTLE_INTERVALS = 2
SCHEDULE = {"rpo": "2m", "syncInterval": "20s"}


def _ready(world: World, watch: ReplicaWatch, count: int) -> float:
    names = [f"steady-{n:04d}" for n in range(count)]
    create_volumes(world.sim.url(SOURCE), names)
    started = time.monotonic()
    world.kubectl("apply", "-f", "-", input=multi_document(replica_manifest(n, n, **SCHEDULE) for n in names))
    watch.wait_ready(names, timeout=env_float("BENCH_READY_TIMEOUT", 120.0 + 0.6 * count))
    return max(watch.first_ready.values()) - started


def run() -> dict[str, Any]:
    count = int(env_float("BENCH_STEADY_REPLICAS", 1000))
    intervals = int(env_float("BENCH_STEADY_INTERVALS", 12))
    with operator_world(poll_interval=POLL_INTERVAL, initial_sync_seconds=2.0) as world:
        log = RequestLog(world.sim).start()
        watch = ReplicaWatch(world.kubeconfig).start()
        try:
            setup_seconds = _ready(world, watch, count)
            time.sleep(SETTLE_INTERVALS * POLL_SECONDS)
            sampler = ProcessSampler(world.operator.pid).start()
            events_before = watch.counts()
            kube_before = apiserver_requests(world.control_plane)
            metrics_before = world.operator.metrics()
            first = log.mark()
            started = time.monotonic()
            time.sleep(intervals * POLL_SECONDS)
            last = log.mark()
            window = time.monotonic() - started
            kube_after = apiserver_requests(world.control_plane)
            metrics_after = world.operator.metrics()
            events_after = watch.counts()
            process = sampler.stop()
            not_ready = [name for name, status in watch.statuses.items() if name not in watch.first_ready]
            if not_ready:
                raise BenchError(f"{len(not_ready)} replicas not Ready: {watch.summary()}")
        finally:
            watch.stop()
            log.stop()
    phase = log.entries[first:last]
    per_interval = window / POLL_SECONDS
    requests: dict[str, Any] = {}
    for system in (SOURCE, TARGET):
        endpoints = breakdown(phase, [system])
        lists = sum(v for k, v in endpoints.items() if k.startswith("GET /replicas (list)"))
        gets = sum(v for k, v in endpoints.items() if k.startswith("GET /replicas/{id}"))
        requests[system] = {
            "list_requests_per_interval": round(lists / per_interval, 2),
            "replica_gets_per_interval": round(gets / per_interval, 2),
            "other_requests_per_interval": round((sum(endpoints.values()) - lists - gets) / per_interval, 2),
            "by_endpoint_total": endpoints,
        }
    all_writes = writes_between(kube_before, kube_after)
    writes = without_apiserver_own(all_writes)
    events = {kind: events_after.get(kind, 0) - events_before.get(kind, 0) for kind in events_after}
    polls = {
        system: int(
            metric_sum(metrics_after, "infinibox_polls_total", array=system)
            - metric_sum(metrics_before, "infinibox_polls_total", array=system)
        )
        for system in (SOURCE, TARGET)
    }
    reconciles = metric_sum(metrics_after, "replica_operator_reconcile_total") - metric_sum(
        metrics_before, "replica_operator_reconcile_total"
    )
    poll_mean = histogram_mean(metrics_before, metrics_after, "infinibox_poll_duration_seconds")
    reconcile_mean = histogram_mean(
        metrics_before, metrics_after, "replica_operator_reconcile_duration_seconds", trigger="poll"
    )
    return {
        "replicas": count,
        "poll_interval": POLL_INTERVAL,
        "schedule": SCHEDULE,
        "window_seconds": round(window, 1),
        "poll_intervals_in_window": round(per_interval, 1),
        "setup_seconds_to_all_ready": round(setup_seconds, 1),
        "array_requests": requests,
        "polls_per_interval": {system: round(n / per_interval, 2) for system, n in polls.items()},
        "kube_writes_total": sum(writes.values()),
        "kube_writes_per_interval": round(sum(writes.values()) / per_interval, 2),
        "kube_writes_by_kind": writes,
        "apiserver_own_writes": {k: v for k, v in all_writes.items() if k not in writes},
        "replica_watch_events": events,
        "reconciles_per_interval": round(reconciles / per_interval, 1),
        "reconcile_mean_ms": round(reconcile_mean * 1000, 1) if reconcile_mean is not None else None,
        "array_listing_mean_seconds": round(poll_mean, 3) if poll_mean is not None else None,
        **process,
    }
