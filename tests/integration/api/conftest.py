"""The CRDs installed once per session into the real API server, and a namespace per module."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.support.kube import Cluster


@pytest.fixture(scope="module")
def module_namespace(cluster: Cluster, crds: list[str]) -> Iterator[str]:
    """One namespace for a module whose tests only dry-run or use distinct names."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    cluster.kubectl("create", "namespace", name)
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)
