"""``python -m replica_image setup|build``: the commands behind ``make image`` and ``make test``."""

from __future__ import annotations

import json
import logging

import click

from .build import BuiltImage, ensure_host, ensure_image


@click.group()
def main() -> None:
    """The operator's container image, built without a Docker engine."""
    logging.basicConfig(level=logging.WARNING, format="%(message)s")


def _report(built: BuiltImage) -> None:
    click.echo(
        json.dumps(
            {
                "image": built.tag or None,
                "base": built.base,
                "containers_conf": str(built.containers_conf),
                "seconds": built.timings,
            }
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
