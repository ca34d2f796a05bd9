"""promtool unit tests of the chart's alerts, on series shaped like the operator's own metrics.

Each series carries exactly the labels its metric declares in the operator's registry, plus the
target labels a prometheus-operator ServiceMonitor scrape of the chart's metrics Service adds (which
renames the per-object label ``namespace`` to ``exported_namespace``).
"""

from __future__ import annotations

from typing import Any

from tests.unit.shipping.operator_metrics import exported

# What a ServiceMonitor scrape of the chart's metrics Service adds to every series (pod/instance differ
# per operator pod).
SERVICE = "iro-infinibox-replica-operator-metrics"
TARGET = {
    "job": SERVICE,
    "service": SERVICE,
    "namespace": "infinibox-system",
    "endpoint": "metrics",
    "container": "operator",
}
PODS = {"a": ("10.0.0.7:9090", "iro-infinibox-replica-operator-5d9f-a"), "b": ("10.0.0.8:9090", "iro-b")}
OBJECT = {"kind": "Replica", "namespace": "databases", "name": "db-vol-1"}
# Metrics the rules use that the operator is to gain (leader election, issue 14): their labels as
# agreed, used for the promtool series only until the registry has them. The registry tests of
# tests/e2e/shipping/test_alerts.py still require them, and fail until they exist.
TO_BE_ADDED = {"replica_operator_leader": ("identity",)}


def series(metric: str, values: str, pod: str = "a", **labels: str) -> dict[str, str]:
    """One input series of ``metric``: its own labels exactly as the registry declares them."""
    family = exported().get(metric)
    declared = set(family.labels if family else TO_BE_ADDED[metric])
    declared |= {"le"} if metric.endswith("_bucket") else set()
    assert set(labels) == declared, f"{metric} has labels {sorted(declared)}, not {sorted(labels)}"
    instance, pod_name = PODS[pod]
    scraped = {f"exported_{k}" if k in TARGET else k: v for k, v in labels.items()}
    scraped |= TARGET | {"instance": instance, "pod": pod_name}
    matchers = ", ".join(f'{k}="{v}"' for k, v in sorted(scraped.items()))
    return {"series": f"{metric}{{{matchers}}}", "values": values}


def alert(alertname: str, at: str, *expected: dict[str, Any]) -> dict[str, Any]:
    return {"eval_time": at, "alertname": alertname, "exp_alerts": list(expected)}


def labels(severity: str, **own: str) -> dict[str, str]:
    """An alert's labels: the series' labels but instance and pod, plus the rule's."""
    scraped = {f"exported_{k}" if k in TARGET else k: v for k, v in own.items()}
    return TARGET | scraped | {"severity": severity}


def rpo_exceeded() -> dict[str, Any]:
    """RPO: fires once the overrun has lasted 5m; two pods reporting it give one alert."""
    return {
        "interval": "1m",
        "input_series": [
            series(
                "replica_operator_replica_rpo_overrun_seconds",
                "0 0 30 60 90 120 150 180 210 240",
                **OBJECT,
            ),
            series(
                "replica_operator_replica_rpo_overrun_seconds",
                "_ _ 30 60 90 120 150 180 210 240",
                "b",
                **OBJECT,
            ),
            series(
                "replica_operator_replica_rpo_overrun_seconds",
                "0x9",
                kind="Replica",
                namespace="db",
                name="ok",
            ),
        ],
        "alert_rule_test": [
            alert("InfiniBoxReplicaRPOExceeded", "5m"),
            alert(
                "InfiniBoxReplicaRPOExceeded",
                "8m",
                {
                    "exp_labels": labels("warning", **OBJECT),
                    "exp_annotations": {
                        "summary": "Replica databases/db-vol-1 is behind its RPO",
                        "description": "The target is 3m 30s further behind its source than the RPO allows.",
                    },
                },
            ),
        ],
        "name": "rpo",
    }


def auto_suspended() -> dict[str, Any]:
    """Auto-suspended: only the AUTO_SUSPENDED state's series."""
    return {
        "interval": "1m",
        "input_series": [
            series("replica_operator_objects", "0 2x5", kind="Replica", state="AUTO_SUSPENDED", type="ASYNC"),
            series("replica_operator_objects", "5x5", kind="Replica", state="ACTIVE", type="ASYNC"),
        ],
        "alert_rule_test": [
            alert(
                "InfiniBoxReplicaAutoSuspended",
                "3m",
                {
                    "exp_labels": labels("critical", kind="Replica", state="AUTO_SUSPENDED", type="ASYNC"),
                    "exp_annotations": {
                        "summary": "2 ASYNC Replica object(s) auto-suspended by the array",
                        "description": "The array suspended replication by itself (e.g. link down); "
                        "status.conditions Ready says why. kubectl get replicas -A",
                    },
                },
            )
        ],
        "name": "auto_suspended",
    }


def array_disconnected() -> dict[str, Any]:
    """Array disconnected: ibox-1 down for 5m alerts, ibox-2 (a blip) does not."""
    return {
        "interval": "1m",
        "input_series": [
            series("infinibox_connected", "1 1 0x8", array="ibox-1"),
            series("infinibox_connected", "1 0 0 1x7", array="ibox-2"),
        ],
        "alert_rule_test": [
            alert(
                "InfiniBoxArrayDisconnected",
                "9m",
                {
                    "exp_labels": labels("critical", array="ibox-1"),
                    "exp_annotations": {
                        "summary": "The operator cannot poll array ibox-1",
                        "description": "The last polls of ibox-1 failed; its InfiniBox object's "
                        "Connected condition says why. Replication objects on it show their last "
                        "known state.",
                    },
                },
            )
        ],
        "name": "disconnected",
    }


def type_change_deferred() -> dict[str, Any]:
    """Type change deferred past the 6h threshold; a shorter wait does not alert."""
    return {
        "interval": "1m",
        "input_series": [series("replica_operator_pending_type_changes", "1x400")],
        "alert_rule_test": [
            alert("InfiniBoxTypeChangeDeferred", "5h50m"),
            alert(
                "InfiniBoxTypeChangeDeferred",
                "6h10m",
                {
                    "exp_labels": labels("warning"),
                    "exp_annotations": {
                        "summary": "1 replication type change(s) deferred for more than 6h",
                        "description": "A change of replicationType waits for the initial sync "
                        "(INITIALIZING) to end; it has not ended for this long. Objects with "
                        "status.pendingReplicationType set are waiting.",
                    },
                },
            ),
        ],
        "name": "deferred",
    }


def deletion_blocked() -> dict[str, Any]:
    """Deletion retried and blocked every 10 s for 40 min alerts; a short block that cleared does not."""
    return {
        "interval": "1m",
        "input_series": [
            series(
                "replica_operator_reconcile_total",
                "0+6x40",
                kind="Replica",
                trigger="delete",
                result="blocked",
            ),
            series(
                "replica_operator_reconcile_total",
                "0+6x3 18x37",
                kind="ConsistencyGroupReplica",
                trigger="delete",
                result="blocked",
            ),
            series(
                "replica_operator_reconcile_total",
                "0+60x40",
                kind="Replica",
                trigger="poll",
                result="blocked",
            ),
        ],
        "alert_rule_test": [
            alert(
                "InfiniBoxReplicaDeletionBlocked",
                "35m",
                {
                    "exp_labels": labels("warning", kind="Replica", trigger="delete", result="blocked"),
                    "exp_annotations": {
                        "summary": "Deleting a Replica keeps failing",
                        "description": "The operator cannot delete the replica on the array "
                        "(deletionPolicy Delete), so the object keeps its finalizer. Its Synced "
                        "condition and Events say why; spec.deletionPolicy Orphan lets it go and "
                        "leaves the replica.",
                    },
                },
            )
        ],
        "name": "deletion",
    }


def leader_handover_and_loss() -> dict[str, Any]:
    """Leader: a handover (a: 1 -> 0 while b: 0 -> 1) is quiet; no leader for 2m alerts."""
    return {
        "interval": "1m",
        "input_series": [
            series("replica_operator_leader", "1 1 1 0 0 0 0 0 0 0", identity="iro-a"),
            series("replica_operator_leader", "0 0 0 1 1 1 0 0 0 0", "b", identity="iro-b"),
        ],
        "alert_rule_test": [
            alert("InfiniBoxReplicaOperatorLeaderMissing", "5m"),
            alert(
                "InfiniBoxReplicaOperatorLeaderMissing",
                "9m",
                {
                    "exp_labels": {"severity": "critical"},
                    "exp_annotations": leader_annotations(),
                },
            ),
        ],
        "name": "leader",
    }


def no_operator_scraped() -> dict[str, Any]:
    """No operator scraped at all: nobody leads."""
    return {
        "interval": "1m",
        "input_series": [series("infinibox_connected", "1x5", array="ibox-1")],
        "alert_rule_test": [
            alert(
                "InfiniBoxReplicaOperatorLeaderMissing",
                "4m",
                {"exp_labels": {"severity": "critical"}, "exp_annotations": leader_annotations()},
            )
        ],
        "name": "leader_absent",
    }


def leader_annotations() -> dict[str, str]:
    return {
        "summary": "No infinibox-replica-operator pod holds the leader lease",
        "description": "No operator reconciles replication objects: every pod is a standby, or none is "
        "scraped. Check the operator pods and their Lease.",
    }


def cases() -> list[dict[str, Any]]:
    """The promtool test groups, one per behaviour."""
    return [
        rpo_exceeded(),
        auto_suspended(),
        array_disconnected(),
        type_change_deferred(),
        deletion_blocked(),
        leader_handover_and_loss(),
        no_operator_scraped(),
    ]
