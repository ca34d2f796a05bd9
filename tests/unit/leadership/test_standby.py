"""The standby's own /healthz and /metrics, on real loopback sockets, and the ports freed after."""

from __future__ import annotations

import socket

import httpx

from controlplane.cluster import free_port
from replica_operator.leadership.metrics import LEADER
from replica_operator.leadership.standby import STANDBY_HEALTHZ, StandbyEndpoints


def test_a_standby_answers_healthz_and_metrics_then_frees_the_ports() -> None:
    liveness, metrics = free_port(), free_port()
    LEADER.labels("standby-unit").set(0)
    endpoints = StandbyEndpoints("127.0.0.1", liveness, metrics)
    endpoints.start()
    try:
        health = httpx.get(f"http://127.0.0.1:{liveness}/healthz", timeout=5)
        assert health.status_code == 200
        assert health.content == STANDBY_HEALTHZ
        assert httpx.get(f"http://127.0.0.1:{liveness}/other", timeout=5).status_code == 404
        scraped = httpx.get(f"http://127.0.0.1:{metrics}/metrics", timeout=5).text
        assert 'replica_operator_leader{identity="standby-unit"} 0.0' in scraped
    finally:
        endpoints.close()
    for port in (liveness, metrics):  # the operator binds them next
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", port))
