"""Fixtures of the shipping tests: the real helm, and throw-away namespaces."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from tests.e2e.shipping.helpers import Helm, helm_binary
from tests.support.kube import Cluster


@pytest.fixture(scope="session")
def helm() -> Helm:
    """helm without a cluster: lint and template."""
    return Helm(helm_binary())


@pytest.fixture
def kube_helm(cluster: Cluster) -> Helm:
    """helm bound to the test cluster by --kubeconfig."""
    return Helm(helm_binary(), kubeconfig=cluster.kubeconfig)


@pytest.fixture
def make_namespace(cluster: Cluster) -> Iterator[Callable[[str], str]]:
    """Create extra namespaces (``t-<prefix>-<random>``) for a test; delete them afterwards."""
    created: list[str] = []

    def make(prefix: str) -> str:
        name = f"t-{prefix}-{uuid.uuid4().hex[:8]}"
        cluster.kubectl("create", "namespace", name)
        created.append(name)
        return name

    yield make
    for name in created:
        cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture
def release_name() -> str:
    """A release name unique in the cluster (cluster-scoped objects are named after it)."""
    return f"iro-{uuid.uuid4().hex[:8]}"
