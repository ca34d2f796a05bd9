"""Every example is accepted by the real API server, as `kubectl apply -f examples/` would send it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.kube import Cluster

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
FILES = sorted(EXAMPLES.rglob("*.yaml"))
NAMESPACES = EXAMPLES / "00-namespace.yaml"


@pytest.fixture(scope="module")
def example_namespaces(cluster: Cluster, crds: list[str]) -> None:
    """Namespaces must really exist for objects in them to pass even a dry run."""
    cluster.kubectl("apply", "-f", str(NAMESPACES))


def test_examples_are_numbered_in_apply_order() -> None:
    top_level = [path.name for path in FILES if path.parent == EXAMPLES]
    assert top_level[0] == NAMESPACES.name
    assert all(name[:2].isdigit() for name in top_level)
    assert top_level == sorted(top_level)


@pytest.mark.parametrize("path", FILES, ids=lambda path: str(path.relative_to(EXAMPLES)))
def test_example_is_accepted(cluster: Cluster, example_namespaces: None, path: Path) -> None:
    result = cluster.kubectl("apply", "--dry-run=server", "--validate=strict", "-f", str(path))
    assert "(server dry run)" in result.stdout
    assert result.stderr == ""
