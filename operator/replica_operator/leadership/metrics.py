"""The election's metric: which candidate leads (scrape every pod; exactly one says 1)."""

from __future__ import annotations

from prometheus_client import Gauge

LEADER = Gauge(
    "replica_operator_leader",
    "1 while this operator process holds the leader Lease, 0 while it stands by.",
    ["identity"],
)
