"""dr: two sites (issue 18): an unplanned failover with site A lost, and a drill's start and end.

The world of ``tests/e2e/dr`` (two control planes, one operator each, one simulator with both
arrays; pollInterval 1s). ``BENCH_DR_REPEATS`` (default 3) rounds, each with a fresh ASYNC pair:

* drill start: ``replica-operator dr drill`` on site B until the ReplicaDrill is Ready (snapshot
  on the DR array, PersistentVolume, claim); drill end: ``dr drill --end`` until it is gone
  (claim and PersistentVolume let go by kube-controller-manager, snapshot deleted);
* unplanned failover: site A lost (operator SIGKILLed, its kube-apiserver stopped, every
  connection to its array dropped, the link down), then ``dr failover --unplanned`` on site B:
  from "site A lost" to site B's claim writable: the runbook command returns once site B's
  object reports its own claim (spec.source.localClaim) in status.writableClaim; the bench then
  checks the claim is Bound and the replica SOURCE on ibox-2.
  Site A is then brought back and the pair's objects are deleted (Orphan) for the next round.
  Every other round waits, before the command, until site B's operator reports ibox-a
  unreachable (its InfiniBox ``Connected=False``): ``unplanned_failover_noticed`` is then the
  failover alone, without the seconds the operator takes to find the array gone.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from tests.e2e.dr.world import World, claim_of, observing, two_sites, writable_claim
from tests.integration.operator.conftest import is_true

from bench._world import env_float

NAME = "dr"
SPEC = {"replicationType": "ASYNC", "rpo": "1m", "syncInterval": "10s"}


def _round(world: World, name: str, *, noticed: bool) -> dict[str, float]:
    world.replica(name, claims=True, **SPEC)
    world.b.objects.wait_status("replicas", name, observing("TARGET"), timeout=60)
    on_b = int(world.b.status(name)["replicaId"])
    started = time.monotonic()
    world.dr("drill", name, "--site", "B")
    drill_start = time.monotonic() - started
    started = time.monotonic()
    world.dr("drill", name, "--site", "B", "--end")
    drill_end = time.monotonic() - started
    lost = world.lose_site_a()
    try:
        if noticed:
            world.b.objects.wait_status(
                "infiniboxes", "ibox-a", lambda s: not is_true(s, "Connected"), timeout=60
            )
            lost = time.monotonic()
        world.dr("failover", name, "--to", "B", "--unplanned")  # returns once the claim is writable
        failover = time.monotonic() - lost
        assert writable_claim(world.b, name) == name, world.b.status(name)
        assert claim_of(world.b, name)["status"]["phase"] == "Bound"
        assert world.on_array("ibox-2", on_b)["role"] == "SOURCE"
    finally:
        world.restore_site_a()
    world.a.objects.patch("replicas", name, {"spec": {"managementPolicy": "ObserveOnly"}})
    world.remove(name)
    key = "unplanned_failover_noticed" if noticed else "unplanned_failover"
    return {"drill_start": drill_start, "drill_end": drill_end, key: failover}


def run() -> dict[str, Any]:
    repeats = int(env_float("BENCH_DR_REPEATS", 3))
    rounds: list[dict[str, float]] = []
    with two_sites() as world:
        for index in range(2 * repeats):
            rounds.append(_round(world, f"bench-{index}", noticed=index % 2 == 1))
    figures: dict[str, Any] = {"repeats": repeats, "poll_interval_seconds": 1.0}
    for key in ("unplanned_failover", "unplanned_failover_noticed", "drill_start", "drill_end"):
        values = [r[key] for r in rounds if key in r]
        figures[f"{key}_seconds_median"] = round(statistics.median(values), 2)
        figures[f"{key}_seconds_max"] = round(max(values), 2)
    return figures
