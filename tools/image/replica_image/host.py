"""The machine's side: Debian's container tools, a containers.conf that works here, and podman.

Facts measured on this kind of machine (shared/CONTAINERS.md): root lacks CAP_SYS_RESOURCE and the
hard NOFILE limit is below podman's default ulimits, crun 1.8 refuses the hybrid cgroup layout
(runc does not), there is no systemd to manage cgroups or take events.
"""

from __future__ import annotations

import fcntl
import logging
import os
import resource
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from controlplane.binaries import cache_dir

log = logging.getLogger(__name__)

#: Debian packages the build needs (uidmap: podman's user-namespace helpers).
HOST_PACKAGES = ("podman", "buildah", "runc", "debootstrap", "uidmap")
#: Ulimits the containers get; podman's default (1048576) is above what root may set here.
ULIMIT = 16384


def image_cache() -> Path:
    """Where the image tooling keeps its files, beside the control-plane binaries."""
    return cache_dir() / "image"


@contextmanager
def locked(name: str) -> Iterator[None]:
    """One process at a time for a step (two test sessions must not debootstrap twice)."""
    directory = image_cache()
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / f".{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextmanager
def timed(timings: dict[str, float], step: str) -> Iterator[None]:
    """Add the wall time of the ``with`` body to ``timings[step]`` (seconds, one decimal)."""
    started = time.monotonic()
    try:
        yield
    finally:
        timings[step] = round(timings.get(step, 0.0) + time.monotonic() - started, 1)


def missing_packages(packages: tuple[str, ...] = HOST_PACKAGES) -> list[str]:
    """The packages dpkg does not have installed."""
    listed = subprocess.run(
        ["dpkg-query", "--show", "--showformat=${Package} ${db:Status-Status}\n", *packages],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    installed = {line.split()[0] for line in listed.stdout.splitlines() if line.split()[1:] == ["installed"]}
    return [package for package in packages if package not in installed]


def ensure_packages(packages: tuple[str, ...] = HOST_PACKAGES) -> list[str]:
    """apt-get install what is missing (one apt-get update first); return what was installed."""
    missing = missing_packages(packages)
    if not missing:
        return []
    if os.geteuid() != 0:
        raise RuntimeError(
            f"the image build needs Debian packages {' '.join(missing)}: run as root, or "
            f"`apt-get install {' '.join(missing)}` first"
        )
    with locked("apt"):
        missing = missing_packages(packages)
        if missing:
            env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
            log.warning("installing %s from Debian", " ".join(missing))
            subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, timeout=600)
            subprocess.run(
                ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
                check=True,
                env=env,
                timeout=1200,
            )
    return missing


def containers_conf_text() -> str:
    """The containers.conf podman needs on this machine (see the module docstring for why)."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nofile = ULIMIT if hard == resource.RLIM_INFINITY else min(ULIMIT, hard)
    return (
        "# Written by tools/image (replica_image.host); podman reads it through CONTAINERS_CONF.\n"
        "[containers]\n"
        f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc={ULIMIT}:{ULIMIT}"]\n'
        "\n[engine]\n"
        'runtime = "runc"\n'
        'cgroup_manager = "cgroupfs"\n'
        'events_logger = "file"\n'
    )


def ensure_containers_conf() -> Path:
    """Write the containers.conf under the cache (only when its text changed); return its path."""
    path = image_cache() / "containers.conf"
    text = containers_conf_text()
    if not path.exists() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(text)
        os.replace(temporary, path)
    return path


@dataclass(frozen=True)
class Podman:
    """Debian's podman with this project's containers.conf (CONTAINERS_CONF), as root."""

    containers_conf: Path

    @classmethod
    def configured(cls) -> Podman:
        return cls(ensure_containers_conf())

    @property
    def env(self) -> dict[str, str]:
        return os.environ | {"CONTAINERS_CONF": str(self.containers_conf)}

    def run(
        self, *args: str, check: bool = True, timeout: float = 600, capture: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """``podman ARGS``; with ``check``, a failure raises with podman's own output."""
        result = subprocess.run(
            ["podman", *args],
            env=self.env,
            capture_output=capture,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            output = f"\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}" if capture else ""
            raise RuntimeError(f"podman {' '.join(args[:3])} ... failed ({result.returncode}){output}")
        return result

    def image_exists(self, name: str) -> bool:
        return self.run("image", "exists", name, check=False).returncode == 0
