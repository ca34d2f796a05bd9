"""Fixtures shared by every suite. The control plane is real and started once per session."""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from replica_operator.api import RESOURCES, crdgen
from tests.support.kube import Cluster
from tests.support.operator import OperatorProcess
from tests.support.wait import wait_for

ROOT = Path(__file__).resolve().parent.parent
CRDS = ROOT / "crds"
_SUITES = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by its folder (``-m unit`` selects a suite) and run the suites in that order:
    the fast ones fail first, and the e2e tests that run operators of their own come last."""

    def suite(item: pytest.Item) -> str:
        parts = Path(str(item.fspath)).relative_to(ROOT / "tests").parts
        return parts[0] if parts and parts[0] in _SUITES else "unit"

    for item in items:
        item.add_marker(getattr(pytest.mark, suite(item)))
    items.sort(key=lambda item: _SUITES.index(suite(item)))


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    """The real API server: an existing cluster when USE_EXISTING_CLUSTER=1, else a local control plane."""
    if os.environ.get("USE_EXISTING_CLUSTER") == "1":
        kubeconfig = os.environ.get("KUBECONFIG")
        if not kubeconfig:
            raise pytest.UsageError("USE_EXISTING_CLUSTER=1 needs KUBECONFIG to name the cluster")
        yield Cluster(kubeconfig=Path(kubeconfig))
        return
    from controlplane.cluster import ControlPlane

    with ControlPlane() as plane:
        yield Cluster(kubeconfig=plane.kubeconfig, control_plane=plane)


@pytest.fixture
def namespace(cluster: Cluster) -> Iterator[str]:
    """A fresh namespace per test. Namespaces never finalize here (no controller-manager); that is fine."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    cluster.kubectl("create", "namespace", name)
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture(scope="session")
def volume_binder(cluster: Cluster) -> Cluster:
    """Kubernetes' own PersistentVolume binder (kube-controller-manager) binds claims and volumes;
    an existing cluster has its own."""
    if cluster.control_plane is not None:
        cluster.control_plane.start_volume_binder()
    return cluster


@pytest.fixture(scope="session")
def crds(cluster: Cluster) -> list[str]:
    """Apply every file in crds/ and wait until the kinds are served; return the CRD names."""
    # kubectl's own field manager, as a user's `kubectl apply --server-side -f crds/` uses.
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CRDS))
    names = [crdgen.build_crd(resource)["metadata"]["name"] for resource in RESOURCES]
    cluster.kubectl(
        "wait", "--for=condition=Established", "--timeout=60s", *(f"crd/{name}" for name in names)
    )
    for plural in (resource.plural for resource in RESOURCES):
        wait_for(functools.partial(_served, cluster, plural), timeout=30, what=f"{plural} to be served")
    return names


def _served(cluster: Cluster, plural: str) -> bool:
    return cluster.kubectl("get", plural, "-A", check=False).returncode == 0


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    """Keep each phase's report on the item, so fixtures can tell whether the test failed."""
    report: pytest.TestReport = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def operator_process(cluster: Cluster, crds: list[str]) -> Iterator[OperatorProcess]:
    """One operator for the whole session (tests that need their own stop it: ``exclusive_operator``)."""
    process = OperatorProcess(cluster.kubeconfig)
    yield process
    process.close()


@pytest.fixture
def exclusive_operator(operator_process: OperatorProcess) -> OperatorProcess:
    """Stop the shared operator so that the test's own operator is the only one (it restarts on demand)."""
    operator_process.stop()
    return operator_process
