"""Issue 14 item 12: objects deleted while the operator's watch was away stop being users of their arrays.

The operator stays up; only its view of the API server goes: it reaches the API server through
a proxy that the test freezes. Meanwhile three objects are deleted for good (no finalizer). The
API server then restarts, so the watch comes back with a resourceVersion the new watch cache no
longer serves (410 Gone) and kopf lists afresh, without the DELETED events. kopf keeps what it
had indexed of the three; the operator's relist must drop them: InUse clears on the InfiniBox and
nothing of them is left in what the operator counts.
"""

from __future__ import annotations

import pytest

from tests.integration.operator.conftest import Env, ProxiedOperator, condition_of
from tests.integration.operator.test_costs import _replicas
from tests.support.kube import Cluster
from tests.support.operator import OperatorProcess
from tests.support.wait import wait_for

RELIST_INTERVAL = "2s"


def _counted_objects(operator: OperatorProcess) -> float:
    """The replication objects the operator holds in its indexes (its objects gauge, summed)."""
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in operator.metrics().splitlines()
        if line.startswith("replica_operator_objects{")
    )


def test_objects_deleted_while_the_watch_was_away_are_forgotten(
    env: Env, cluster: Cluster, proxied_operator: ProxiedOperator
) -> None:
    if cluster.control_plane is None:
        pytest.skip("restarts the API server: needs the tests' own control plane")
    # Its own namespace only: the objects it counts are this test's, whatever other tests left.
    proxy, own = proxied_operator(
        "--kube-request-timeout", "2s", "--relist-interval", RELIST_INTERVAL, "--namespace", env.namespace
    )
    staying = _replicas(env, env.source, env.target, 1, managementPolicy="ObserveOnly")[0]
    names = [
        env.objects.apply(
            {
                "kind": "Replica",
                "metadata": {"name": env.name(f"gone{number}"), "namespace": env.namespace},
                "spec": {
                    "source": {"array": env.source, "volume": env.name(f"gone{number}")},
                    "target": {"array": env.target, "pool": "pool-1"},
                    "managementPolicy": "ObserveOnly",
                },
            }
        )["metadata"]["name"]
        for number in range(3)
    ]
    env.objects.wait_status(
        "infiniboxes",
        env.source,
        lambda s: all(name in condition_of(s, "InUse").get("message", "") for name in [staying, *names]),
        what="InUse naming all four",
    )
    wait_for(lambda: _counted_objects(own) == 4, timeout=30, what="four objects counted")
    proxy.freeze()
    for name in names:
        env.objects.patch("replicas", name, {"metadata": {"finalizers": None}})
        env.objects.delete("replicas", name)
        env.objects.wait_gone("replicas", name)
    control_plane = cluster.control_plane
    control_plane.stop_apiserver()
    proxy.reset()  # the operator's connections end with the API server, the frozen ones too
    proxy.thaw()
    control_plane.start_apiserver()
    status = env.objects.wait_status(
        "infiniboxes",
        env.source,
        lambda s: (
            staying in (m := condition_of(s, "InUse").get("message", "")) and not any(n in m for n in names)
        ),
        timeout=60,
        what="InUse naming only the object that stayed",
    )
    assert condition_of(status, "InUse")["status"] == "True"
    wait_for(lambda: _counted_objects(own) == 1, timeout=30, what="one object counted")
    assert own.log().count("was deleted while the watch was away: forgotten") == len(names)
