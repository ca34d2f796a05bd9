"""Build the operator's image here without Docker: Debian's podman and buildah, a debootstrapped base.

``ensure_image()`` is what ``make image`` and the tests call; ``ensure_host()`` is the part that
needs root on a fresh machine (packages, containers.conf, the base image) and is a no-op once done.
"""

from __future__ import annotations

from .build import BuiltImage, HostSetup, ensure_host, ensure_image
from .host import Podman

__all__ = ["BuiltImage", "HostSetup", "Podman", "ensure_host", "ensure_image"]
