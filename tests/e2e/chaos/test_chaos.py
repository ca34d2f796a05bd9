"""Issue 14, the adversary (short run): two operator pods electing a leader, 104 objects over three
namespaces, 90 s of seeded random edits, deletions, leader kills, API server restarts,
simulator faults, link and url changes; then every invariant is checked (``CHAOS_SEED`` replays
the schedule). ``make chaos`` runs the same for 30 minutes."""

from __future__ import annotations

import json
import os

import pytest

from tests.e2e.chaos.adversary import seed_from_environment
from tests.e2e.chaos.run import chaos
from tests.support.kube import Cluster
from tests.support.operator import OperatorProcess

SECONDS = float(os.environ.get("CHAOS_SHORT_SECONDS", "90"))


@pytest.mark.timeout(600)
def test_the_invariants_hold_under_the_adversary(
    cluster: Cluster, crds: list[str], exclusive_operator: OperatorProcess
) -> None:
    if cluster.control_plane is None:
        pytest.skip("USE_EXISTING_CLUSTER: the adversary restarts the API server")
    figures = chaos(cluster, seconds=SECONDS, seed=seed_from_environment())
    print(json.dumps(figures.report()))
    assert figures.kills, figures.report()  # the adversary did strike
    assert figures.faults_injected, figures.report()
    assert figures.requests_checked, figures.report()
    assert figures.leaders >= 2, figures.report()  # the Lease changed hands: the standby was watched
    assert figures.protected_replicas == 40, figures.report()
    assert not figures.violations, "\n".join(figures.violations[:30])
