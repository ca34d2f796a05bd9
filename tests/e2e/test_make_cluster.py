"""`make cluster` gives a usable kubeconfig; `make cluster-down` leaves no process and no temp dir."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from controlplane.cluster import group_alive
from tests.conftest import ROOT
from tests.support.kube import KUBECTL


def _make(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_make_cluster_then_cluster_down(tmp_path: Path) -> None:
    local = tmp_path / "local"
    up = _make("cluster", f"LOCAL={local}")
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        state = json.loads((local / "controlplane.json").read_text())
        namespaces = subprocess.run(
            [str(KUBECTL), f"--kubeconfig={local / 'kubeconfig'}", "get", "ns"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert namespaces.returncode == 0, namespaces.stderr
        assert "kube-system" in namespaces.stdout
        assert set(state["process_groups"]) == {"etcd", "kube-apiserver"}
        assert all(group_alive(pgid) for pgid in state["process_groups"].values())
        assert Path(state["workdir"]).is_dir()
    finally:
        down = _make("cluster-down", f"LOCAL={local}")
    assert down.returncode == 0, down.stdout + down.stderr
    assert not any(group_alive(pgid) for pgid in state["process_groups"].values())
    assert not Path(state["workdir"]).exists()
    assert not (local / "kubeconfig").exists()
    assert not (local / "controlplane.json").exists()
