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
from tests.support.wait import wait_for

ROOT = Path(__file__).resolve().parent.parent
CRDS = ROOT / "crds"
_SUITE_MARKERS = {"unit": pytest.mark.unit, "integration": pytest.mark.integration, "e2e": pytest.mark.e2e}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by its folder, so ``-m unit`` or ``-m integration`` selects a suite."""
    for item in items:
        parts = Path(str(item.fspath)).relative_to(ROOT / "tests").parts
        marker = _SUITE_MARKERS.get(parts[0]) if parts else None
        if marker is not None:
            item.add_marker(marker)


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
def crds(cluster: Cluster) -> list[str]:
    """Apply every file in crds/ and wait until the kinds are served; return the CRD names."""
    cluster.kubectl(
        "apply", "--server-side", "--force-conflicts", "--field-manager=api-tests", "-f", str(CRDS)
    )
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
