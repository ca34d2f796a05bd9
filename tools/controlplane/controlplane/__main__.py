"""``python -m controlplane build|up|down``: the commands behind ``make cluster`` / ``make cluster-down``."""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

import click

from .binaries import ensure_all, ensure_node
from .cluster import ControlPlane, ControlPlaneState, stop_detached

DEFAULT_STATE = Path(".local/controlplane.json")
DEFAULT_KUBECONFIG = Path(".local/kubeconfig")


@click.group()
def main() -> None:
    """A real local etcd + kube-apiserver, built from the official Go modules."""
    logging.basicConfig(level=logging.WARNING, format="%(message)s")


@main.command()
def build() -> None:
    """Build (or find cached) kube-apiserver, etcd, helm, promtool and the health helper; print paths."""
    binaries = ensure_all()
    for name, path in vars(binaries).items():
        click.echo(f"{name}: {path}")


@main.command("build-node")
def build_node() -> None:
    """Build (or find cached) kube-controller-manager, kube-scheduler and kubelet; print paths."""
    for name, path in vars(ensure_node()).items():
        click.echo(f"{name}: {path}")


@main.command()
@click.option("--kubeconfig", type=click.Path(path_type=Path), default=DEFAULT_KUBECONFIG, show_default=True)
@click.option("--state", type=click.Path(path_type=Path), default=DEFAULT_STATE, show_default=True)
def up(kubeconfig: Path, state: Path) -> None:
    """Start a detached control plane and write its kubeconfig."""
    if state.exists():
        click.echo(f"a control plane is already recorded in {state}; run `make cluster-down` first", err=True)
        sys.exit(1)
    plane = ControlPlane(die_with_parent=False).start()
    kubeconfig.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(plane.kubeconfig, kubeconfig)
    kubeconfig.chmod(0o600)
    detached = plane.detach()
    state.parent.mkdir(parents=True, exist_ok=True)
    detached.dump(state)
    click.echo(f"control plane ready at {detached.server}; kubeconfig: {kubeconfig}")


@main.command()
@click.option("--state", type=click.Path(path_type=Path), default=DEFAULT_STATE, show_default=True)
@click.option("--kubeconfig", type=click.Path(path_type=Path), default=DEFAULT_KUBECONFIG, show_default=True)
def down(state: Path, kubeconfig: Path) -> None:
    """Stop the control plane started by ``up`` and remove its files."""
    if not state.exists():
        click.echo("no control plane is running (nothing recorded)")
        return
    stop_detached(ControlPlaneState.load(state))
    state.unlink()
    kubeconfig.unlink(missing_ok=True)
    click.echo("control plane stopped")


if __name__ == "__main__":
    main()
