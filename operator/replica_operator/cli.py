"""``replica-operator``: run the operator, generate its CRDs."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click

from replica_operator import __version__, leadership, sharding
from replica_operator.api.durations import parse_duration


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


class _Duration(click.ParamType[timedelta]):
    """A duration as the CRDs spell them (``500ms``, ``15s``, ``1m30s``)."""

    name = "duration"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> timedelta:
        if isinstance(value, timedelta):
            return value
        try:
            return parse_duration(str(value))
        except ValueError as error:
            self.fail(str(error), param, ctx)


_DURATION = _Duration()


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
    "--leader-elect/--no-leader-elect",
    default=True,
    show_default=True,
    envvar=_env("LEADER_ELECT"),
    help="Run only while holding the leader Lease (run 2 replicas for a hot standby).",
)
@click.option(
    "--leader-election-namespace",
    default=None,
    envvar=_env("LEADER_ELECTION_NAMESPACE"),
    help="Namespace of the Lease. Default: the pod's namespace, else `default`.",
)
@click.option(
    "--leader-election-id",
    default=leadership.DEFAULT_LEASE_NAME,
    show_default=True,
    envvar=_env("LEADER_ELECTION_ID"),
    help="Name of the Lease the replicas compete for.",
)
@click.option(
    "--lease-duration",
    type=_DURATION,
    default="15s",
    show_default=True,
    envvar=_env("LEASE_DURATION"),
    help="How long a standby waits after the last renewal it saw before it takes the lease.",
)
@click.option(
    "--renew-deadline",
    type=_DURATION,
    default="10s",
    show_default=True,
    envvar=_env("RENEW_DEADLINE"),
    help="A leader that has not renewed for this long exits (before its lease can expire).",
)
@click.option(
    "--retry-period",
    type=_DURATION,
    default="2s",
    show_default=True,
    envvar=_env("RETRY_PERIOD"),
    help="Time between attempts to acquire or renew the lease.",
)
@click.option(
    "--kube-request-timeout",
    type=_DURATION,
    default="30s",
    show_default=True,
    envvar=_env("KUBE_REQUEST_TIMEOUT"),
    help="How long one Kubernetes API call may wait for an answer (then it fails and is retried).",
)
@click.option(
    "--relist-interval",
    type=_DURATION,
    default="5m",
    show_default=True,
    envvar=_env("RELIST_INTERVAL"),
    help="How often every kind is listed to forget objects deleted while the watch was away.",
)
@click.option(
    "--target-claim-namespace",
    "target_claim_namespaces",
    multiple=True,
    envvar=_env("TARGET_CLAIM_NAMESPACES"),
    help=(
        "A namespace where Replicas of other namespaces may have their target claim made (repeat "
        "the flag; the variable takes a space-separated list). Default: a target claim only in the "
        "Replica's own namespace."
    ),
)
@click.option(
    "--shard",
    default=None,
    envvar=_env("SHARD"),
    help=(
        "Handle only objects labelled replication.infinibox.io/shard=NAME, with a Lease of the shard's "
        "own (<leader-election-id>-NAME). Default: the default shard, objects without that label."
    ),
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
    leader_elect: bool,
    leader_election_namespace: str | None,
    leader_election_id: str,
    lease_duration: timedelta,
    renew_deadline: timedelta,
    retry_period: timedelta,
    kube_request_timeout: timedelta,
    relist_interval: timedelta,
    target_claim_namespaces: tuple[str, ...],
    shard: str | None,
) -> None:
    """Run the operator against the cluster named by KUBECONFIG (or the in-cluster config).

    With leader election (the default) the process stands by until it holds the Lease and runs
    nothing of the operator meanwhile; kopf always runs standalone (its peering is gone: it is
    not leader election).
    """
    from replica_operator.handlers import prepare_operator
    from replica_operator.leadership.run import elector_from_environment, run_elected
    from replica_operator.leadership.standby import StandbyEndpoints
    from replica_operator.settings import LogFormat, OperatorSettings

    if all_namespaces and namespaces:
        raise click.UsageError("--all-namespaces and --namespace exclude each other")
    try:
        shard = sharding.check_shard_name(shard) if shard else None
    except ValueError as error:
        raise click.UsageError(f"--shard: {error}") from None
    election = _election_config(
        leader_election_namespace,
        sharding.lease_name(leader_election_id, shard),
        lease_duration,
        renew_deadline,
        retry_period,
    )
    settings = OperatorSettings(
        namespaces=namespaces,
        bind_address=bind_address,
        liveness_port=liveness_port or None,
        metrics_port=metrics_port or None,
        log_format=LogFormat(log_format),
        verbose=verbose,
        debug=debug,
        kube_request_timeout=kube_request_timeout,
        relist_interval=relist_interval,
        target_claim_namespaces=frozenset(target_claim_namespaces),
        shard=shard,
    )
    operate = prepare_operator(settings)
    if not leader_elect:
        operate()
        return
    endpoints = StandbyEndpoints(settings.bind_address, settings.liveness_port, settings.metrics_port)
    run_elected(elector_from_environment(election), endpoints, operate)


def _election_config(
    namespace: str | None,
    name: str,
    lease_duration: timedelta,
    renew_deadline: timedelta,
    retry_period: timedelta,
) -> leadership.ElectionConfig:
    try:
        return leadership.ElectionConfig(
            namespace=namespace or leadership.default_namespace(),
            name=name,
            identity=leadership.default_identity(),
            lease_duration=lease_duration,
            renew_deadline=renew_deadline,
            retry_period=retry_period,
        )
    except ValueError as error:
        raise click.UsageError(f"leader election: {error}") from None


def _register_runbooks() -> None:
    """``replica-operator dr``: the two-site runbooks (they patch objects, never call arrays)."""
    from replica_operator.runbook.commands import dr

    main.add_command(dr)


_register_runbooks()
