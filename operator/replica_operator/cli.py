"""``replica-operator``: run the operator, generate its CRDs, show the demo."""

from __future__ import annotations

from pathlib import Path

import click

from replica_operator import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="replica-operator")
def main() -> None:
    """Declare InfiniBox replication as Kubernetes objects and keep the arrays in line with them."""


@main.command()
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("crds"),
    show_default=True,
    help="Directory for the generated CRD YAML.",
)
@click.option(
    "--chart-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("charts/infinibox-replica-operator/crds"),
    show_default=True,
    help="The Helm chart's crds/ directory, which gets the same files.",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if the files differ from the models.")
def crds(output_dir: Path, chart_dir: Path, check: bool) -> None:
    """Generate the CRD YAML from the API models (one file per kind)."""
    from replica_operator.api import crdgen

    directories = [output_dir, chart_dir]
    if check:
        drifts = crdgen.check_crds(directories)
        for drift in drifts:
            click.echo(str(drift), err=True)
        if drifts:
            raise click.ClickException("CRDs are out of date with the models: run `make crds`")
        click.echo("CRDs are up to date.")
        return
    for path in crdgen.write_crds(directories):
        click.echo(f"wrote {path}")
