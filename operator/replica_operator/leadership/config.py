"""Who competes for which Lease, and how long its terms are (client-go's defaults)."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

DEFAULT_LEASE_NAME = "infinibox-replica-operator"
DEFAULT_LEASE_DURATION = timedelta(seconds=15)
DEFAULT_RENEW_DEADLINE = timedelta(seconds=10)
DEFAULT_RETRY_PERIOD = timedelta(seconds=2)
#: client-go's JitterFactor: the renew deadline must leave room for a jittered retry.
JITTER_FACTOR = 1.2
#: How a leader that lost its lease exits (controller-runtime's managers exit non-zero too).
LOST_EXIT_CODE = 1
SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def default_identity() -> str:
    """The pod's name (POD_NAME, from the downward API), else hostname plus a random suffix.

    The suffix keeps two processes on one host (tests, a laptop) from sharing one identity,
    which would let both believe they hold the lease (client-go's examples do the same).
    """
    return os.environ.get("POD_NAME") or f"{socket.gethostname()}_{uuid.uuid4().hex[:8]}"


def default_namespace(service_account_file: Path = SERVICE_ACCOUNT_NAMESPACE) -> str:
    """The pod's namespace (service-account file, else POD_NAMESPACE), else ``default``."""
    try:
        namespace = service_account_file.read_text().strip()
    except OSError:
        namespace = ""
    return namespace or os.environ.get("POD_NAMESPACE") or "default"


@dataclass(frozen=True)
class ElectionConfig:
    """One candidate's view of the election; ``check()`` enforces client-go's ordering rules."""

    namespace: str
    name: str
    identity: str
    lease_duration: timedelta = DEFAULT_LEASE_DURATION
    renew_deadline: timedelta = DEFAULT_RENEW_DEADLINE
    retry_period: timedelta = DEFAULT_RETRY_PERIOD

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ValueError("; ".join(problems))

    def problems(self) -> list[str]:
        """Why these terms cannot work (empty: they can). A leader must give up before its
        lease can expire for someone else, and must get more than one try within the deadline."""
        found = []
        lease, deadline, retry = (
            self.lease_duration.total_seconds(),
            self.renew_deadline.total_seconds(),
            self.retry_period.total_seconds(),
        )
        if lease < 1 or lease != int(lease):
            found.append("the lease duration must be a whole number of seconds (the Lease stores seconds)")
        if lease <= deadline:
            found.append("the lease duration must be longer than the renew deadline")
        if deadline <= JITTER_FACTOR * retry:
            found.append(f"the renew deadline must be longer than {JITTER_FACTOR} x the retry period")
        if retry <= 0:
            found.append("the retry period must be positive")
        if not self.identity:
            found.append("the identity must not be empty")
        return found

    @property
    def lease_seconds(self) -> int:
        return int(self.lease_duration.total_seconds())

    def describe(self) -> str:
        return f"Lease {self.namespace}/{self.name} as {self.identity}"
