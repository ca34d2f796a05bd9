"""The operator's own settings, in one place. ``replica-operator run`` fills them from its
flags, each of which also reads an environment variable ``REPLICA_OPERATOR_<NAME>``."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class OperatorSettings(BaseModel):
    """How the operator runs. Array-specific knobs (poll interval, limits) are on each InfiniBox."""

    model_config = ConfigDict(frozen=True)

    namespaces: tuple[str, ...] = Field(default=(), description="Namespaces to watch; empty: all.")
    bind_address: str = Field(default="0.0.0.0", description="Address of the probe and metrics servers.")
    liveness_port: int | None = Field(default=8080, description="Port of /healthz; None: off.")
    metrics_port: int | None = Field(default=9090, description="Port of /metrics; None: off.")
    log_format: LogFormat = LogFormat.TEXT
    verbose: bool = False
    debug: bool = False
    status_heartbeat: timedelta = Field(
        default=timedelta(minutes=5),
        description="How stale InfiniBox.status.lastPolled may get while nothing else changes.",
    )
    kube_request_timeout: timedelta = Field(
        default=timedelta(seconds=30),
        gt=timedelta(0),
        description="Read timeout of each Kubernetes API call the operator makes itself.",
    )
    relist_interval: timedelta = Field(
        default=timedelta(minutes=5),
        gt=timedelta(0),
        description="How often every kind is listed to forget objects deleted while the watch was away.",
    )
    retry_base: timedelta = Field(default=timedelta(seconds=2), description="First wait after a failed step.")
    retry_max: timedelta = Field(default=timedelta(minutes=5), description="Longest wait between attempts.")
    target_claim_namespaces: frozenset[str] = Field(
        default=frozenset(),
        description="Namespaces besides a Replica's own where its spec.target.persistentVolumeClaim may "
        "be made (a tenant must not make claims in namespaces it cannot write); empty: only its own.",
    )
    shard: str | None = Field(
        default=None,
        description="The shard whose objects this instance handles (label value); None: the default shard.",
    )

    @property
    def sharded(self) -> bool:
        """Whether this instance handles a named shard (not the default shard)."""
        return self.shard is not None
