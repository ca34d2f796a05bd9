"""scale: N Replicas applied at once; how long until all are Ready, and what it cost.

For each N in ``BENCH_SIZES`` (default ``100,1000``) a fresh world is started
(``bench._world.operator_world``: control plane, ``ibox-sim`` with a 2 s initial sync, the
operator, two InfiniBox objects with ``pollInterval`` ``BENCH_POLL_INTERVAL``, default 5s).
2N volumes are created on ibox-1 over REST: N for the operator, N for the SDK script.

Operator: one ``kubectl apply -f -`` of an N-document file of ASYNC Replicas (Create mode,
pool-1); ``BENCH_APPLY=server`` makes it ``kubectl apply --server-side`` (one request per
object instead of a GET and a POST, both paced by kubectl's client-side rate limiter). A single
watch on the namespace records when each object first shows a replica id and ``Ready=True``.
Figures, counted from the start of the apply:

* ``seconds_to_all_ready`` - until the last object is Ready=True;
* ``creates_per_second`` - N / (start of the last ``POST /replicas`` on the array);
* ``array_requests_per_object`` - every request the simulator logged in the phase / N, with
  a breakdown by endpoint;
* ``kube_writes_per_object`` - write requests counted by the API server itself
  (``apiserver_request_total``, minus the N creates of the apply), with a breakdown, and
  the ADDED/MODIFIED watch events the bench saw;
* ``operator_peak_rss_mib`` (psutil, sampled every 0.25 s) and CPU time of each process.

Then the operator is stopped and ``bench._sdk_script`` (plain sequential infinisdk, in its
own process) replicates the other N volumes on the same simulator and waits until the SDK
sees every replica SYNCHRONIZED. ``ratio_operator_to_script`` compares the two times.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
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
    apiserver_requests,
    breakdown,
    create_volumes,
    env_float,
    env_sizes,
    histogram_mean,
    latency_profile,
    metric_sum,
    multi_document,
    operator_world,
    percentiles,
    replica_manifest,
    replica_writes,
    set_latency,
    without_apiserver_own,
)

NAME = "scale"
SIZES = (100, 1000)
POLL_INTERVAL = "5s"
INITIAL_SYNC_SECONDS = 2.0
#: With ``BENCH_LATENCY=realistic`` (8 initializations at a time per array): at 2 s each the
#: array's queue alone would take N / 4 s for the operator and the script alike.
REALISTIC_INITIAL_SYNC_SECONDS = 0.5
SETTLE_SECONDS = 2.0
_APPLY_FLAGS = {"client": (), "server": ("--server-side",)}


def _apply_mode() -> str:
    mode = os.environ.get("BENCH_APPLY", "client").strip() or "client"
    if mode not in _APPLY_FLAGS:
        raise BenchError(f"BENCH_APPLY must be one of {', '.join(_APPLY_FLAGS)}, not {mode!r}")
    return mode


def _ready_timeout(count: int) -> float:
    return env_float("BENCH_READY_TIMEOUT", 120.0 + 0.6 * count)


def _sdk_baseline(source_url: str, target_url: str, count: int) -> dict[str, Any]:
    timeout = 60.0 + 0.5 * count
    result = subprocess.run(
        [sys.executable, "-m", "bench._sdk_script", source_url, target_url, "sdk-", str(count), str(timeout)],
        capture_output=True,
        text=True,
        timeout=timeout + 120,
    )
    if result.returncode != 0:
        raise BenchError(f"the infinisdk script failed: {result.stderr[-2000:] or result.stdout[-2000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def measure(count: int, poll_interval: str = POLL_INTERVAL) -> dict[str, Any]:
    """One size: the operator's run, then the SDK script's on the same simulator."""
    apply_mode, latency = _apply_mode(), latency_profile()
    initial_sync = REALISTIC_INITIAL_SYNC_SECONDS if latency == "realistic" else INITIAL_SYNC_SECONDS
    with operator_world(poll_interval=poll_interval, initial_sync_seconds=initial_sync) as world:
        names = [f"op-{n:04d}" for n in range(count)]
        create_volumes(world.sim.url(SOURCE), names + [f"sdk-{n:04d}" for n in range(count)])
        latency_ms = set_latency(world.sim, latency)  # after the set-up, for the operator and the script
        document = multi_document(replica_manifest(name, name) for name in names)

        log = RequestLog(world.sim).start()
        watch = ReplicaWatch(world.kubeconfig).start()
        sampler = ProcessSampler(world.operator.pid).start()
        world.operator.trace_memory()  # both no-ops unless BENCH_OPERATOR_PROFILE is *.tracemalloc.txt
        try:
            kube_before = apiserver_requests(world.control_plane)
            metrics_before = world.operator.metrics()
            first = log.mark()
            clock = world.sim.admin("GET", "/_sim/clock")["now"]
            started = time.monotonic()
            sim_offset = clock - started  # simulator clock (epoch s) minus our monotonic clock
            world.kubectl("apply", *_APPLY_FLAGS[apply_mode], "-f", "-", input=document)
            applied = time.monotonic()
            watch.wait_ready(names, timeout=_ready_timeout(count))
            all_ready = max(watch.first_ready[name] for name in names)
            world.operator.dump_memory()
            time.sleep(SETTLE_SECONDS)  # the Ready Events trail the status patches
            kube_after = apiserver_requests(world.control_plane)
            metrics_after = world.operator.metrics()
            last = log.mark()
        finally:
            process = sampler.stop()
            watch.stop()
            log.stop()
        phase = log.entries[first:last]
        creates = [e for e in phase if e["method"] == "POST" and e["path"] == "/api/rest/replicas"]
        if len(creates) != count:
            raise BenchError(f"{len(creates)} replicas created on the array, expected {count}")
        last_create = max(e["started"] for e in creates) - sim_offset
        kube_writes = without_apiserver_own(writes_between(kube_before, kube_after))
        applies = "APPLY replicas" if apply_mode == "server" else "POST replicas"
        kube_writes[applies] = kube_writes.get(applies, 0) - count  # the apply itself
        operator_writes = {key: value for key, value in kube_writes.items() if value > 0}
        ready_after = [watch.first_ready[name] - started for name in names]
        reconciles = {
            trigger: int(
                metric_sum(metrics_after, "replica_operator_reconcile_total", trigger=trigger)
                - metric_sum(metrics_before, "replica_operator_reconcile_total", trigger=trigger)
            )
            for trigger in ("event", "poll")
        }
        mean_reconcile = {
            trigger: histogram_mean(
                metrics_before, metrics_after, "replica_operator_reconcile_duration_seconds", trigger=trigger
            )
            for trigger in ("event", "poll")
        }
        array_mean_ms = {
            "operator_observed": round(
                1000
                * (
                    histogram_mean(
                        metrics_before, metrics_after, "infinibox_request_duration_seconds", array=SOURCE
                    )
                    or 0.0
                ),
                1,
            ),
            "simulator_observed": round(
                statistics.fmean(e["duration_ms"] for e in phase if e["system"] == SOURCE), 1
            ),
        }
        operator_figures: dict[str, Any] = {
            "seconds_to_all_ready": round(all_ready - started, 2),
            "kubectl_apply_seconds": round(applied - started, 2),
            "seconds_from_apply_end_to_all_ready": round(all_ready - applied, 2),
            "seconds_to_last_create": round(last_create - started, 2),
            "creates_per_second": round(count / max(last_create - started, 1e-9), 1),
            "ready_after_apply_seconds": percentiles(ready_after),
            "array_requests": len(phase),
            "array_requests_per_object": round(len(phase) / count, 2),
            "array_requests_by_endpoint": breakdown(phase),
            "array_request_mean_ms": array_mean_ms,
            "array_requests_by_system": {
                system: sum(1 for e in phase if e["system"] == system) for system in (SOURCE, TARGET)
            },
            "kube_writes_per_object": round(sum(operator_writes.values()) / count, 2),
            "replica_writes_per_object": round(replica_writes(operator_writes) / count, 2),
            "kube_writes_by_kind": operator_writes,
            "watch_events_per_object": round(
                (watch.counts().get("ADDED", 0) + watch.counts().get("MODIFIED", 0)) / count, 2
            ),
            "watch_events": watch.counts(),
            "reconciles": reconciles,
            "reconcile_mean_ms": {
                trigger: round(value * 1000, 1) if value is not None else None
                for trigger, value in mean_reconcile.items()
            },
            **process,
        }
        world.operator.stop()  # the script gets the machine to itself, as the operator had it
        script = _sdk_baseline(world.sim.url(SOURCE), world.sim.url(TARGET), count)
    return {
        "replicas": count,
        "poll_interval": poll_interval,
        "apply": apply_mode,
        "initial_sync_seconds": initial_sync,
        "latency_profile": latency,
        "latency_ms": latency_ms,
        "operator": operator_figures,
        "sdk_script": script,
        "ratio_operator_to_script": round(
            operator_figures["seconds_to_all_ready"] / script["seconds_to_all_synchronized"], 2
        ),
    }


def run() -> dict[str, Any]:
    return {"runs": [measure(count) for count in env_sizes("BENCH_SIZES", SIZES)]}
