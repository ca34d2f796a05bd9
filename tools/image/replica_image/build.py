"""``podman build`` of the repository's Dockerfile on the debootstrapped base, with the host's pip setup.

Outgoing TLS is re-signed by a local CA on this kind of machine, so the RUN steps get the host's CA
bundle and a pip configuration derived from the host's (``pip config list``: files and PIP_*
variables alike) mounted read-only. Mounts on ``podman build`` exist only while a RUN step runs;
nothing of them lands in a layer.
"""

from __future__ import annotations

import ast
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .base import BaseSpec, ensure_base
from .host import Podman, ensure_packages, timed

log = logging.getLogger(__name__)

REPOSITORY = Path(__file__).resolve().parents[3]
IMAGE_NAME = "localhost/infinibox-replica-operator"
#: Where the build sees the host's CA bundle (Debian's path, which OpenSSL and pip's config use).
CA_IN_BUILD = "/etc/ssl/certs/ca-certificates.crt"
#: pip settings that describe how to reach the registry; paths of the host (find-links) do not carry.
PIP_KEYS = {"index-url", "extra-index-url", "trusted-host", "timeout", "default-timeout", "retries", "proxy"}


@dataclass
class HostSetup:
    """What root set up once: the base image and podman's configuration, with each step's seconds."""

    base: str
    containers_conf: Path
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class BuiltImage(HostSetup):
    """The image's tag besides the setup; ``timings`` holds the steps this call ran (cached ones: absent)."""

    tag: str = ""


def ensure_host(spec: BaseSpec | None = None) -> HostSetup:
    """Packages, containers.conf and the base image: everything root must set up once."""
    timings: dict[str, float] = {}
    with timed(timings, "host packages"):
        ensure_packages()
    podman = Podman.configured()
    base = ensure_base(podman, spec or BaseSpec(), timings)
    return HostSetup(base=base, containers_conf=podman.containers_conf, timings=timings)


def ensure_image(tag: str | None = None, spec: BaseSpec | None = None) -> BuiltImage:
    """Set up the host (no-op when done) and build the image (podman's layer cache makes a rebuild
    of unchanged sources take seconds)."""
    started = time.monotonic()
    host = ensure_host(spec)
    built = BuiltImage(**vars(host), tag=tag or f"{IMAGE_NAME}:{version()}")
    podman = Podman(built.containers_conf)
    with tempfile.TemporaryDirectory(prefix="iro-image-") as scratch, timed(built.timings, "build"):
        settings = host_pip_config()
        pip_conf = Path(scratch) / "pip.conf"
        pip_conf.write_text(build_pip_conf(settings))
        pip_conf.chmod(0o644)
        log.warning("building %s on %s", built.tag, built.base)
        podman.run(
            "build",
            "--network=host",
            f"--volume={host_ca_bundle(settings)}:{CA_IN_BUILD}:ro",
            f"--volume={pip_conf}:/etc/pip.conf:ro",
            f"--build-arg=PYTHON_IMAGE={built.base}",
            f"--build-arg=VERSION={version()}",
            f"--build-arg=REVISION={revision()}",
            f"--tag={built.tag}",
            f"--file={REPOSITORY / 'Dockerfile'}",
            str(REPOSITORY),
            timeout=1800,
            capture=False,  # podman's own progress, on the terminal or in pytest's captured output
        )
    built.timings["total"] = round(time.monotonic() - started, 1)
    return built


def version() -> str:
    return str(tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["project"]["version"])


def revision() -> str:
    result = subprocess.run(
        ["git", "-C", str(REPOSITORY), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    )
    return result.stdout.strip() if result.returncode == 0 else "unknown"


def host_pip_config() -> dict[str, str]:
    """pip's effective settings on the host, as ``pip config list`` prints them (files, then PIP_*)."""
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return parse_pip_config_list(listed.stdout)


def parse_pip_config_list(text: str) -> dict[str, str]:
    """``scope.key='value'`` lines; the global, install and environment scopes, later ones winning."""
    settings: dict[str, str] = {}
    for line in text.splitlines():
        match = re.match(r"^(?P<scope>[^.=]*)\.(?P<key>[^=]+)=(?P<value>.+)$", line)
        if match and match.group("scope") in ("global", "install", ":env:"):
            settings[match.group("key")] = str(ast.literal_eval(match.group("value")))
    return settings


def host_ca_bundle(settings: dict[str, str]) -> Path:
    """The CA bundle pip trusts on the host: its ``cert`` setting, else OpenSSL's, else Debian's."""
    for candidate in (settings.get("cert"), os.environ.get("SSL_CERT_FILE"), CA_IN_BUILD):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise RuntimeError("no CA bundle found on the host (pip's cert, SSL_CERT_FILE, Debian's bundle)")


def build_pip_conf(settings: dict[str, str]) -> str:
    """The pip.conf of the build: the host's registry settings, and the CA bundle mounted beside it."""
    lines = ["[global]", f"cert = {CA_IN_BUILD}", "disable-pip-version-check = true"]
    lines += [f"{key} = {value}" for key, value in sorted(settings.items()) if key in PIP_KEYS]
    return "\n".join(lines) + "\n"
