"""``replica-operator-demo``: the operator end to end on one machine (a development tool)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .story import run_demo


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--once", is_flag=True, help="Exit 0 as soon as every object is Ready and the type change was applied."
)
@click.option(
    "--timeout",
    type=float,
    default=180.0,
    show_default=True,
    help="Seconds to wait (once everything is started) for every object to be Ready; then exit 1.",
)
@click.option(
    "--examples",
    "examples_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="The manifests to apply. Default: examples/ of this checkout.",
)
def main(once: bool, timeout: float, examples_dir: Path | None) -> None:
    """Local control plane, two simulated arrays and the operator; watch examples/ replicate.

    Shows a live table of the objects going from INITIALIZING to SYNCHRONIZED, with a type
    change asked for during INITIALIZING (deferred, then applied). Ctrl-C stops everything.
    """
    sys.exit(run_demo(once=once, timeout=timeout, examples=examples_dir))
