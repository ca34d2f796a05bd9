"""Starting kopf: its logging, its options, and the runtime handed to every handler.

The handlers are registered by importing this package (``handlers/__init__`` imports ``wiring``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import kopf

from replica_operator.controller import Runtime
from replica_operator.settings import LogFormat, OperatorSettings


def prepare_operator(settings: OperatorSettings) -> Callable[[], None]:
    """Configure logging now (a standby logs too); the returned function builds the runtime and
    runs kopf, standalone (leader election, not kopf peering, decides who runs)."""
    kopf.configure(
        debug=settings.debug,
        verbose=settings.verbose,
        log_format=kopf.LogFormat.JSON if settings.log_format is LogFormat.JSON else kopf.LogFormat.FULL,
    )
    if not settings.debug:  # one line per HTTP request is noise at a thousand replicas; metrics count them
        for name in ("httpx", "httpcore", "kubernetes.client.rest"):
            logging.getLogger(name).setLevel(logging.WARNING)
    liveness = (
        f"http://{settings.bind_address}:{settings.liveness_port}/healthz" if settings.liveness_port else None
    )

    def operate() -> None:
        """Run until stopped: kopf watches the objects, the runtime polls the arrays."""
        kopf.run(
            clusterwide=not settings.namespaces,
            namespaces=settings.namespaces,
            standalone=True,
            liveness_endpoint=liveness,
            memo=kopf.Memo(runtime=Runtime.create(settings)),
        )

    return operate
