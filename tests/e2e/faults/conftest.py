"""The fault suite's fixtures: one world per module, its fleet, and the checks at the end."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.e2e.faults.world import World
from tests.integration.operator.conftest import Objects, assert_password_nowhere
from tests.support.arrays import SimArrays, operator_simulator
from tests.support.kube import Cluster
from tests.support.operator import OperatorProcess, assert_no_unexpected_tracebacks
from tests.support.wait import wait_for

FLEET = 100


@pytest.fixture(scope="module")
def world(cluster: Cluster, crds: list[str], operator_process: OperatorProcess) -> Iterator[World]:
    namespace = f"t-faults-{uuid.uuid4().hex[:6]}"
    cluster.kubectl("create", "namespace", namespace)
    cluster.credentials_secret(namespace, "creds")
    if operator_process.process is None:
        operator_process.start()
    offset = len(operator_process.log())
    # Link-down must show AUTO_SUSPENDED at once here (the CLI default waits 24 h, as real arrays do).
    with operator_simulator(2, initial_sync_seconds=1, auto_suspend_after_seconds=0) as simulator:
        objects = Objects(cluster, namespace)
        prefix = uuid.uuid4().hex[:6]
        world = World(
            cluster,
            objects,
            SimArrays(simulator),
            simulator,
            operator_process,
            f"f{prefix}-src",
            f"f{prefix}-dst",
        )
        for name, system in ((world.source, "ibox-1"), (world.target, "ibox-2")):
            objects.apply(
                {
                    "kind": "InfiniBox",
                    "metadata": {"name": name},
                    "spec": {
                        "url": simulator.url(system),
                        "pollInterval": "1s",
                        "credentialsSecretRef": {"name": "creds", "namespace": namespace},
                    },
                }
            )
        yield world
        simulator.admin("DELETE", "/_sim/faults")
        if operator_process.process is None:
            operator_process.start()
        cluster.kubectl("-n", namespace, "delete", "replicas", "--all", "--wait=false")
        wait_for(lambda: not world.listed(), timeout=120, interval=1.0, what="the fleet deleted")
        for name in (world.source, world.target):
            objects.delete("infiniboxes", name)
        for name in (world.source, world.target):
            objects.wait_gone("infiniboxes", name, timeout=60)
        log = operator_process.log()[offset:]
        assert_no_unexpected_tracebacks(log, "the fault suite")
        assert_password_nowhere(cluster, namespace, log)
        world.arrays.close()
    cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


@pytest.fixture(scope="module")
def fleet(world: World) -> list[str]:
    """100 Ready replicas the later scenarios disturb, each created with one POST."""
    names = world.volumes("fleet", FLEET)
    world.apply(names, rpo="5m", syncInterval="30s")
    world.converged(names)
    world.assert_created_once(names)
    return names
