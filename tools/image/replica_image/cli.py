"""``python -m replica_image setup|build``: the commands behind ``make image`` and ``make test``."""

from __future__ import annotations

import json
import logging

import click

from .build import BuiltImage, HostSetup, ensure_host, ensure_image


@click.group()
def main() -> None:
    """The operator's container image, built without a Docker engine."""
    logging.basicConfig(level=logging.WARNING, format="%(message)s")


def _report(done: HostSetup) -> None:
    """One JSON line: what was made and how long each step took (the figures the README quotes)."""
    tag = {"image": done.tag} if isinstance(done, BuiltImage) else {}
    click.echo(
        json.dumps(
            tag | {"base": done.base, "containers_conf": str(done.containers_conf), "seconds": done.timings}
        )
    )


@main.command()
def setup() -> None:
    """Install podman & co. from Debian, write containers.conf, make the base (each only once)."""
    _report(ensure_host())


@main.command()
@click.option("--tag", default=None, help="Image tag (default: the project version).")
def build(tag: str | None) -> None:
    """Set up as `setup` does, then podman build the Dockerfile; print the tag and each step's time."""
    _report(ensure_image(tag))
