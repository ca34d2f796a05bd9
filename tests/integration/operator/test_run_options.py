"""`replica-operator run`: its options, as a user starts it (a process of its own)."""

from __future__ import annotations

import json
import subprocess

import httpx

from tests.support.kube import Cluster
from tests.support.operator import OPERATOR, OperatorProcess
from tests.support.wait import wait_for


def test_json_logs_liveness_and_metrics(
    cluster: Cluster, crds: list[str], exclusive_operator: OperatorProcess
) -> None:
    operator = OperatorProcess(cluster.kubeconfig, env={"REPLICA_OPERATOR_LOG_FORMAT": "json"}).start()
    try:
        assert httpx.get(f"http://127.0.0.1:{operator.liveness_port}/healthz", timeout=5).status_code == 200
        metrics = wait_for(lambda: operator.metrics(), timeout=10, what="the metrics endpoint")
        assert "# TYPE replica_operator_reconcile_total counter" in metrics
        assert "# TYPE infinibox_request_duration_seconds histogram" in metrics
        lines = [line for line in operator.log().splitlines() if line.strip()]
        assert lines
        records = [json.loads(line) for line in lines]  # every line is one JSON object
        assert all("message" in record for record in records)
    finally:
        operator.close()


def test_help_lists_the_options() -> None:
    shown = subprocess.run(
        [str(OPERATOR), "run", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for option in (
        "--namespace",
        "--all-namespaces",
        "--liveness-port",
        "--metrics-port",
        "--log-format",
        "--verbose",
        "--leader-elect",
        "--no-leader-elect",
        "--leader-election-namespace",
        "--leader-election-id",
        "--lease-duration",
        "--renew-deadline",
        "--retry-period",
    ):
        assert option in shown
    for gone in ("--peering", "--priority", "--standalone"):  # kopf peering is not leader election
        assert gone not in shown
