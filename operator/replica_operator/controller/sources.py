"""A Replica's spec.source.persistentVolumeClaim, resolved to the entity it names (issue 17).

claim -> bound PV -> the CSI driver's volumeHandle -> the volume or filesystem id -> its name on
spec.source.array (one GET by id). The pass then works from a body whose source names that
entity, as if the user had written it. Once the entity is recorded in status.resolvedSource it is
kept: spec.source is immutable, and a claim deleted or resized later does not change which
array entity is replicated (docs/pvc.md).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from replica_operator.api import ResolvedSource
from replica_operator.array import ArrayError, Dataset, NotFound
from replica_operator.kube import KubeError
from replica_operator.reconcile import (
    CsiProtocol,
    CsiVolume,
    EntityKind,
    Problem,
    bound_volume,
    entity_kind,
    parse_pv,
)

from .ports import KubeSide, Registry


@dataclass(frozen=True)
class Resolved:
    """The body to reconcile (source rewritten to the entity) and what to show in status."""

    body: Mapping[str, Any]
    source: ResolvedSource


def claim_of(body: Mapping[str, Any]) -> str | None:
    """The claim a Replica's source names, if it names one."""
    if body.get("kind") != "Replica":
        return None
    claim = ((body.get("spec") or {}).get("source") or {}).get("persistentVolumeClaim")
    return str(claim) if claim else None


async def resolve(
    body: Mapping[str, Any], claim: str, kube: KubeSide, registry: Registry
) -> Resolved | Problem:
    """The entity the claim names on spec.source.array, or why there is none (yet)."""
    recorded = ResolvedSource.model_validate(((body.get("status") or {}).get("resolvedSource")) or {})
    if recorded.entity and recorded.protocol:
        kind = entity_kind(CsiProtocol(recorded.protocol))
        return Resolved(_rewritten(body, claim, kind, recorded.entity), recorded)
    namespace = str(body["metadata"]["namespace"])
    try:
        found, volume = await kube.read_volume_objects(namespace, claim)
    except KubeError as error:
        return Problem("KubernetesUnavailable", str(error))
    bound = bound_volume(found, claim)
    if isinstance(bound, Problem):
        return bound
    if volume is None:
        return Problem(
            "VolumeNotFound", f"PersistentVolumeClaim {claim} is bound to {bound}, which does not exist"
        )
    parsed = parse_pv(volume)
    if isinstance(parsed, Problem):
        return Problem(parsed.reason, f"PersistentVolumeClaim {claim}: {parsed.message}", retryable=False)
    array = str(body["spec"]["source"]["array"])
    entity = await entity_on_array(parsed, array, registry)
    if isinstance(entity, Problem):
        return Problem(
            entity.reason, f"PersistentVolumeClaim {claim}: {entity.message}", retryable=entity.retryable
        )
    source = ResolvedSource(
        persistent_volume=parsed.pv,
        protocol=parsed.protocol.value,
        entity_id=parsed.entity_id,
        entity=entity.name,
    )
    return Resolved(_rewritten(body, claim, parsed.kind, entity.name), source)


async def entity_on_array(volume: CsiVolume, array: str, registry: Registry) -> Dataset | Problem:
    """The volume or filesystem a PV names, read by id on ``array`` (an id it lacks: refused)."""
    connection = registry.get(array)
    if connection is None or connection.client is None:
        return Problem("ArrayUnreachable", f"InfiniBox {array} is not connected yet")
    what = "volume" if volume.kind is EntityKind.VOLUME else "filesystem"
    try:
        if volume.kind is EntityKind.VOLUME:
            entity: Dataset = await connection.client.get_volume(volume.entity_id)
        else:
            entity = await connection.client.get_filesystem(volume.entity_id)
    except NotFound:
        return Problem(
            "EntityNotFound",
            f"PersistentVolume {volume.pv} names {what} id {volume.entity_id}, which InfiniBox {array} does "
            "not have (is spec.source.array the array of the claim's StorageClass?)",
            retryable=False,
        )
    except ArrayError as error:
        return Problem("ArrayUnreachable", f"cannot read {what} id {volume.entity_id} on {array}: {error}")
    return entity


def _rewritten(body: Mapping[str, Any], claim: str, kind: EntityKind, name: str) -> dict[str, Any]:
    """The body with spec.source naming the entity instead of the claim."""
    rewritten = copy.deepcopy(dict(body))
    source = rewritten["spec"]["source"]
    source.pop("persistentVolumeClaim", None)
    source["filesystem" if kind is EntityKind.FILESYSTEM else "volume"] = name
    return rewritten
