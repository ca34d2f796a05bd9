"""Run the operator only while leading: stand by, take the lease, operate, hand it back."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from .config import ElectionConfig
from .elector import LeaderElector
from .lease import Leases, api_client_from_environment
from .standby import StandbyEndpoints

log = logging.getLogger(__name__)
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextmanager
def _stopping_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM/SIGINT while standing by end the wait (exit 0) instead of killing mid-request."""

    def handle(signum: int, frame: FrameType | None) -> None:
        log.info("signal %s while standing by: stopping", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in _STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def elector_from_environment(config: ElectionConfig) -> LeaderElector:
    api_client = api_client_from_environment(
        f"infinibox-replica-operator/leader-election ({config.identity})"
    )
    return LeaderElector(config, Leases(api_client, config.namespace, config.name))


def run_elected(elector: LeaderElector, endpoints: StandbyEndpoints, operate: Callable[[], None]) -> bool:
    """Stand by (serving ``endpoints``) until leading, then ``operate()`` while the lease is kept.

    False when stopped before leading. Nothing of the operator runs before the lease is ours:
    ``operate`` builds everything (array clients, kopf) itself. A lost lease ends the process
    from the elector's threads; a clean return (SIGTERM handled by kopf) releases the lease.
    """
    stop = threading.Event()
    endpoints.start()
    try:
        with _stopping_on_signals(stop):
            acquired = elector.acquire(stop)
    finally:
        endpoints.close()
    if not acquired:
        return False
    elector.keep()
    try:
        operate()
    finally:
        elector.release()
    return True
