"""How many replica list/get requests per second ``ibox-sim`` serves over real HTTP.

Starts ``ibox-sim`` as its own process (so client and server each get a core), creates
REPLICAS replicas on ibox-1, lets them finish initialising (by advancing the simulator
clock), then runs a mix of ``GET /api/rest/replicas?page_size=1000``,
``GET /api/rest/replicas?page=..&page_size=50`` and ``GET /api/rest/replicas/<id>`` from
CLIENTS keep-alive connections for DURATION seconds. Responses are checked (status, and
a sample is parsed) but not all parsed, so the client does not become the bottleneck.
"""

from __future__ import annotations

import http.client
import json
import random
import statistics
import threading
import time
from base64 import b64encode
from typing import Any
from urllib.parse import urlsplit

import httpx

from ibox_sim.testing import run_simulator

NAME = "sim-throughput"
REPLICAS = 1000
CLIENTS = 8
DURATION = 10.0
#: Out of every 100 requests: full lists, pages of 50, single replicas.
MIX = {"list_1000": 4, "page_50": 36, "get_one": 60}
AUTH = ("admin", "admin")


def _populate(base_url: str, count: int) -> list[int]:
    """Create ``count`` volumes on ibox-1 and replicate each to ibox-2; returns the replica ids."""
    ids: list[int] = []
    with httpx.Client(base_url=base_url, auth=AUTH, timeout=30) as client:
        pool = client.get("/api/rest/pools", params={"name": "pool-1"}).json()["result"][0]["id"]
        link = client.get("/api/rest/links", params={"name": "to-ibox-2"}).json()["result"][0]
        remote_pool = client.get(
            f"/api/rest/remote/{link['id']}/api/rest/pools", params={"name": "pool-1"}
        ).json()["result"][0]["id"]
        for n in range(count):
            volume = client.post(
                "/api/rest/volumes", json={"name": f"bench-{n}", "size": 10**9, "pool_id": pool}
            )
            body = {
                "link_id": link["id"],
                "remote_pool_id": remote_pool,
                "replication_type": "SYNC" if n % 4 == 0 else "ASYNC",
                "entity_pairs": [
                    {"local_entity_id": volume.json()["result"]["id"], "remote_base_action": "CREATE"}
                ],
                "description": f"bench-owner-{n % 10}",
            }
            replica = client.post("/api/rest/replicas", json=body)
            replica.raise_for_status()
            ids.append(int(replica.json()["result"]["id"]))
    return ids


class _Worker(threading.Thread):
    """One keep-alive connection issuing the mix until the deadline."""

    def __init__(self, url: str, replica_ids: list[int], deadline: float, seed: int) -> None:
        super().__init__(daemon=True)
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.ids = replica_ids
        self.deadline = deadline
        self.rng = random.Random(seed)
        self.latencies: dict[str, list[float]] = {kind: [] for kind in MIX}
        self.bytes = 0
        self.errors: list[str] = []
        token = b64encode(f"{AUTH[0]}:{AUTH[1]}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}"}

    def _path(self, kind: str) -> str:
        if kind == "list_1000":
            return "/api/rest/replicas?page_size=1000"
        if kind == "page_50":
            pages = max(1, len(self.ids) // 50)
            return f"/api/rest/replicas?page={self.rng.randint(1, pages)}&page_size=50"
        return f"/api/rest/replicas/{self.rng.choice(self.ids)}"

    def run(self) -> None:
        kinds = [kind for kind, weight in MIX.items() for _ in range(weight)]
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        checked = 0
        try:
            while time.monotonic() < self.deadline:
                kind = self.rng.choice(kinds)
                started = time.perf_counter()
                connection.request("GET", self._path(kind), headers=self.headers)
                response = connection.getresponse()
                payload = response.read()
                self.latencies[kind].append(time.perf_counter() - started)
                self.bytes += len(payload)
                if response.status != 200:
                    self.errors.append(f"{kind}: HTTP {response.status}")
                elif checked < 5 and kind != "get_one":  # parse a few to be sure they are real answers
                    checked += 1
                    body = json.loads(payload)
                    if body["metadata"]["number_of_objects"] != len(self.ids):
                        self.errors.append(f"{kind}: wrong count {body['metadata']}")
        finally:
            connection.close()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def run() -> dict[str, Any]:
    with run_simulator(systems=2, initial_sync_seconds=2) as sim:
        url = sim.url("ibox-1")
        created = time.monotonic()
        ids = _populate(url, REPLICAS)
        populate_seconds = time.monotonic() - created
        sim.admin("POST", "/_sim/clock/advance", {"seconds": 5})  # every replica past its initial sync
        deadline = time.monotonic() + DURATION
        workers = [_Worker(url, ids, deadline, seed) for seed in range(CLIENTS)]
        started = time.monotonic()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(DURATION + 60)
        elapsed = time.monotonic() - started
        stats = sim.admin("GET", "/_sim/stats")
    latencies: dict[str, list[float]] = {kind: [] for kind in MIX}
    for worker in workers:
        for kind, values in worker.latencies.items():
            latencies[kind].extend(values)
    total = sum(len(values) for values in latencies.values())
    errors = [error for worker in workers for error in worker.errors]
    return {
        "replicas": REPLICAS,
        "clients": CLIENTS,
        "mix_percent": MIX,
        "requests": total,
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "requests_per_second": round(total / elapsed, 1),
        "by_kind": {
            kind: {
                "requests": len(values),
                "per_second": round(len(values) / elapsed, 1),
                "median_ms": round(statistics.median(values) * 1000, 2) if values else None,
                "p95_ms": round(_percentile(values, 0.95) * 1000, 2),
            }
            for kind, values in latencies.items()
        },
        "megabytes_per_second": round(sum(w.bytes for w in workers) / elapsed / 1e6, 1),
        "populate_seconds": round(populate_seconds, 2),
        "server_in_flight_high_water": stats["in_flight_high_water"],
    }
