"""``ibox-sim``: serve N simulated InfiniBox systems until SIGTERM/SIGINT (docs/simulator.md)."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import Any

import click

from ibox_sim.config import LATENCY_PROFILES, REALISTIC_MAX_CONCURRENT_INITS, SimConfig
from ibox_sim.server import SimulatorServer

log = logging.getLogger("ibox_sim")


async def _serve(server: SimulatorServer) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    try:
        click.echo(server.ready_line())
        sys.stdout.flush()
        log.info("serving %s", ", ".join(f"{s.name} at {s.url}" for s in server.systems))
        await stop.wait()
    finally:
        await server.stop()
        log.info("stopped")


def fidelity_config(config: SimConfig, modes: dict[str, Any]) -> SimConfig:
    """The fidelity modes and the latency profile (with its per-class overrides) folded into ``config``."""
    profile = LATENCY_PROFILES[modes.pop("latency_profile")]
    overrides = {
        kind: modes.pop(f"latency_{kind}_ms")
        for kind in ("reads", "creates", "actions", "deletes")
        if modes.get(f"latency_{kind}_ms") is not None
    }
    inits = modes.pop("max_concurrent_inits")
    if inits is None and profile != LATENCY_PROFILES["none"]:
        inits = REALISTIC_MAX_CONCURRENT_INITS
    changes = {
        **{key: value for key, value in modes.items() if not key.startswith("latency_")},
        "latency": profile.model_copy(update=overrides),
        "max_concurrent_inits": inits or None,
    }
    return config.model_copy(update=changes)


@click.command(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.option("--systems", type=click.IntRange(1, 64), default=2, help="Number of arrays (ibox-1..N).")
@click.option(
    "--base-port", type=click.IntRange(1, 65535), default=18900, help="Port of ibox-1; ibox-K uses P+K-1."
)
@click.option("--host", default="127.0.0.1", help="Address to listen on.")
@click.option("--username", default="admin", envvar="IBOX_SIM_USERNAME", help="API user.")
@click.option(
    "--password",
    default="admin",
    envvar="IBOX_SIM_PASSWORD",
    show_default=False,
    help="API password (default admin; env IBOX_SIM_PASSWORD).",
)
@click.option(
    "--initial-sync-seconds",
    type=click.FloatRange(min=0),
    default=5.0,
    help="How long new replicas stay INITIALIZING.",
)
@click.option(
    "--job-seconds", type=click.FloatRange(min=0), default=1.0, help="Length of one periodic async job."
)
@click.option(
    "--session-ttl-seconds",
    type=click.FloatRange(min=0, min_open=True),
    default=3600.0,
    help="Lifetime of a login session.",
)
@click.option(
    "--state-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Load the model from this file at start and keep saving it.",
)
@click.option(
    "--tls-cert",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Serve HTTPS with this certificate (PEM).",
)
@click.option(
    "--tls-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Private key (PEM) of --tls-cert.",
)
@click.option("--seed", type=int, help="Seed the fault-injection random generator.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="warning")
@click.option(
    "--auto-suspend-after",
    "auto_suspend_after_seconds",
    type=click.FloatRange(min=0),
    default=86_400.0,
    help="Seconds a link may be down before its replicas become AUTO_SUSPENDED (24 h as on real arrays).",
)
@click.option(
    "--max-concurrent-inits",
    type=click.IntRange(min=0),
    default=None,
    help="Initializations per array at once; more wait PENDING (0: no limit; default: none, 8 with "
    "--latency-profile realistic).",
)
@click.option(
    "--require-remote-auth", is_flag=True, help="Guarded replica calls need X-Remote-Authorization."
)
@click.option("--null-optional-fields", is_flag=True, help="Show optional fields as null where an array may.")
@click.option(
    "--allow-duplicate-replicas", is_flag=True, help="Accept a second replica of a replicated entity."
)
@click.option(
    "--latency-profile",
    type=click.Choice(sorted(LATENCY_PROFILES)),
    default="none",
    help="Added answer time.",
)
@click.option("--latency-reads-ms", type=click.FloatRange(min=0), help="Override the profile for reads.")
@click.option("--latency-creates-ms", type=click.FloatRange(min=0), help="Override the profile for creates.")
@click.option("--latency-actions-ms", type=click.FloatRange(min=0), help="Override the profile for actions.")
@click.option("--latency-deletes-ms", type=click.FloatRange(min=0), help="Override the profile for deletes.")
def main(
    systems: int,
    base_port: int,
    host: str,
    username: str,
    password: str,
    initial_sync_seconds: float,
    job_seconds: float,
    session_ttl_seconds: float,
    state_file: Path | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    seed: int | None,
    log_level: str,
    **modes: Any,
) -> None:
    """Simulate InfiniBox arrays over the REST API; print one JSON line when ready."""
    logging.basicConfig(level=log_level.upper(), stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("--tls-cert and --tls-key go together")
    if base_port + systems - 1 > 65535:
        raise click.UsageError("--base-port leaves no room for every system")
    config = fidelity_config(
        SimConfig(
            initial_sync_seconds=initial_sync_seconds,
            job_seconds=job_seconds,
            session_ttl_seconds=session_ttl_seconds,
        ),
        modes,
    )
    try:
        server = SimulatorServer(
            systems,
            host=host,
            base_port=base_port,
            username=username,
            password=password,
            config=config,
            state_file=state_file,
            tls_cert=tls_cert,
            tls_key=tls_key,
            seed=seed,
        )
        asyncio.run(_serve(server))
    except OSError as error:
        raise click.ClickException(f"cannot listen: {error}") from error
    except ValueError as error:
        raise click.ClickException(str(error)) from error


if __name__ == "__main__":
    main()
