"""The two-site world, started once for the DR runbooks and stopped with everything it started."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from tests.conftest import CRDS
from tests.e2e.dr.world import ARRAYS, NAMESPACE, Site, World
from tests.integration.operator.conftest import Objects, assert_password_nowhere, is_true
from tests.support.arrays import SimArrays, operator_simulator
from tests.support.kube import Cluster
from tests.support.operator import OperatorProcess, assert_no_unexpected_tracebacks
from tests.support.wait import wait_for

from controlplane.binaries import ensure_node
from controlplane.cluster import ControlPlane, _Process, free_port
from replica_operator.api import RESOURCES, crdgen


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


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with contextlib.ExitStack() as stack:
        simulator = stack.enter_context(operator_simulator(2, initial_sync_seconds=1))
        arrays = SimArrays(simulator)
        stack.callback(arrays.close)
        urls = {system: simulator.url(system) for system in ARRAYS.values()}
        a = _site(stack, "A", "ibox-a", urls)
        b = _site(stack, "B", "ibox-b", urls)
        yield World(a, b, arrays, simulator)
        for site in (a, b):
            if site.operator.process is not None:
                log = site.operator.log()
                assert_no_unexpected_tracebacks(log, f"site {site.name}")
                assert_password_nowhere(site.cluster, NAMESPACE, log)
