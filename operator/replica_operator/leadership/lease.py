"""Read and write the election's ``coordination.k8s.io/v1`` Lease, every call bounded.

A client of its own (not the operator's, not kopf's): its own connection pool, no urllib3
retries (a retry would multiply the timeout), and a User-Agent naming the candidate, so that an
API server audit log tells the candidates' Lease traffic apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import kubernetes
import urllib3
from kubernetes.client.exceptions import ApiException

from .decision import LeaseRecord

MIN_TIMEOUT_SECONDS = 0.05


class LeaseError(Exception):
    """A Lease call failed (no answer, or an answer other than the ones election expects)."""


@dataclass(frozen=True)
class StoredLease:
    """The record and the resourceVersion it was read at (the precondition of the next update)."""

    record: LeaseRecord
    resource_version: str


def api_client_from_environment(user_agent: str) -> kubernetes.client.ApiClient:
    """In-cluster credentials in a pod, else ``$KUBECONFIG``; no client-side retries."""
    configuration = kubernetes.client.Configuration()
    try:
        kubernetes.config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    except kubernetes.config.ConfigException:
        kubernetes.config.load_kube_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    configuration.retries = False
    client = kubernetes.client.ApiClient(configuration)
    client.user_agent = user_agent
    return client


def _record(spec: kubernetes.client.V1LeaseSpec | None) -> LeaseRecord:
    if spec is None:
        return LeaseRecord("", 0, None, None, 0)
    return LeaseRecord(
        holder=spec.holder_identity or "",
        lease_duration_seconds=spec.lease_duration_seconds or 0,
        acquire_time=spec.acquire_time,
        renew_time=spec.renew_time,
        transitions=spec.lease_transitions or 0,
    )


def _spec(record: LeaseRecord) -> kubernetes.client.V1LeaseSpec:
    return kubernetes.client.V1LeaseSpec(
        holder_identity=record.holder,
        lease_duration_seconds=record.lease_duration_seconds,
        acquire_time=record.acquire_time,
        renew_time=record.renew_time,
        lease_transitions=record.transitions,
    )


class Leases:
    """One Lease, by namespace and name."""

    def __init__(self, api_client: kubernetes.client.ApiClient, namespace: str, name: str) -> None:
        self._api = kubernetes.client.CoordinationV1Api(api_client)
        self.namespace, self.name = namespace, name

    def read(self, timeout: float) -> StoredLease | None:
        """The Lease, or None when there is none yet."""
        lease = self._call(
            "read", self._api.read_namespaced_lease, self.name, self.namespace, timeout=timeout, absent=404
        )
        if lease is None:
            return None
        return StoredLease(_record(lease.spec), lease.metadata.resource_version)

    def create(self, record: LeaseRecord, timeout: float) -> StoredLease | None:
        """Create the Lease; None when someone else created it first (409)."""
        body = kubernetes.client.V1Lease(
            metadata=kubernetes.client.V1ObjectMeta(name=self.name, namespace=self.namespace),
            spec=_spec(record),
        )
        created = self._call(
            "create", self._api.create_namespaced_lease, self.namespace, body, timeout=timeout, absent=409
        )
        return None if created is None else StoredLease(record, created.metadata.resource_version)

    def update(self, record: LeaseRecord, resource_version: str, timeout: float) -> StoredLease | None:
        """Replace the spec if the Lease is still at ``resource_version``; None on a conflict (409)."""
        body = kubernetes.client.V1Lease(
            metadata=kubernetes.client.V1ObjectMeta(
                name=self.name, namespace=self.namespace, resource_version=resource_version
            ),
            spec=_spec(record),
        )
        replaced = self._call(
            "update",
            self._api.replace_namespaced_lease,
            self.name,
            self.namespace,
            body,
            timeout=timeout,
            absent=409,
        )
        return None if replaced is None else StoredLease(record, replaced.metadata.resource_version)

    def _call(self, what: str, method: Any, *args: Any, timeout: float, absent: int) -> Any:
        """Call with a connect and read timeout; the ``absent`` status answers None."""
        bounded = max(timeout, MIN_TIMEOUT_SECONDS)
        try:
            return method(*args, _request_timeout=(bounded, bounded))
        except ApiException as error:
            if error.status == absent:
                return None
            raise LeaseError(
                f"cannot {what} Lease {self.namespace}/{self.name}: {error.status} {error.reason}"
            ) from None
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise LeaseError(
                f"cannot {what} Lease {self.namespace}/{self.name}: {type(error).__name__}"
            ) from None
