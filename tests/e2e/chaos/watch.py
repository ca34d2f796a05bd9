"""What the chaos suite records while the adversary runs, each in a thread of its own: the
simulator's request log (followed with ``since=`` so nothing is lost to its ring), the Lease's
holders, and the marks every replica carried (for attributing action calls to objects)."""

from __future__ import annotations

import contextlib
import threading
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import kubernetes
import urllib3

from tests.e2e.chaos.invariants import Key, Tenure, marks_of
from tests.support.arrays import SimArrays

SYSTEMS = ("ibox-1", "ibox-2")


class Poller:
    """Calls ``step`` every ``interval`` seconds in a daemon thread until ``stop()`` (one last call)."""

    def __init__(self, step: Callable[[], None], interval: float) -> None:
        self._step, self._interval = step, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.errors = 0

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._once()

    def _once(self) -> None:
        try:
            self._step()
        except Exception:  # the API server restarts, the arrays fail: try again next time
            self.errors += 1

    def stop(self) -> None:
        """Stop (once); the last call reads what came after the last interval."""
        if not self._stop.is_set():
            self._stop.set()
            self._thread.join(30)
            self._once()


class LogFollower:
    """Every entry of ``/_sim/requests`` from the moment it starts, in seq order."""

    def __init__(self, arrays: SimArrays) -> None:
        self.arrays = arrays
        existing = arrays.requests()
        self.first_seq = (int(existing[-1]["seq"]) if existing else 0) + 1
        self.entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.poller = Poller(self.read, 0.3)

    def read(self) -> None:
        with self._lock:
            last = self.entries[-1]["seq"] if self.entries else self.first_seq - 1
            self.entries += self.arrays.requests(int(last))

    def mark(self) -> int:
        """The last seq read so far (read first)."""
        self.read()
        with self._lock:
            return int(self.entries[-1]["seq"]) if self.entries else self.first_seq - 1


class LeaseWatcher:
    """Each holder of the Lease with its ``acquireTime``; holders are unique per process."""

    def __init__(self, kubeconfig: Path, namespace: str, name: str) -> None:
        configuration = kubernetes.client.Configuration()
        kubernetes.config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=str(kubeconfig), client_configuration=configuration
        )
        configuration.retries = False  # a read fails while the API server is away; the next one comes
        self._leases = kubernetes.client.CoordinationV1Api(kubernetes.client.ApiClient(configuration))
        self.namespace, self.name = namespace, name
        self.tenures: list[Tenure] = []
        self.poller = Poller(self.read, 0.2)

    def read(self) -> None:
        with contextlib.suppress(kubernetes.client.ApiException, urllib3.exceptions.HTTPError):
            spec = self._leases.read_namespaced_lease(self.name, self.namespace, _request_timeout=3).spec
            holder, acquired = spec.holder_identity or "", spec.acquire_time
            new = not self.tenures or self.tenures[-1].pod != holder
            if holder and isinstance(acquired, datetime) and new:
                self.tenures.append(Tenure(holder, acquired.timestamp()))

    def holder(self) -> str:
        self.read()
        return self.tenures[-1].pod if self.tenures else ""


class MarkWatcher:
    """Every owner mark each replica was seen with on either array (a take-over re-marks one)."""

    def __init__(self, arrays: SimArrays) -> None:
        self.arrays = arrays
        self.marks: dict[Key, set[str]] = defaultdict(set)
        self.poller = Poller(self.read, 2.0)

    def read(self) -> None:
        self.add(self.listing())

    def add(self, listing: list[dict[str, Any]]) -> None:
        for key, uid in marks_of(listing).items():
            self.marks[key].add(uid)

    def listing(self) -> list[dict[str, Any]]:
        """Every replica on both arrays, each with ``system`` and ``peer_system``."""
        rows = []
        for system in SYSTEMS:
            for replica in self.arrays.replicas(system):
                rows.append({**replica, "system": system, "peer_system": replica.get("remote_system_name")})
        return rows
