"""Issue 8: the fault suite. With 100 replicas in flight the operator is killed, the arrays fail,
the API server restarts and the link drops; after each, every object is Ready again, each has
exactly one replica on the arrays, and no object is lost."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import kubernetes
import pytest
import urllib3
import yaml

from ibox_sim.testing import RunningSimulator, run_simulator
from replica_operator.api import GROUP, VERSION
from replica_operator.leadership import LOST_EXIT_CODE
from tests.integration.operator.conftest import Objects, is_true
from tests.support.arrays import SimArrays
from tests.support.kube import Cluster
from tests.support.operator import OperatorProcess
from tests.support.wait import wait_for

FLEET = 100
SEED = 20261125


@dataclass
class World:
    cluster: Cluster
    objects: Objects
    arrays: SimArrays
    simulator: RunningSimulator
    operator: OperatorProcess
    source: str
    target: str

    @property
    def namespace(self) -> str:
        return self.objects.namespace

    def volumes(self, prefix: str, count: int = FLEET) -> list[str]:
        names = [f"{prefix}-{i:03d}" for i in range(count)]
        for name in names:
            self.arrays.volume("ibox-1", name)
        return names

    def apply(self, names: list[str], **spec: Any) -> None:
        manifests = [
            {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "Replica",
                "metadata": {"name": name, "namespace": self.namespace},
                "spec": {
                    "source": {"array": self.source, "volume": name},
                    "target": {"array": self.target, "pool": "pool-1"},
                    **spec,
                },
            }
            for name in names
        ]
        self.cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(manifests), timeout=120)

    def listed(self) -> dict[str, dict[str, Any]]:
        items = self.objects.api.list_namespaced_custom_object(GROUP, VERSION, self.namespace, "replicas")[
            "items"
        ]
        return {item["metadata"]["name"]: item for item in items}

    def converged(self, names: list[str], *, timeout: float = 180) -> dict[str, dict[str, Any]]:
        """Wait until every object is Ready and SYNCHRONIZED; then check the arrays one by one."""

        def probe() -> dict[str, dict[str, Any]]:
            items = self.listed()
            missing = [n for n in names if n not in items]
            assert not missing, f"objects lost: {missing[:5]}"
            waiting = {
                n: _why(items[n])
                for n in names
                if not (
                    is_true(items[n].get("status") or {}, "Ready")
                    and (items[n].get("status") or {}).get("syncState") == "SYNCHRONIZED"
                )
            }
            assert not waiting, f"{len(waiting)} not Ready, e.g. {list(waiting.items())[:3]}"
            return items

        items = wait_for(probe, timeout=timeout, interval=1.0, what=f"{len(names)} objects Ready")
        self.assert_one_replica_each(items, names)
        return items

    def assert_one_replica_each(self, items: dict[str, dict[str, Any]], names: list[str]) -> None:
        on_source = self.arrays.replicas("ibox-1")
        by_owner: dict[str, list[int]] = {}
        for replica in on_source:
            for token in (replica.get("description") or "").split():
                if token.startswith("k8s-uid="):
                    by_owner.setdefault(token.removeprefix("k8s-uid="), []).append(replica["id"])
        for name in names:
            body = items[name]
            owned = by_owner.get(body["metadata"]["uid"], [])
            assert owned == [body["status"]["replicaId"]], f"{name}: replicas {owned} on the array"
        targets = [r for r in self.arrays.replicas("ibox-2") if r["role"] == "TARGET"]
        assert len(targets) == len(on_source)


def _why(item: dict[str, Any]) -> str:
    """What an object that is not Ready says about itself: a condition with a reason, always."""
    conditions = {c["type"]: c for c in (item.get("status") or {}).get("conditions") or []}
    ready = conditions.get("Ready")
    if ready is None:
        return "no status yet"
    assert ready.get("reason"), f"{item['metadata']['name']}: Ready without a reason"
    synced = conditions.get("Synced", {})
    return f"{ready['reason']}/{synced.get('reason')}"


@pytest.fixture(scope="module")
def world(cluster: Cluster, crds: list[str], operator_process: OperatorProcess) -> Iterator[World]:
    namespace = f"t-faults-{uuid.uuid4().hex[:6]}"
    cluster.kubectl("create", "namespace", namespace)
    cluster.credentials_secret(namespace, "creds")
    if operator_process.process is None:
        operator_process.start()
    # Link-down must show AUTO_SUSPENDED at once here (the CLI default waits 24 h, as real arrays do).
    with run_simulator(2, initial_sync_seconds=1, auto_suspend_after_seconds=0) as simulator:
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
        world.arrays.close()
    cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


@pytest.fixture(scope="module")
def fleet(world: World) -> list[str]:
    """100 Ready replicas the later scenarios disturb."""
    names = world.volumes("fleet")
    world.apply(names, rpo="5m", syncInterval="30s")
    world.converged(names)
    return names


def test_a_operator_killed_three_times_during_creation(world: World) -> None:
    rng = random.Random(SEED)
    names = world.volumes("kill")
    world.apply(names)
    for point in sorted(rng.sample(range(5, FLEET - 5), 3)):
        # Kill when the array holds `point` of these replicas: mid-creation, status partly written.
        wait_for(
            lambda point=point: len(_ours(world, "kill")) >= point,  # type: ignore[misc]
            timeout=120,
            interval=0.2,
            what=f"{point} created",
        )
        world.operator.kill()
        world.operator.start()
    world.converged(names)


def test_b_errors_and_dropped_connections_on_the_arrays(world: World, fleet: list[str]) -> None:
    late = world.volumes("late", 20)
    world.arrays.admin("PUT", "/_sim/faults", {"error_rate": 0.2, "drop_rate": 0.2})
    world.apply(fleet, rpo="10m", syncInterval="1m")  # a change for all 100 while the arrays fail
    world.apply(late)  # and 20 creations
    # The worst case for creation: the array acts, then the answer is lost or replaced by a 5xx.
    world.arrays.admin("PUT", "/_sim/faults", {"error_rate": 0.2, "drop_rate": 0.2, "phase": "after"})
    wait_for(
        lambda: len(_ours(world, "late")) >= 10, timeout=120, interval=1.0, what="creations under faults"
    )
    world.arrays.admin("DELETE", "/_sim/faults")
    items = world.converged(fleet + late)
    assert {items[n]["status"]["rpo"] for n in fleet} == {"10m"}
    assert {r["rpo_value"] for r in _ours(world, "fleet")} == {600_000}
    events = world.cluster.kubectl_json("-n", world.namespace, "get", "events")["items"]
    assert "ArrayUnreachable" in {event["reason"] for event in events}  # the failures were reported


def _restart_if_it_lost_the_lease(cluster: Cluster, operator: OperatorProcess, back: float) -> None:
    """Do what the kubelet does: a leader that could not renew its Lease within the renew deadline
    (the API server was away longer) exits non-zero and is started again. Wait until it has either
    renewed since the API server came ``back`` or exited."""
    leases = kubernetes.client.CoordinationV1Api(cluster.api_client())

    def settled() -> str | None:
        assert operator.process is not None
        if operator.process.poll() is not None:
            return "exited"
        try:
            lease = leases.read_namespaced_lease(operator.lease_name, "default")
        except (kubernetes.client.ApiException, urllib3.exceptions.HTTPError):
            return None
        renewed = lease.spec.renew_time if lease.spec is not None else None
        return "renewed" if renewed is not None and renewed.timestamp() > back else None

    if (
        wait_for(settled, timeout=60, interval=0.2, what="the operator renewed its Lease or exited")
        == "exited"
    ):
        assert operator.process is not None
        assert operator.process.returncode == LOST_EXIT_CODE, operator.log()[-4000:]
        operator.process = None
        operator.start()


def test_c_kube_apiserver_restart(world: World, fleet: list[str], cluster: Cluster) -> None:
    if cluster.control_plane is None:
        pytest.skip("USE_EXISTING_CLUSTER: the tests cannot restart someone else's API server")
    world.apply(fleet, rpo="15m", syncInterval="1m")
    cluster.control_plane.stop_apiserver()
    # While the API server is away the arrays change: the operator must notice after it returns.
    for replica in _ours(world, "fleet")[:10]:
        world.arrays.call("ibox-1", "POST", f"/replicas/{replica['id']}/suspend")
    cluster.control_plane.start_apiserver()
    _restart_if_it_lost_the_lease(cluster, world.operator, time.time())
    # The operator puts back what changed on the arrays meanwhile (drift), and applies the spec.
    wait_for(
        lambda: {r["state"] for r in _ours(world, "fleet")} == {"ACTIVE"},
        timeout=120,
        interval=1.0,
        what="the replicas suspended behind its back resumed",
    )
    wait_for(
        lambda: (
            {(i.get("status") or {}).get("rpo") for n, i in world.listed().items() if n in fleet} == {"15m"}
        ),
        timeout=120,
        interval=1.0,
        what="the spec change applied",
    )
    items = world.converged(fleet)
    assert {items[n]["status"]["state"] for n in fleet} == {"ACTIVE"}


def test_d_link_down_and_up(world: World, fleet: list[str]) -> None:
    world.arrays.admin("PUT", "/_sim/links/ibox-1/to-ibox-2", {"state": "DOWN"})

    def all_suspended() -> dict[str, dict[str, Any]]:
        items = world.listed()
        waiting = [n for n in fleet if _condition(items[n], "Ready").get("reason") != "AutoSuspended"]
        assert not waiting, f"{len(waiting)} not yet AutoSuspended"
        return items

    down = wait_for(
        all_suspended, timeout=60, interval=1.0, what="every replica AUTO_SUSPENDED, with a reason"
    )
    assert all("AUTO_SUSPENDED" in _condition(down[n], "Ready")["message"] for n in fleet)
    world.arrays.admin("PUT", "/_sim/links/ibox-1/to-ibox-2", {"state": "UP"})
    world.converged(fleet)


def _ours(world: World, prefix: str) -> list[dict[str, Any]]:
    return [r for r in world.arrays.replicas("ibox-1") if f"/{prefix}-" in (r.get("description") or "")]


def _condition(item: dict[str, Any], kind: str) -> dict[str, Any]:
    return next((c for c in (item.get("status") or {}).get("conditions") or [] if c["type"] == kind), {})
