"""``replica-operator dr``: the two-site runbooks (docs/disaster-recovery.md).

Site A and site B are two clusters, each with its own operator beside its own array, each
holding the same replication object under the same name (its ``spec.source`` naming its own
array). The command patches those objects and waits on what they report; it never calls an
array. It exits non-zero with the reason when a step cannot go on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import click

from .runbooks import drill as run_drill
from .runbooks import planned, returned, unplanned
from .sites import Site, StepFailed
from .state import row

_PLURALS = {"Replica": "replicas", "ConsistencyGroupReplica": "consistencygroupreplicas"}


@dataclass(frozen=True)
class Sites:
    a: Site
    b: Site
    timeout: float

    def pick(self, name: str) -> tuple[Site, Site]:
        """(the named site, the other one)."""
        return (self.a, self.b) if name == "A" else (self.b, self.a)


@click.group()
@click.option("--site-a", "kubeconfig_a", envvar="DR_SITE_A_KUBECONFIG", help="Site A's kubeconfig.")
@click.option("--context-a", envvar="DR_SITE_A_CONTEXT", help="Context in site A's kubeconfig.")
@click.option("--site-b", "kubeconfig_b", envvar="DR_SITE_B_KUBECONFIG", help="Site B's kubeconfig.")
@click.option("--context-b", envvar="DR_SITE_B_CONTEXT", help="Context in site B's kubeconfig.")
@click.option("--namespace", "-n", default="default", show_default=True, help="The object's namespace.")
@click.option("--kind", type=click.Choice(sorted(_PLURALS)), default="Replica", show_default=True)
@click.option("--timeout", type=float, default=300.0, show_default=True, help="Seconds each step may take.")
@click.pass_context
def dr(
    ctx: click.Context,
    kubeconfig_a: str | None,
    context_a: str | None,
    kubeconfig_b: str | None,
    context_b: str | None,
    namespace: str,
    kind: str,
    timeout: float,
) -> None:
    """Two-site disaster recovery: status, planned failover and failback, unplanned failover."""
    plural = _PLURALS[kind]
    ctx.obj = Sites(
        Site("A", kubeconfig_a, context_a, namespace, plural),
        Site("B", kubeconfig_b, context_b, namespace, plural),
        timeout,
    )


def _run(step: Callable[[], float], what: str) -> None:
    try:
        elapsed = step()
    except StepFailed as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{what}: done in {elapsed:.1f} s")


@dr.command()
@click.argument("name")
@click.pass_obj
def status(sites: Sites, name: str) -> None:
    """The pair as each site's object reports it (role, state, sync, conditions, last action)."""
    rows = [row(site.view(name)) for site in (sites.a, sites.b)]
    columns = list(dict.fromkeys(key for line in rows for key in line))
    widths = {c: max(len(c), *(len(line.get(c, "")) for line in rows)) for c in columns}
    click.echo("  ".join(c.upper().ljust(widths[c]) for c in columns).rstrip())
    for line in rows:
        click.echo("  ".join(line.get(c, "").ljust(widths[c]) for c in columns).rstrip())


@dr.command()
@click.argument("name")
@click.option("--to", "to", type=click.Choice(["A", "B"]), default="B", show_default=True)
@click.option("--unplanned", is_flag=True, help="The other site is lost: ChangeRole on --to alone.")
@click.pass_obj
def failover(sites: Sites, name: str, to: str, unplanned: bool) -> None:
    """Move the pair's SOURCE and its management to site --to."""
    survivor, other = sites.pick(to)
    if unplanned:
        _run(
            lambda: _unplanned(survivor, other, name, sites.timeout),
            f"unplanned failover to site {to}",
        )
        return
    _run(
        lambda: planned(other, survivor, name, echo=click.echo, timeout=sites.timeout),
        f"planned failover to site {to}",
    )


def _unplanned(survivor: Site, other: Site, name: str, timeout: float) -> float:
    lost = other if other.kubeconfig else None
    return unplanned(survivor, lost, name, echo=click.echo, timeout=timeout)


@dr.command()
@click.argument("name")
@click.option("--to", "to", type=click.Choice(["A", "B"]), default="A", show_default=True)
@click.pass_obj
def failback(sites: Sites, name: str, to: str) -> None:
    """The planned failover back to site --to (default A)."""
    home, away = sites.pick(to)
    _run(lambda: planned(away, home, name, echo=click.echo, timeout=sites.timeout), f"failback to site {to}")


@dr.command("return")
@click.argument("name")
@click.option("--site", "site", type=click.Choice(["A", "B"]), default="A", show_default=True)
@click.pass_obj
def return_(sites: Sites, name: str, site: str) -> None:
    """The site lost in an unplanned failover is back: it stops managing, and the command waits for
    its stale SOURCE to be demoted on its array and for replication from the other site."""
    old, manager = sites.pick(site)
    _run(
        lambda: returned(old, manager, name, echo=click.echo, timeout=sites.timeout),
        f"site {site} back as the target",
    )


@dr.command()
@click.argument("name")
@click.option("--site", "site", type=click.Choice(["A", "B"]), default="B", show_default=True)
@click.option("--drill-name", default=None, help="Name of the ReplicaDrill. Default: NAME-drill.")
@click.option(
    "--end", is_flag=True, help="End the drill: delete it, wait until its claim and snapshot are gone."
)
@click.pass_obj
def drill(sites: Sites, name: str, site: str, drill_name: str | None, end: bool) -> None:
    """Test the target side while it keeps replicating: a ReplicaDrill (writable snapshot as a claim)."""
    where, _ = sites.pick(site)
    called = drill_name or f"{name}-drill"
    _run(
        lambda: run_drill(where, name, called, end=end, echo=click.echo, timeout=sites.timeout),
        f"drill {called} {'ended' if end else 'ready'}",
    )
