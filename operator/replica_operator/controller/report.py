"""Writing one pass down: status patches, Events and the live metrics of the object."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from replica_operator import metrics
from replica_operator.api import API_VERSION, CONSISTENCY_GROUP_REPLICA, REPLICA, CustomResource
from replica_operator.kube import KubeError
from replica_operator.reconcile import ArrayReplica, Desired, Event, Observation, StatusUpdate

from .memory import ObjectMemory
from .ports import KubeSide, Registry

log = logging.getLogger(__name__)


def resource_of(kind: str) -> CustomResource:
    return CONSISTENCY_GROUP_REPLICA if kind == CONSISTENCY_GROUP_REPLICA.kind else REPLICA


def known_replicas(body: Mapping[str, Any]) -> tuple[tuple[str, int | None], ...]:
    """(array, replica id in status) of both sides, as the object last recorded them."""
    spec, status = body["spec"], body.get("status") or {}
    return (
        (spec["source"]["array"], status.get("replicaId")),
        (spec["target"]["array"], status.get("remoteReplicaId")),
    )


class Reporter:
    """Status, Events and metrics of replication objects (status and Events go to ``kube``)."""

    def __init__(self, kube: KubeSide) -> None:
        self.kube = kube

    async def write(
        self, body: Mapping[str, Any], desired: Desired, update: StatusUpdate, memory: ObjectMemory
    ) -> None:
        """Replace the status with ``update`` (fields it no longer has are removed)."""
        new = update.status.to_cr()
        old = dict(body.get("status") or {})
        patch: dict[str, Any] = {key: None for key in old if key not in new}
        patch.update(new)
        if await self.patch(desired, patch) is not None:
            memory.wrote(body["metadata"].get("resourceVersion"), new)

    async def patch(self, desired: Desired, patch: dict[str, Any]) -> str | None:
        """Merge ``patch`` into the status; the new resourceVersion, None when not written."""
        try:
            return await self.kube.patch_status(
                resource_of(desired.kind), desired.namespace, desired.name, patch
            )
        except KubeError as error:
            log.warning("%s %s: status not written: %s", desired.kind, desired.ref, error)
            return None

    async def post(self, body: Mapping[str, Any], events: Sequence[Event]) -> None:
        reference = {"apiVersion": API_VERSION, "kind": body["kind"], "metadata": body["metadata"]}
        for event in events:
            await self.kube.post_event(
                reference, type=event.type.value, reason=event.reason, message=event.message
            )

    @staticmethod
    def export(desired: Desired, observed: Observation) -> None:
        """The lag of the object's source replica, as observed after the pass."""
        primary = observed.primary
        if primary is not None:
            _record_lag(desired.kind, desired.namespace, desired.name, primary[1], observed.now)

    @staticmethod
    def export_quiet(body: Mapping[str, Any], registry: Registry) -> None:
        """Keep the live lag metrics moving for an object whose pass was skipped."""
        for array, replica_id in known_replicas(body):
            connection = registry.get(array)
            replica = (
                connection.replicas.get(replica_id)
                if connection and connection.replicas and replica_id
                else None
            )
            if replica is not None and replica.is_source:
                meta = body["metadata"]
                _record_lag(body["kind"], meta["namespace"], meta["name"], replica, datetime.now(UTC))
                return


def _record_lag(kind: str, namespace: str, name: str, replica: ArrayReplica, now: datetime) -> None:
    rpo = replica.rpo.total_seconds() if replica.rpo else None
    metrics.record_lag(kind, namespace, name, replica.last_synchronized, rpo, now)
