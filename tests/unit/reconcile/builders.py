"""Small builders for reconcile tests: objects, replicas and observations in one line each."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from replica_operator.api import ReplicationType
from replica_operator.reconcile import ArrayReplica, Desired, Observation, Problem, Role, Side

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
UID = "6f1c2a4e-0000-4000-8000-000000000001"


def body(
    spec: dict[str, Any] | None = None,
    status: dict[str, Any] | None = None,
    *,
    kind: str = "Replica",
    generation: int = 1,
    deleting: bool = False,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    base_spec: dict[str, Any] = (
        {"source": {"array": "ibox-1", "volume": "vol-1"}, "target": {"array": "ibox-2", "pool": "pool-1"}}
        if kind == "Replica"
        else {
            "source": {"array": "ibox-1", "consistencyGroup": "cg-1"},
            "target": {"array": "ibox-2", "pool": "pool-1"},
        }
    )
    metadata: dict[str, Any] = {"name": "rep", "namespace": "ns", "uid": UID, "generation": generation}
    if deleting:
        metadata["deletionTimestamp"] = "2026-11-25T12:00:00Z"
    if annotations:
        metadata["annotations"] = annotations
    return {"kind": kind, "metadata": metadata, "spec": {**base_spec, **(spec or {})}, "status": status or {}}


def desired(
    spec: dict[str, Any] | None = None, status: dict[str, Any] | None = None, **kwargs: Any
) -> Desired:
    return Desired.from_body(body(spec, status, **kwargs))


def replica(**fields: Any) -> ArrayReplica:
    base: dict[str, Any] = {
        "array": "ibox-1",
        "id": 101,
        "role": Role.SOURCE,
        "replication_type": ReplicationType.ASYNC,
        "remote_id": 202,
        "state": "ACTIVE",
        "sync_state": "SYNCHRONIZED",
        "initializing": False,
        "progress": 100,
        "last_synchronized": NOW - timedelta(seconds=5),
        "rpo": timedelta(minutes=5),
        "sync_interval": timedelta(minutes=1),
        "rpo_state": "OK",
        "description": f"k8s-uid={UID} k8s-object=ns/rep",
        "local_entity": "vol-1",
        "remote_entity": "vol-1-dr",
    }
    return ArrayReplica(**{**base, **fields})


def peer(of: ArrayReplica, **fields: Any) -> ArrayReplica:
    """The TARGET-side mirror of a SOURCE replica."""
    return dataclasses.replace(
        of,
        array="ibox-2",
        id=of.remote_id or 202,
        remote_id=of.id,
        role=Role.TARGET,
        state=None,
        sync_state=None,
        local_entity=of.remote_entity,
        remote_entity=of.local_entity,
        **fields,
    )


def observe(
    source: ArrayReplica | None = None,
    target: ArrayReplica | None = None,
    *,
    source_problem: Problem | None = None,
    target_problem: Problem | None = None,
    candidates: tuple[ArrayReplica, ...] = (),
    searched: bool = False,
    polled: bool = True,
) -> Observation:
    return Observation(
        source=Side("ibox-1", polled=polled, problem=source_problem, replica=source),
        target=Side("ibox-2", polled=polled, problem=target_problem, replica=target),
        now=NOW,
        candidates=candidates,
        searched=searched,
    )


UNREACHABLE = Problem("ArrayUnreachable", "ibox-1: connection refused")
SYNCED_STATUS = {
    "observedGeneration": 1,
    "replicaId": 101,
    "remoteReplicaId": 202,
    "currentSource": {"array": "ibox-1", "entity": "vol-1"},
    "conditions": [
        {
            "type": "Synced",
            "status": "True",
            "reason": "Synced",
            "message": "",
            "lastTransitionTime": "2026-11-25T11:00:00Z",
        }
    ],
}
