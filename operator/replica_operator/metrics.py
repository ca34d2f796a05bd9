"""Prometheus metrics: the live view (lag, last sync, requests) that status leaves out on purpose.

Status changes only on transitions so that quiet replicas cost no Kubernetes writes;
everything that moves continuously is here instead.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import Counter, Gauge, Histogram, start_http_server

from replica_operator.array import ParseIssue, RequestRecord

ARRAY_REQUESTS = Histogram(
    "infinibox_request_duration_seconds",
    "Latency of HTTP requests to an array, by array, method and endpoint template.",
    ["array", "method", "endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
ARRAY_ERRORS = Counter(
    "infinibox_request_errors_total",
    "Failed HTTP requests to an array, by array, method, endpoint template and error class.",
    ["array", "method", "endpoint", "error"],
)
ARRAY_POLLS = Counter(
    "infinibox_polls_total", "Listings of an array's replicas, by result.", ["array", "result"]
)
ARRAY_POLL_SECONDS = Histogram(
    "infinibox_poll_duration_seconds", "Time to list all replicas of an array.", ["array"]
)
ARRAY_PARSE_ISSUES = Counter(
    "infinibox_parse_issues_total",
    "Objects an array answered with a value the operator could not read (the field is left empty), by "
    "array and endpoint; the object itself says which field on its Synced condition.",
    ["array", "endpoint"],
)
POLL_PASSES = Counter(
    "replica_operator_poll_passes",
    "Finished passes of an array's poller (listing, status, objects), whatever their outcome.",
    ["array"],
)
REMEMBERED = Gauge(
    "replica_operator_remembered_objects",
    "Per-object entries the operator holds, by store; none should outlive its object.",
    ["store"],
)
ARRAY_CONNECTED = Gauge("infinibox_connected", "1 when the last poll of the array succeeded.", ["array"])
ARRAY_REPLICAS = Gauge(
    "infinibox_array_replicas",
    "Replicas on an array (managed or not), by role, state and type.",
    ["array", "role", "state", "type"],
)
KUBE_REQUESTS = Counter(
    "replica_operator_kube_requests",
    "Kubernetes API requests the operator makes itself (kopf's watches aside), by verb, resource "
    "and result (ok, error, timeout).",
    ["verb", "resource", "result"],
)
OBJECTS = Gauge(
    "replica_operator_objects",
    "Replication objects by kind, state and replication type, as last observed.",
    ["kind", "state", "type"],
)
RECONCILES = Counter(
    "replica_operator_reconcile_total",
    "Reconciliations of replication objects, by kind, trigger and result.",
    ["kind", "trigger", "result"],
)
RECONCILE_SECONDS = Histogram(
    "replica_operator_reconcile_duration_seconds",
    "Time to reconcile one object, array calls included.",
    ["kind", "trigger"],
)
STEPS = Counter(
    "replica_operator_array_steps_total",
    "Mutating calls made on arrays, by step and result.",
    ["step", "result"],
)
PENDING_TYPE_CHANGES = Gauge(
    "replica_operator_pending_type_changes", "Type changes waiting now for INITIALIZING to end."
)
DEFERRED_TYPE_CHANGES = Counter(
    "replica_operator_deferred_type_changes", "Type changes that had to wait for INITIALIZING to end."
)
LAST_SYNC = Gauge(
    "replica_operator_replica_last_sync_timestamp_seconds",
    "When the target was last consistent with the source (Unix time), per object.",
    ["kind", "namespace", "name"],
)
SYNC_LAG = Gauge(
    "replica_operator_replica_lag_seconds",
    "How far the target is behind the source (now minus last sync), per object.",
    ["kind", "namespace", "name"],
)
RPO_OVERRUN = Gauge(
    "replica_operator_replica_rpo_overrun_seconds",
    "How far the lag exceeds the RPO (0 while within it), per object.",
    ["kind", "namespace", "name"],
)


def observe_request(record: RequestRecord) -> None:
    """The array client's observer: one record per HTTP request."""
    ARRAY_REQUESTS.labels(record.array, record.method, record.endpoint).observe(record.duration_seconds)
    if record.error is not None:
        ARRAY_ERRORS.labels(record.array, record.method, record.endpoint, record.error).inc()


def observe_parse_issue(issue: ParseIssue) -> None:
    """The array client's parse observer: one count per object read incompletely."""
    ARRAY_PARSE_ISSUES.labels(issue.array, issue.endpoint).inc()


def record_lag(
    kind: str, namespace: str, name: str, last_sync: datetime | None, rpo_seconds: float | None, now: datetime
) -> None:
    """Set the per-object lag gauges from what the array reports now."""
    if last_sync is None:
        return
    lag = max(0.0, (now - last_sync).total_seconds())
    LAST_SYNC.labels(kind, namespace, name).set(last_sync.timestamp())
    SYNC_LAG.labels(kind, namespace, name).set(lag)
    RPO_OVERRUN.labels(kind, namespace, name).set(max(0.0, lag - rpo_seconds) if rpo_seconds else 0.0)


def forget_object(kind: str, namespace: str, name: str) -> None:
    """Drop an object's series when it is deleted."""
    for gauge in (LAST_SYNC, SYNC_LAG, RPO_OVERRUN):
        try:
            gauge.remove(kind, namespace, name)
        except KeyError:
            continue


def serve(address: str, port: int) -> None:
    """Serve /metrics in a background thread."""
    start_http_server(port, addr=address)
