"""``replica-operator``: run the operator, generate its CRDs."""

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


def _env(name: str) -> str:
    return f"REPLICA_OPERATOR_{name}"


@main.command()
@click.option(
    "--namespace",
    "-n",
    "namespaces",
    multiple=True,
    envvar=_env("NAMESPACES"),
    help="Watch only this namespace (repeatable). Default: all namespaces.",
)
@click.option("--all-namespaces", "-A", is_flag=True, help="Watch all namespaces (the default).")
@click.option(
    "--bind-address",
    default="0.0.0.0",
    show_default=True,
    envvar=_env("BIND_ADDRESS"),
    help="Address the liveness and metrics servers listen on.",
)
@click.option(
    "--liveness-port",
    type=int,
    default=8080,
    show_default=True,
    envvar=_env("LIVENESS_PORT"),
    help="Port of the liveness probe /healthz (0: off).",
)
@click.option(
    "--metrics-port",
    type=int,
    default=9090,
    show_default=True,
    envvar=_env("METRICS_PORT"),
    help="Port of the Prometheus /metrics endpoint (0: off).",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    envvar=_env("LOG_FORMAT"),
)
@click.option(
    "--verbose",
    "-v",
    is_flag=True,
    envvar=_env("VERBOSE"),
    help="Log at DEBUG, with kopf's handling of every object.",
)
@click.option(
    "--debug", is_flag=True, envvar=_env("DEBUG"), help="Log everything at DEBUG, each HTTP request included."
)
@click.option(
    "--standalone",
    is_flag=True,
    envvar=_env("STANDALONE"),
    help="Run without kopf peering (the default unless --peering is given).",
)
@click.option(
    "--peering",
    default=None,
    envvar=_env("PEERING"),
    help="kopf peering object name, for a hot standby (needs the peering CRDs).",
)
@click.option(
    "--priority",
    type=int,
    default=0,
    show_default=True,
    envvar=_env("PRIORITY"),
    help="Peering priority: the highest live priority runs, the others pause.",
)
def run(
    namespaces: tuple[str, ...],
    all_namespaces: bool,
    bind_address: str,
    liveness_port: int,
    metrics_port: int,
    log_format: str,
    verbose: bool,
    debug: bool,
    standalone: bool,
    peering: str | None,
    priority: int,
) -> None:
    """Run the operator against the cluster named by KUBECONFIG (or the in-cluster config)."""
    from replica_operator.handlers import run_operator
    from replica_operator.settings import LogFormat, OperatorSettings

    if all_namespaces and namespaces:
        raise click.UsageError("--all-namespaces and --namespace exclude each other")
    if standalone and peering:
        raise click.UsageError("--standalone and --peering exclude each other")
    settings = OperatorSettings(
        namespaces=namespaces,
        bind_address=bind_address,
        liveness_port=liveness_port or None,
        metrics_port=metrics_port or None,
        log_format=LogFormat(log_format),
        verbose=verbose,
        debug=debug,
        peering=peering,
        priority=priority,
    )
    run_operator(settings)
