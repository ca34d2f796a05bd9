"""Issue 14 item 11: a half-open connection to the API server fails calls instead of freezing pollers.

The test's own operator talks to the real API server through a loopback proxy that the test
freezes: it accepts and never answers, and the connections it held stay dead after the thaw,
as half-open connections do. Every Kubernetes call of the operator must time out, the pollers
must keep finishing passes (so /healthz stays 200) and, after the thaw, the operator must
write status again on new connections.
"""

from __future__ import annotations

import httpx
import pytest

from tests.integration.operator.conftest import Env, ProxiedOperator, condition_of
from tests.support.operator import OperatorProcess
from tests.support.tcp_proxy import FreezableProxy
from tests.support.wait import wait_for

KUBE_TIMEOUT = "2s"


def _timeouts(operator: OperatorProcess) -> float:
    total = 0.0
    for line in operator.metrics().splitlines():
        if line.startswith("replica_operator_kube_requests_total{") and 'result="timeout"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.fixture
def proxied(proxied_operator: ProxiedOperator) -> tuple[FreezableProxy, OperatorProcess]:
    return proxied_operator("--kube-request-timeout", KUBE_TIMEOUT)


def test_a_frozen_api_server_connection_times_out_and_the_operator_recovers(
    env: Env, proxied: tuple[FreezableProxy, OperatorProcess]
) -> None:
    proxy, own = proxied
    env.objects.wait_status(
        "infiniboxes", env.source, lambda s: condition_of(s, "Connected").get("status") == "True"
    )
    proxy.freeze()
    # Meanwhile the Secret goes (through the real API server, not the proxy): what the operator
    # must report once it can reach the API server again.
    env.objects.cluster.kubectl("-n", env.namespace, "delete", "secret", "creds")
    try:
        wait_for(lambda: _timeouts(own) >= 2, timeout=30, what="the operator's calls timing out")
        health = httpx.get(f"http://127.0.0.1:{own.liveness_port}/healthz", timeout=5)
        assert health.status_code == 200, health.text  # the pollers still finish their passes
        assert "arrays" in health.json()["pollers"]  # our probe answered (kopf caches it for 10 s)
        proxy.thaw()
        status = env.objects.wait_status(
            "infiniboxes",
            env.source,
            lambda s: condition_of(s, "Connected").get("reason") == "SecretNotFound",
            timeout=30,
            what="Connected=False/SecretNotFound written after the thaw",
        )
        assert condition_of(status, "Connected")["status"] == "False"
    finally:
        env.objects.cluster.credentials_secret(env.namespace, "creds")
