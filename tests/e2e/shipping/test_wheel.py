"""The operator's wheel ships the operator and nothing else (issue 13.4).

The simulator (ibox_sim), the control-plane launcher (controlplane) and the demo (replica_demo) are
distributions of their own; a user who installs infinibox-replica-operator gets replica_operator.
The wheel is built by pip, as a user or the Dockerfile builds it, from a copy of the sources so the
worktree gets no build/ or egg-info.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

BUILD_TIMEOUT_SECONDS = 300
_NOT_SOURCES = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    sources = tmp_path_factory.mktemp("sources")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, sources / name)
    shutil.copytree(ROOT / "operator", sources / "operator", ignore=_NOT_SOURCES)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", str(sources), "-w", str(out)],
        check=True,
        timeout=BUILD_TIMEOUT_SECONDS,
    )
    (built,) = out.glob("*.whl")
    assert built.name.startswith("infinibox_replica_operator-")
    return zipfile.ZipFile(built)


def _dist_info(wheel: zipfile.ZipFile, name: str) -> str:
    (path,) = [entry for entry in wheel.namelist() if entry.endswith(f".dist-info/{name}")]
    return wheel.read(path).decode()


def test_record_lists_replica_operator_as_the_only_top_level_package(wheel: zipfile.ZipFile) -> None:
    recorded = [line.split(",")[0] for line in _dist_info(wheel, "RECORD").splitlines() if line]
    top_level = {Path(path).parts[0] for path in recorded if ".dist-info" not in Path(path).parts[0]}
    assert top_level == {"replica_operator"}
    assert sorted(recorded) == sorted(wheel.namelist())


def test_top_level_txt_names_only_replica_operator(wheel: zipfile.ZipFile) -> None:
    assert _dist_info(wheel, "top_level.txt").split() == ["replica_operator"]


def test_the_wheel_holds_the_operator_and_its_command(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    assert {"replica_operator/__init__.py", "replica_operator/py.typed", "replica_operator/cli.py"} <= names
    assert "replica-operator = replica_operator.cli:main" in _dist_info(wheel, "entry_points.txt")
    assert not any(part in name for name in names for part in ("ibox_sim", "controlplane", "replica_demo"))
