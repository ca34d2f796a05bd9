"""``make chaos``: the long run of the chaos suite (issue 14), 30 min by default (``CHAOS_DURATION``,
seconds), ``CHAOS_SEED`` to replay a schedule. It runs the same code as the short run in
``make test`` (``tests/e2e/chaos``) on a control plane of its own and prints one JSON object of
figures: rounds, operations by kind, kills, API server restarts, faults injected, requests
checked, invariant violations (must be 0). Not a ``make bench`` scenario (no ``NAME``): it is
long, and it exits 1 when an invariant broke."""

from __future__ import annotations

import json
import os
import sys
import time

from tests.conftest import CRDS
from tests.e2e.chaos.adversary import seed_from_environment
from tests.e2e.chaos.run import chaos
from tests.support.kube import Cluster

from controlplane.cluster import ControlPlane


def main() -> int:
    seconds = float(os.environ.get("CHAOS_DURATION", "1800"))
    seed = seed_from_environment()
    started = time.monotonic()
    with ControlPlane() as plane:
        cluster = Cluster(kubeconfig=plane.kubeconfig, control_plane=plane)
        cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CRDS))
        cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd", "--all")
        figures = chaos(cluster, seconds=seconds, seed=seed)
    report = {"scenario": "chaos", "duration_seconds": seconds, **figures.report()}
    report["wall_seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(report), flush=True)
    for violation in figures.violations:
        print(violation, file=sys.stderr)
    return 1 if figures.violations else 0


if __name__ == "__main__":
    sys.exit(main())
