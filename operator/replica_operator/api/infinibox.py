"""``InfiniBox``: how to reach one array (cluster-scoped, shared by the Replicas that name it)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import ConfigDict, Field

from .base import SpecModel, StatusModel
from .cel import Reason, rule, validations
from .conditions import CONDITION_LIST_SCHEMA, MAX_CONDITIONS, Condition
from .durations import Duration, duration_bounds
from .names import ArrayText, NamespaceName, ObjectName, SecretKey, Url
from .timestamps import Timestamp

MAX_ALLOWED_NAMESPACES = 256
MAX_FEATURES = 256
MAX_LINKS = 64


class SecretReference(SpecModel):
    """A Secret in a given namespace (the InfiniBox is cluster-scoped, so the namespace is explicit)."""

    name: ObjectName = Field(description="Name of the Secret.")
    namespace: NamespaceName = Field(description="Namespace of the Secret.")


class CASecretReference(SpecModel):
    """A CA bundle kept in a Secret."""

    name: ObjectName = Field(description="Name of the Secret.")
    namespace: NamespaceName = Field(description="Namespace of the Secret.")
    key: SecretKey = Field(
        default="ca.crt", description="Key in the Secret that holds the PEM bundle. Default: ca.crt."
    )


class TLSConfig(SpecModel):
    """How to verify the array's HTTPS certificate."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            rule(
                "!has(self.insecureSkipVerify) || !self.insecureSkipVerify || !has(self.caSecretRef)",
                "caSecretRef and insecureSkipVerify exclude each other: verify against the CA, or not at all",
                field_path=".caSecretRef",
                reason=Reason.FORBIDDEN,
            )
        )
    )

    insecure_skip_verify: bool = Field(
        default=False,
        description="Accept any certificate the array presents. For labs only: it allows a "
        "man-in-the-middle to read the array credentials. Default: false.",
    )
    ca_secret_ref: CASecretReference | None = Field(
        default=None,
        description="Secret holding the PEM CA bundle that signed the array's certificate. "
        "Absent means the system trust store is used.",
    )


MAX_POLL_INTERVAL = "1h"
MAX_REQUEST_TIMEOUT = "10m"
"""Bounds of our own choosing: a poll more than an hour apart or a request waited on longer
than 10 minutes only hides a broken array (and liveness waits on them)."""

_PORT = "(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
_USERINFO = r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*@"
_AUTHORITY = rf"^https?://(\[[0-9a-fA-F:.]+\]|[^\[\]/?#@:]+)(:{_PORT})?([/?#].*)?$"

URL_RULES = (
    rule(
        f"!self.url.matches(r'{_USERINFO}')",
        "url must not carry credentials (user@ or user:password@): put them in the credentials Secret",
        field_path=".url",
        reason=Reason.INVALID,
    ),
    rule(
        f"self.url.matches(r'{_USERINFO}') || self.url.matches(r'{_AUTHORITY}')",
        "url must be http(s)://host[:port] with a port from 1 to 65535",
        field_path=".url",
        reason=Reason.INVALID,
    ),
)
"""What the client refuses (see ``controller/configuration.py``), refused at admission already."""


class InfiniBoxSpec(SpecModel):
    """Where the array is, how to log in, and how hard the operator may press on it."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            *URL_RULES,
            duration_bounds("pollInterval", at_least="1s", at_most=MAX_POLL_INTERVAL),
            duration_bounds("requestTimeout", at_least="1s", at_most=MAX_REQUEST_TIMEOUT),
        )
    )

    url: Url = Field(
        description="Base URL of the array's management API, e.g. https://ibox1.example.com. "
        "Must start with http:// or https://, carry no user or password, and any port must be 1 to "
        "65535. Mutable."
    )
    credentials_secret_ref: SecretReference = Field(
        description="Secret with the keys username and password of an array user allowed to manage "
        "replication. The operator reads it through the API and never logs it. Mutable."
    )
    tls: TLSConfig = Field(
        default_factory=TLSConfig,
        description="TLS settings for https URLs. Absent means: verify the certificate against the "
        "system trust store. Mutable.",
    )
    poll_interval: Duration = Field(
        default=timedelta(seconds=10),
        description="How often the operator lists this array's replicas to refresh the status of every "
        "object that uses it, as a duration (e.g. 10s, 1m), 1s to 1h. Default: 10s. Mutable.",
    )
    request_timeout: Duration = Field(
        default=timedelta(seconds=30),
        description="Timeout of one request to the array, as a duration (e.g. 30s), 1s to 10m. Default: 30s. "
        "Mutable.",
    )
    max_concurrent_requests: int = Field(
        default=8,
        ge=1,
        le=64,
        description="Most requests the operator sends to this array at once, 1 to 64. Default: 8. Mutable.",
    )
    allowed_namespaces: list[NamespaceName] = Field(
        default_factory=list,
        max_length=MAX_ALLOWED_NAMESPACES,
        description="Namespaces whose Replicas and ConsistencyGroupReplicas may use this array. "
        "Empty or absent means any namespace may. Mutable.",
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )


class LinkStatus(StatusModel):
    """One replication link of the array, as the array lists it."""

    name: ArrayText = Field(description="Name of the link on this array.")
    remote_system: ArrayText | None = Field(
        default=None, description="Name of the array at the other end of the link."
    )
    state: ArrayText | None = Field(
        default=None, description="State of the link as the array reports it, e.g. UP or DOWN."
    )


class InfiniBoxStatus(StatusModel):
    """What the operator last saw of the array. Written by the operator only."""

    observed_generation: int | None = Field(
        default=None, ge=0, description="The .metadata.generation this status was computed from."
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        max_length=MAX_CONDITIONS,
        description="Connected: the operator can log in and list replicas (False with a reason such as "
        "Unreachable or Unauthorized). InUse: True while Replicas or ConsistencyGroupReplicas reference "
        "this array; the message lists them.",
        json_schema_extra=CONDITION_LIST_SCHEMA,
    )
    system_name: ArrayText | None = Field(default=None, description="Name the array reports for itself.")
    serial: Annotated[int, Field(ge=0)] | None = Field(
        default=None, description="Serial number of the array."
    )
    version: ArrayText | None = Field(default=None, description="Software version of the array.")
    features: list[ArrayText] | None = Field(
        default=None,
        max_length=MAX_FEATURES,
        description="The enabled features the array lists (GET _features), read at connect, e.g. "
        "sync_replication, filesystem_replicas. A spec the array cannot hold (SYNC without "
        "sync_replication, a filesystem without filesystem_replicas) is refused with Synced=False, "
        "reason Unsupported.",
    )
    links: list[LinkStatus] | None = Field(
        default=None,
        max_length=MAX_LINKS,
        description="The array's replication links and their state, listed at every poll. A link that is "
        "not UP is named in the Replicating condition of every object whose replica uses it.",
    )
    last_polled: Timestamp | None = Field(
        default=None, description="When the operator last listed this array's replicas (RFC 3339, UTC)."
    )
    replica_count: int | None = Field(
        default=None, ge=0, description="Number of replicas the operator saw on the array at the last poll."
    )
