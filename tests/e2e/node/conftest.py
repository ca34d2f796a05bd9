"""A control plane with a real node (containerd + kubelet), the operator's image and the pause image in it."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from controlplane.node import NODE_PACKAGES, NodeControlPlane
from replica_image import Podman, ensure_image
from replica_image.host import ensure_packages
from tests.support.kube import Cluster


@pytest.fixture(scope="module")
def node_plane() -> Iterator[NodeControlPlane]:
    """etcd, kube-apiserver, controller-manager, scheduler, containerd and kubelet; all stop after."""
    timings: dict[str, float] = {}
    started = time.monotonic()
    ensure_packages(NODE_PACKAGES)
    image = ensure_image()
    timings["image"] = round(time.monotonic() - started, 1)
    started = time.monotonic()
    with NodeControlPlane() as plane:
        timings["node ready"] = round(time.monotonic() - started, 1)
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="iro-node-image-") as scratch:
            archive = Path(scratch) / "operator.tar"
            Podman(image.containers_conf).run("save", f"--output={archive}", image.tag)
            plane.import_image(archive)
        timings["image import"] = round(time.monotonic() - started, 1)
        print(f"\nnode control plane; seconds: {json.dumps(timings)}")
        yield plane


@pytest.fixture(scope="module")
def node_cluster(node_plane: NodeControlPlane) -> Cluster:
    return Cluster(node_plane.kubeconfig, control_plane=node_plane)
