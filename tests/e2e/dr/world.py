"""The two-site world: two control planes (site A, site B), one operator per cluster, two arrays.

The arrays are the two systems of one ``ibox-sim`` process: the simulator replicates between
systems of one process only, so two processes could not carry a pair. "Site A's array is
gone" is the simulator's own fault injection: every connection to ibox-1 dropped, and the
replication link down, as a site without power looks from site B. Site A's cluster is gone
too: its operator is SIGKILLed and its kube-apiserver stopped (etcd keeps its data, as the
disks of a site without power do, so that the site can come back with its stale objects).

Each site has an InfiniBox object for both arrays, under the same names on both sites
(``ibox-a`` for ibox-1 beside site A, ``ibox-b`` for ibox-2 beside site B), and the same
replication object under the same name, whose ``spec.source`` names the site's own array.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import CRDS
from tests.integration.operator.conftest import Objects, is_true
from tests.support.arrays import SimArrays, operator_simulator
from tests.support.kube import Cluster
from tests.support.operator import OPERATOR, OperatorProcess
from tests.support.wait import wait_for

from controlplane.binaries import ensure_node
from controlplane.cluster import ControlPlane, _Process, free_port
from ibox_sim.testing import RunningSimulator
from replica_operator.api import GROUP, RESOURCES, VERSION, crdgen
from replica_operator.reconcile import CsiProtocol, StaticClaim, static_manifests

NAMESPACE = "app"
ARRAYS = {"ibox-a": "ibox-1", "ibox-b": "ibox-2"}
LINK = "/_sim/links/ibox-1/to-ibox-2"


@dataclass
class Site:
    name: str
    cluster: Cluster
    objects: Objects
    operator: OperatorProcess
    array: str  # the InfiniBox object beside this site

    @property
    def other_array(self) -> str:
        return next(name for name in ARRAYS if name != self.array)

    def status(self, name: str) -> dict[str, Any]:
        return dict((self.objects.get("replicas", name) or {}).get("status") or {})


@dataclass
class World:
    a: Site
    b: Site
    arrays: SimArrays
    simulator: RunningSimulator

    def filesystem_replica(self, name: str, **spec: Any) -> None:
        """The pair of filesystem ``name`` on ibox-1: Full on site A, ObserveOnly on site B."""
        self.arrays.filesystem("ibox-1", name)
        source = {"filesystem": name}
        self.a.objects.apply(_replica(name, self.a, {"pool": "pool-1"}, "Full", spec, source))
        self.a.objects.wait_status("replicas", name, _synchronized, timeout=90, what="site A Ready")
        target = {"mode": "Existing", "name": name}
        self.b.objects.apply(_replica(name, self.b, target, "ObserveOnly", spec, source))

    def nas_space(self, system: str, name: str, address: str) -> dict[str, Any]:
        """A NAS network space with one address on ``system`` (where NFS clients mount from)."""
        body = {"name": name, "service": "NAS_SERVICE", "network_config": {}, "interfaces": []}
        space = self.arrays.call(system, "POST", "/network/spaces", body)
        return dict(self.arrays.call(system, "POST", f"/network/spaces/{space['id']}/ips", address))

    def replica(self, name: str, *, claims: bool = False, **spec: Any) -> None:
        """The pair of ``name``: a volume on ibox-1, Full on site A, ObserveOnly on site B.

        ``claims``: the application's claim ``name`` on site A (a PV as the CSI driver provisions
        it, bound by kube-controller-manager) is the Replica's source there, and site B's object
        asks for a claim of the same name of its own volume (spec.source.localClaim)."""
        volume = self.arrays.volume("ibox-1", name)
        source: dict[str, Any] = {"volume": name}
        if claims:
            for manifest in static_manifests(
                StaticClaim(app_pv(name), name, NAMESPACE, int(volume["id"]), CsiProtocol.ISCSI, "1Gi")
            ):
                self.a.cluster.kubectl("apply", "-f", "-", input=json.dumps(manifest))
            source = {"persistentVolumeClaim": name}
        self.a.objects.apply(_replica(name, self.a, {"pool": "pool-1"}, "Full", spec, source))
        self.a.objects.wait_status("replicas", name, _synchronized, timeout=90, what="site A Ready")
        local = {"volume": name, "localClaim": {"name": name}} if claims else None
        self.b.objects.apply(
            _replica(name, self.b, {"mode": "Existing", "name": name}, "ObserveOnly", spec, local)
        )

    def group(self, name: str, members: list[str], **spec: Any) -> dict[str, Any]:
        """A ConsistencyGroupReplica ``name`` of a group on ibox-1: Full on site A, ObserveOnly on
        site B (its source the target group on ibox-2); site A's status once synchronised."""
        self.arrays.consistency_group("ibox-1", name, members)
        plural = "consistencygroupreplicas"
        for site, source, target, policy in (
            (self.a, name, {"pool": "pool-1"}, "Full"),
            (self.b, None, {"mode": "Existing", "name": name}, "ObserveOnly"),
        ):
            if source is None:
                remote = self.a.objects.wait_status(plural, name, _synchronized, timeout=90, what="A Ready")
                source = str(remote["currentTarget"]["entity"])
                pairs = [{"local": m["remote"], "remote": m["local"]} for m in remote["members"]]
                target = {**target, "memberMappings": pairs}
            body = _replica(name, site, target, policy, spec, {"consistencyGroup": source})
            site.objects.apply({**body, "kind": "ConsistencyGroupReplica"})
        return self.b.objects.wait_status(plural, name, observing("TARGET"), timeout=90, what="B observes")

    def remove(self, name: str) -> None:
        """The pair's objects deleted on both sites (Orphan: the arrays keep the replica), and the
        claims and PersistentVolumes a ``claims`` pair has (Retain: the volumes stay)."""
        made = (self.b.status(name).get("localClaim") or {}).get("persistentVolume")
        for site in (self.a, self.b):
            wait_gone(site, name)
            site.cluster.kubectl("-n", NAMESPACE, "delete", "pvc", name, "--ignore-not-found")
        for site, pv in ((self.a, app_pv(name)), (self.b, made)):
            if pv:
                site.cluster.kubectl("delete", "pv", pv, "--ignore-not-found")

    def dr(
        self, *args: str, step_timeout: float = 120, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """``replica-operator dr`` as an operator on call runs it, with both sites' kubeconfigs."""
        result = subprocess.run(
            [
                str(OPERATOR),
                "dr",
                f"--site-a={self.a.cluster.kubeconfig}",
                f"--site-b={self.b.cluster.kubeconfig}",
                f"--namespace={NAMESPACE}",
                f"--timeout={step_timeout}",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=4 * step_timeout + 60,
            env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"},
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"dr {' '.join(args)}: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
            )
        return result

    def on_array(self, system: str, replica_id: int) -> dict[str, Any]:
        found = self.arrays.replica(system, replica_id)
        assert found is not None, f"replica {replica_id} gone from {system}"
        return found

    def lose_site_a(self) -> float:
        """Site A's cluster and array are gone; return the moment (monotonic) it happened."""
        self.a.operator.kill()
        self.a.cluster.control_plane.stop_apiserver()
        self.arrays.admin("PUT", "/_sim/faults", {"drop_rate": 1.0, "systems": ["ibox-1"]})
        self.arrays.admin("PUT", LINK, {"state": "DOWN"})
        return time.monotonic()

    def restore_site_a(self) -> None:
        """Site A comes back: array, link, API server (with its stale objects) and operator."""
        self.arrays.admin("DELETE", "/_sim/faults")
        self.arrays.admin("PUT", LINK, {"state": "UP"})
        self.a.cluster.control_plane.start_apiserver()
        self.a.operator.start()

    def mutations(self, since: int, path: str) -> list[dict[str, Any]]:
        return [r for r in self.arrays.requests(since) if r["method"] != "GET" and path in r["path"]]

    def mark(self) -> int:
        log = self.arrays.requests()
        return int(log[-1]["seq"]) if log else 0


def app_pv(name: str) -> str:
    """Site A's application PersistentVolume of a ``claims`` pair."""
    return f"app-{name}"


def claim_of(site: Site, name: str) -> dict[str, Any]:
    """The claim ``name`` on ``site`` as the API server has it."""
    return dict(site.cluster.kubectl_json("-n", NAMESPACE, "get", "pvc", name))


def writable_claim(site: Site, name: str) -> str | None:
    """The name in status.writableClaim of ``site``'s object (None: no claim is writable there)."""
    return (site.status(name).get("writableClaim") or {}).get("name")


def _replica(
    name: str,
    site: Site,
    target: dict[str, Any],
    policy: str,
    spec: dict[str, Any],
    source: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Replica",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "source": {"array": site.array, **(source or {"volume": name})},
            "target": {"array": site.other_array, **target},
            "managementPolicy": policy,
            **spec,
        },
    }


def _synchronized(status: dict[str, Any]) -> bool:
    return is_true(status, "Ready") and status.get("syncState") == "SYNCHRONIZED"


def observing(role: str) -> Any:
    """A check: the object reports the pair with its array in ``role``, Ready and RPO compliant."""

    def check(status: dict[str, Any]) -> bool:
        return status.get("role") == role and is_true(status, "Ready") and is_true(status, "RPOCompliant")

    return check


def wait_gone(site: Site, name: str, plural: str = "replicas") -> None:
    site.objects.patch(plural, name, {"spec": {"deletionPolicy": "Orphan"}})
    site.objects.delete(plural, name)
    wait_for(lambda: site.objects.get(plural, name) is None, timeout=60, what=f"{name} gone on {site.name}")


class Sampler:
    """Reads the SOURCE replica from the array every half second while the ``with`` block runs."""

    def __init__(self, world: World, replica_id: int) -> None:
        self.world, self.replica_id = world, replica_id
        self.seen: list[tuple[str, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="replica-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            replica = self.world.arrays.replica("ibox-1", self.replica_id)
            if replica is not None:
                self.seen.append((str(replica["state"]), str(replica["sync_state"])))

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=15)


class StorageControlPlane(ControlPlane):
    """etcd + kube-apiserver + kube-controller-manager with the volume controllers only, so claims
    are bound, and claims and PersistentVolumes are let go, by Kubernetes' own controllers."""

    def start(self) -> StorageControlPlane:
        super().start()
        assert self.pki is not None
        kubeconfig = str(self.kubeconfig)
        self._kcm = _Process(
            "kube-controller-manager",
            [
                str(ensure_node().kube_controller_manager),
                f"--kubeconfig={kubeconfig}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
                "--bind-address=127.0.0.1",
                f"--secure-port={free_port()}",
                "--leader-elect=false",
                "--controllers=persistentvolume-binder,pv-protection,pvc-protection",
                "--v=1",
            ],
            self.workdir / "kube-controller-manager.log",
        )
        self._kcm.start(die_with_parent=self.die_with_parent)
        return self

    def stop(self) -> None:
        kcm = getattr(self, "_kcm", None)
        if kcm is not None:
            kcm.stop()
        super().stop()


def _site(stack: contextlib.ExitStack, name: str, array: str, urls: dict[str, str]) -> Site:
    plane = stack.enter_context(StorageControlPlane())
    cluster = Cluster(kubeconfig=plane.kubeconfig, control_plane=plane)
    cluster.kubectl("apply", "--server-side", "-f", str(CRDS))
    crds = [f"crd/{crdgen.build_crd(resource)['metadata']['name']}" for resource in RESOURCES]
    cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", *crds)
    cluster.kubectl("create", "namespace", NAMESPACE)
    cluster.credentials_secret(NAMESPACE, "creds")
    objects = Objects(cluster, NAMESPACE)
    wait_for(lambda: cluster.kubectl("get", "replicas", "-A", check=False).returncode == 0, timeout=30)
    for ibox, system in ARRAYS.items():
        objects.apply(
            {
                "kind": "InfiniBox",
                "metadata": {"name": ibox},
                "spec": {
                    "url": urls[system],
                    "pollInterval": "1s",
                    "credentialsSecretRef": {"name": "creds", "namespace": NAMESPACE},
                },
            }
        )
    operator = OperatorProcess(plane.kubeconfig, startup_timeout=120)
    stack.callback(operator.close)
    operator.start()
    for ibox in ARRAYS:
        objects.wait_status("infiniboxes", ibox, lambda s: is_true(s, "Connected"), timeout=60)
    return Site(name, cluster, objects, operator, array)


@contextlib.contextmanager
def two_sites() -> Iterator[World]:
    """Both sites, their operators and the arrays; everything stops when the block ends."""
    with contextlib.ExitStack() as stack:
        simulator = stack.enter_context(operator_simulator(2, initial_sync_seconds=1))
        arrays = SimArrays(simulator)
        stack.callback(arrays.close)
        urls = {system: simulator.url(system) for system in ARRAYS.values()}
        a = _site(stack, "A", "ibox-a", urls)
        b = _site(stack, "B", "ibox-b", urls)
        yield World(a, b, arrays, simulator)
