"""The CRDs installed once per session into the real API server, and a namespace per module."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from replica_operator.api import RESOURCES, crdgen
from tests.support.kube import Cluster
from tests.support.wait import wait_for

ROOT = Path(__file__).resolve().parents[3]
CRDS = ROOT / "crds"


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


@pytest.fixture(scope="module")
def module_namespace(cluster: Cluster, crds: list[str]) -> Iterator[str]:
    """One namespace for a module whose tests only dry-run or use distinct names."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    cluster.kubectl("create", "namespace", name)
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)
