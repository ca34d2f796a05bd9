"""The base image: a minimal Debian with Python, made by debootstrap from the mirror apt already uses.

Docker Hub is not reachable here, and the Dockerfile's PYTHON_IMAGE takes any base with Python
3.11+ and its venv module. The root file system is cached as a tar keyed by suite and packages,
so a machine whose podman storage was wiped only imports it again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .host import Podman, image_cache, locked, timed

log = logging.getLogger(__name__)

DEFAULT_MIRROR = "http://deb.debian.org/debian"
APT_SOURCES = Path("/etc/apt/sources.list")
APT_SOURCES_DIR = Path("/etc/apt/sources.list.d")
#: Bumped when what ``_debootstrap`` does to the root file system changes: a new key, a new base.
RECIPE = 2


@dataclass(frozen=True)
class BaseSpec:
    """What the base holds; its image name and cache file are keyed by exactly this."""

    suite: str = "bookworm"  # Python 3.11, the oldest the operator supports
    packages: tuple[str, ...] = ("python3", "python3-venv", "python-is-python3", "ca-certificates")

    @property
    def key(self) -> str:
        recipe = f"{RECIPE} {self.suite} {' '.join(sorted(self.packages))}"
        return hashlib.sha256(recipe.encode()).hexdigest()[:10]

    @property
    def image(self) -> str:
        return f"localhost/iro-base:{self.suite}-{self.key}"

    @property
    def archive(self) -> Path:
        return image_cache() / "base" / f"{self.suite}-{self.key}.tar"


def debian_mirror(suite: str, sources_dir: Path = APT_SOURCES_DIR, sources_list: Path = APT_SOURCES) -> str:
    """The archive URI apt is configured with for ``suite`` (deb822 .sources or one-line format)."""
    for path in sorted(sources_dir.glob("*.sources")):
        for stanza in re.split(r"\n\s*\n", path.read_text()):
            fields = dict(re.findall(r"^([A-Za-z-]+):\s*(.*)$", stanza, re.M))
            if "deb" in fields.get("Types", "").split() and suite in fields.get("Suites", "").split():
                return str(fields["URIs"].split()[0])
    for path in [sources_list, *sorted(sources_dir.glob("*.list"))]:
        if path.exists():
            for line in path.read_text().splitlines():
                match = re.match(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+(\S+)", line)
                if match and match.group(2) == suite:
                    return match.group(1)
    return DEFAULT_MIRROR


def ensure_base(podman: Podman, spec: BaseSpec, timings: dict[str, float]) -> str:
    """The base image's name: imported already, else from the cached tar, else debootstrapped."""
    if podman.image_exists(spec.image):
        return spec.image
    with locked("base"):
        if not spec.archive.exists():
            with timed(timings, "debootstrap"):
                _debootstrap(spec)
        if not podman.image_exists(spec.image):
            with timed(timings, "import"):
                podman.run("import", str(spec.archive), spec.image)
    return spec.image


def _debootstrap(spec: BaseSpec) -> None:
    """debootstrap into a temp dir next to the cache, then tar it into place atomically."""
    mirror = debian_mirror(spec.suite)
    spec.archive.parent.mkdir(parents=True, exist_ok=True)
    log.warning("debootstrapping %s from %s (first run only; a few minutes)", spec.suite, mirror)
    work = Path(tempfile.mkdtemp(dir=spec.archive.parent, prefix=".debootstrap-"))
    rootfs = work / "rootfs"
    try:
        subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(spec.packages)}",
                spec.suite,
                str(rootfs),
                mirror,
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=1200,
        )
        _drop_apt_downloads(rootfs)
        partial = work / "rootfs.tar"
        # --one-file-system: nothing of a /proc or /sys debootstrap may have left mounted.
        subprocess.run(
            ["tar", "--one-file-system", "--numeric-owner", "-C", str(rootfs), "-cf", str(partial), "."],
            check=True,
            timeout=600,
        )
        os.replace(partial, spec.archive)
    except subprocess.CalledProcessError as error:
        output = (error.stderr or "")[-4000:]
        raise RuntimeError(f"{error.cmd[0]} failed ({error.returncode}):\n{output}") from None
    finally:
        _remove_tree(work)


def _drop_apt_downloads(rootfs: Path) -> None:
    """The .debs debootstrap installed and apt's lists: ~40 MB nobody needs in an image."""
    for pattern in ("var/cache/apt/archives/*.deb", "var/lib/apt/lists/*_*"):
        for path in rootfs.glob(pattern):
            path.unlink()


def _remove_tree(path: Path) -> None:
    """Remove a debootstrap work dir, never descending into a file system still mounted in it."""
    mounts = [
        line.split()[1]
        for line in Path("/proc/self/mounts").read_text().splitlines()
        if line.split()[1].startswith(f"{path}/")
    ]
    for mount in sorted(mounts, reverse=True):
        subprocess.run(["umount", "--lazy", mount], check=False, timeout=60)
    shutil.rmtree(path, ignore_errors=True)
