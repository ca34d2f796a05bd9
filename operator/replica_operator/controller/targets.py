"""spec.target.persistentVolumeClaim of a Replica: a static PV for the remote entity and a claim
bound to it, so the application mounts the replica after a failover with no hand edits (issue 17).

The PV is made once the remote entity is known (status.currentTarget or, after a role switch,
currentSource on spec.target.array), in the CSI driver's format for the target array's entity id,
reclaim Retain. deletionPolicy Delete removes claim and PV with the Replica (never the array
entity: Retain); Orphan leaves both. See docs/pvc.md.
"""

from __future__ import annotations

from replica_operator.api import ClaimReference, DeletionPolicy, ReplicaSpec, ReplicaStatus, ResolvedSource
from replica_operator.array import ArrayError, Dataset
from replica_operator.kube import KubeError
from replica_operator.reconcile import (
    TARGET_LABEL,
    CsiProtocol,
    Desired,
    Problem,
    StaticClaim,
    static_manifests,
    storage_class_csi,
    target_pv_name,
)

from .ports import KubeSide, Registry


async def target_claim(
    desired: Desired,
    status: ReplicaStatus,
    kube: KubeSide,
    registry: Registry,
    resolved: ResolvedSource | None,
) -> ClaimReference | Problem | None:
    """Make (or, on deletion per deletionPolicy, remove) the target claim; its reference for status."""
    spec = desired.spec
    if not isinstance(spec, ReplicaSpec) or spec.target.persistent_volume_claim is None:
        return None
    wanted = spec.target.persistent_volume_claim
    namespace = wanted.namespace or desired.namespace
    pv = target_pv_name(desired.uid)
    ref = ClaimReference(name=wanted.name, namespace=namespace, persistent_volume=pv)
    try:
        if desired.deleting:
            if spec.deletion_policy is DeletionPolicy.DELETE:
                await kube.delete_volume_object("PersistentVolumeClaim", wanted.name, namespace)
                await kube.delete_volume_object("PersistentVolume", pv)
                return None
            return ref
        existing = await kube.read_cluster_object("persistentvolumes", pv)
        if existing is not None and (existing.get("status") or {}).get("phase") == "Bound":
            return ref  # made and bound; until then each pass creates what is missing (409s)
        entity = _remote_entity(desired, status)
        if entity is None:
            return None  # no remote entity yet: made on a later pass
        dataset = await _find(registry, spec.target.array, entity, filesystem=bool(spec.source.filesystem))
        if dataset is None:
            return Problem("TargetNotFound", f"{entity} not found on {spec.target.array} yet")
        protocol = CsiProtocol(resolved.protocol) if resolved and resolved.protocol else None
        protocol = protocol or (CsiProtocol.NFS if spec.source.filesystem else CsiProtocol.ISCSI)
        storage_class = wanted.storage_class_name or ""
        attributes, refs = await _class_csi(kube, storage_class)
        volume, claim = static_manifests(
            StaticClaim(
                pv_name=pv,
                claim_name=wanted.name,
                namespace=namespace,
                entity_id=dataset.id,
                protocol=protocol,
                size=str(dataset.size or 0),
                storage_class_name=storage_class,
                volume_attributes=attributes,
                secret_refs=refs,
                labels={TARGET_LABEL: desired.uid},
            )
        )
        await kube.create_volume_object(volume)
        await kube.create_volume_object(claim)
    except (KubeError, ArrayError) as error:
        return Problem("TargetClaimFailed", f"target claim {namespace}/{wanted.name}: {error}")
    return ref


def writable(
    desired: Desired, status: ReplicaStatus, claim: str | None, target: ClaimReference | None
) -> ClaimReference | None:
    """The claim on the side that is the source now (``claim``: spec.source.persistentVolumeClaim)."""
    spec = desired.spec
    primary = status.current_source.array if status.current_source else None
    if primary == spec.target.array:
        return target
    if primary == spec.source.array and claim:
        pv = status.resolved_source.persistent_volume if status.resolved_source else None
        return ClaimReference(name=claim, namespace=desired.namespace, persistent_volume=pv)
    return None


def _remote_entity(desired: Desired, status: ReplicaStatus) -> str | None:
    for endpoint in (status.current_target, status.current_source):
        if endpoint is not None and endpoint.array == desired.spec.target.array and endpoint.entity:
            return endpoint.entity
    return None


async def _find(registry: Registry, array: str, name: str, *, filesystem: bool) -> Dataset | None:
    connection = registry.get(array)
    if connection is None or connection.client is None:
        return None
    client = connection.client
    return await (client.find_filesystem(name) if filesystem else client.find_volume(name))


async def _class_csi(kube: KubeSide, name: str) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """The target StorageClass's parameters as the driver would put them on a PV (none: no class)."""
    found = await kube.read_cluster_object("storageclasses", name) if name else None
    return storage_class_csi(dict((found or {}).get("parameters") or {}))
