"""spec.target.persistentVolumeClaim of a Replica: a static PV for the remote entity and a claim
bound to it, so the application mounts the replica after a failover with no hand edits (issue 17).

spec.source.localClaim is the same for the entity on spec.source.array (the DR site's own array,
whose object names it as source): see :func:`local_claim`.

The PV is made once the remote entity is known (status.currentTarget or, after a role switch,
currentSource on spec.target.array), in the CSI driver's format for the target array's entity id,
reclaim Retain. deletionPolicy Delete removes claim and PV with the Replica (never the array
entity: Retain); Orphan leaves both. See docs/pvc.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from replica_operator.api import (
    ClaimReference,
    ConsistencyGroupReplicaStatus,
    DeletionPolicy,
    ReplicaSpec,
    ReplicaStatus,
    ResolvedSource,
)
from replica_operator.array import ArrayError, Dataset
from replica_operator.kube import KubeError
from replica_operator.reconcile import (
    TARGET_LABEL,
    CsiProtocol,
    Desired,
    Problem,
    StaticClaim,
    local_pv_name,
    member_claim_name,
    member_pv_name,
    static_manifests,
    storage_class_csi,
    target_pv_name,
)

from .ports import KubeSide, Registry


@dataclass(frozen=True)
class _Wanted:
    """One claim to make: its names and the entity on spec.target.array it stands for."""

    claim: str
    pv: str
    entity: str | None  # None: not known yet (the replica is being made)
    protocol: CsiProtocol | None = None  # a selector group's member: its source claim's


def _plan(
    desired: Desired, status: ReplicaStatus, protocols: Mapping[str, CsiProtocol]
) -> tuple[list[_Wanted], str, str] | None:
    """The claims the spec asks for, their namespace and StorageClass (None: none asked for)."""
    spec = desired.spec
    wanted = spec.target.persistent_volume_claim
    if wanted is None:
        return None
    namespace, storage_class = wanted.namespace or desired.namespace, wanted.storage_class_name or ""
    pv = target_pv_name(desired.uid)
    if isinstance(spec, ReplicaSpec):
        return [_Wanted(wanted.name, pv, _remote_entity(desired, status))], namespace, storage_class
    members = status.members if isinstance(status, ConsistencyGroupReplicaStatus) else []
    claims = [
        _Wanted(
            member_claim_name(wanted.name, member.persistent_volume_claim or member.local),
            member_pv_name(pv, member.local),
            member.remote,
            protocols.get(member.local),
        )
        for member in members
        if member.local
    ]
    return claims, namespace, storage_class


async def target_claims(
    desired: Desired,
    status: ReplicaStatus,
    kube: KubeSide,
    registry: Registry,
    resolved: ResolvedSource | None,
    members_seen: bool = False,
    protocols: Mapping[str, CsiProtocol] | None = None,
    *,
    allowed: frozenset[str] = frozenset(),
) -> list[ClaimReference] | Problem | None:
    """Make (or, on deletion per deletionPolicy, remove) the target claims; their references.

    ``members_seen``: this pass read the group's members from the array, so a target claim of a
    member no longer in it is a removed member's, removed with deletionPolicy Delete.
    ``protocols``: a selector group's member volumes and their source claims' protocols.
    ``allowed``: namespaces besides the object's own where claims may be made."""
    planned = _plan(desired, status, protocols or {})
    if planned is None:
        return None
    wanted, namespace, storage_class = planned
    if refused := _namespace_refused(desired, namespace, allowed, "spec.target.persistentVolumeClaim"):
        return refused
    filesystem = bool(getattr(desired.spec.source, "filesystem", None))
    protocol = CsiProtocol(resolved.protocol) if resolved and resolved.protocol else None
    protocol = protocol or (CsiProtocol.NFS if filesystem else CsiProtocol.ISCSI)
    where = _Where(desired.spec.target.array, namespace, storage_class, protocol)
    made = await _claims(desired, wanted, where, kube, registry)
    if (
        desired.is_group
        and not isinstance(made, Problem)
        and desired.spec.deletion_policy is DeletionPolicy.DELETE
    ):
        try:
            if desired.deleting:
                await _prune(desired, kube, keep=set())
            elif members_seen:
                await _prune(desired, kube, keep={w.pv for w in wanted})
        except KubeError as error:
            return Problem("TargetClaimFailed", f"claims of removed members: {error}")
    return made


def _namespace_refused(
    desired: Desired, namespace: str, allowed: frozenset[str], field: str
) -> Problem | None:
    """A claim in another namespace than the object's own only where the operator may make them:
    without that a tenant who may create Replicas could have the operator make claims where it
    may not (a confused deputy). Removing labelled claims on deletion is always allowed."""
    if desired.deleting or namespace == desired.namespace or namespace in allowed:
        return None
    return Problem(
        "ClaimNamespaceNotAllowed",
        f"{field}.namespace {namespace} is not this object's namespace and not one the operator may "
        "make claims in for other namespaces (--target-claim-namespace)",
    )


async def local_claim(
    desired: Desired, kube: KubeSide, registry: Registry, *, allowed: frozenset[str] = frozenset()
) -> list[ClaimReference] | Problem | None:
    """spec.source.localClaim: the claim of the entity on spec.source.array, made on this cluster.

    Only GETs go to the array (the entity's id and size), so an ObserveOnly object makes it too:
    asking for the claim is the user's consent to this Kubernetes write (docs/disaster-recovery.md).
    """
    source = desired.spec.source
    wanted = getattr(source, "local_claim", None)
    if wanted is None:
        return None
    filesystem = bool(getattr(source, "filesystem", None))
    entity = getattr(source, "volume", None) or getattr(source, "filesystem", None)
    item = _Wanted(wanted.name, local_pv_name(desired.uid), entity)
    protocol = CsiProtocol.NFS if filesystem else CsiProtocol.ISCSI
    namespace = wanted.namespace or desired.namespace
    if refused := _namespace_refused(desired, namespace, allowed, "spec.source.localClaim"):
        return refused
    where = _Where(source.array, namespace, wanted.storage_class_name or "", protocol, "SourceNotFound")
    return await _claims(desired, [item], where, kube, registry)


@dataclass(frozen=True)
class _Where:
    """Where the claims go and what their PVs name: the array of the entities, and how."""

    array: str
    namespace: str
    storage_class: str
    protocol: CsiProtocol  # unless a member's own (a selector group's claims)
    missing: str = "TargetNotFound"  # the reason when the entity is not on the array (yet)


async def _claims(
    desired: Desired, wanted: list[_Wanted], where: _Where, kube: KubeSide, registry: Registry
) -> list[ClaimReference] | Problem:
    """Make the static PV + claim of each entity (or remove them on deletion per deletionPolicy)."""
    namespace = where.namespace
    refs = [ClaimReference(name=w.claim, namespace=namespace, persistent_volume=w.pv) for w in wanted]
    try:
        if desired.deleting:
            if desired.spec.deletion_policy is not DeletionPolicy.DELETE:
                return refs
            for item in wanted:
                # Only a claim this object made: a claim of that name made by anyone else (the
                # application's own, say) is never deleted, whatever the spec names.
                found = await kube.read_volume_object("PersistentVolumeClaim", namespace, item.claim)
                if _made_here(found, desired):
                    await kube.delete_volume_object("PersistentVolumeClaim", item.claim, namespace)
                await kube.delete_volume_object("PersistentVolume", item.pv)
            return []
        made = []
        for item, ref in zip(wanted, refs, strict=True):
            existing = await kube.read_volume_object("PersistentVolume", None, item.pv)
            if existing is not None and (existing.get("status") or {}).get("phase") == "Bound":
                made.append(ref)  # made and bound (to our claim: the PV names its uid)
                continue
            if item.entity is None:
                continue  # no entity yet: made on a later pass
            protocol = item.protocol or where.protocol
            nfs = protocol is CsiProtocol.NFS
            dataset = await _find(registry, where.array, item.entity, filesystem=nfs)
            if dataset is None:
                return Problem(where.missing, f"{item.entity} not found on {where.array} yet")
            attributes, secret_refs = await _class_csi(kube, where.storage_class)
            if nfs:
                mount = await _nfs_mount(registry, where.array, dataset.id, attributes)
                if isinstance(mount, Problem):
                    return mount
                attributes = {**attributes, **mount}
            want = StaticClaim(
                pv_name=item.pv,
                claim_name=item.claim,
                namespace=namespace,
                entity_id=dataset.id,
                protocol=protocol,
                size=str(dataset.size or 0),
                storage_class_name=where.storage_class,
                volume_attributes=attributes,
                secret_refs=secret_refs,
                labels={TARGET_LABEL: desired.uid},
            )
            # The claim first, then the PV bound to that claim's uid: a claim of the same name that
            # this object did not make is refused and can never be bound to the PV.
            await kube.create_volume_object(static_manifests(want)[1])
            claim = await kube.read_volume_object("PersistentVolumeClaim", namespace, item.claim)
            if claim is None or not _made_here(claim, desired):
                return Problem(
                    "ClaimConflict",
                    f"a claim {namespace}/{item.claim} not made by this object exists; "
                    "the claim's name must name a claim of its own",
                )
            want = replace(want, claim_uid=claim["metadata"]["uid"])
            await kube.create_volume_object(static_manifests(want)[0])
            made.append(ref)
    except (KubeError, ArrayError) as error:
        return Problem("TargetClaimFailed", f"claims in {namespace}: {error}")
    return made


async def _prune(desired: Desired, kube: KubeSide, keep: set[str]) -> None:
    """Delete the target PVs (and the claims they are bound for) made for this object that are not
    in ``keep``: those of members that left the group. Found by their label, so a member removed
    while the operator was away loses its claim too. The array volume stays (reclaim Retain)."""
    selector = f"{TARGET_LABEL}={desired.uid}"
    for pv in await kube.list_volume_objects("PersistentVolume", None, selector):
        name = str(pv["metadata"]["name"])
        if name in keep:
            continue
        ref = (pv.get("spec") or {}).get("claimRef") or {}
        claim, claim_namespace = str(ref.get("name") or ""), str(ref.get("namespace") or "")
        if claim and claim_namespace:  # only a claim this object made, whatever the PV points at
            found = await kube.read_volume_object("PersistentVolumeClaim", claim_namespace, claim)
            if _made_here(found, desired):
                await kube.delete_volume_object("PersistentVolumeClaim", claim, claim_namespace)
        await kube.delete_volume_object("PersistentVolume", name)


def writable(
    desired: Desired, status: ReplicaStatus, claim: str | None, target: ClaimReference | None
) -> ClaimReference | None:
    """The claim on the side that is the source now (``claim``: spec.source.persistentVolumeClaim;
    status.localClaim stands for spec.source.array's entity when the operator made that claim)."""
    spec = desired.spec
    primary = status.current_source.array if status.current_source else None
    if primary == spec.target.array:
        return target
    if primary == spec.source.array and status.local_claim is not None:
        return status.local_claim
    if primary == spec.source.array and claim:
        pv = status.resolved_source.persistent_volume if status.resolved_source else None
        return ClaimReference(name=claim, namespace=desired.namespace, persistent_volume=pv)
    return None


def _made_here(found: dict[str, Any] | None, desired: Desired) -> bool:
    """Whether a claim (or PV) read from the API server carries this object's mark."""
    return (
        found is not None
        and ((found.get("metadata") or {}).get("labels") or {}).get(TARGET_LABEL) == desired.uid
    )


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


async def _nfs_mount(
    registry: Registry, array: str, filesystem_id: int, attributes: dict[str, str]
) -> dict[str, str] | Problem:
    """What the driver's NodePublishVolume mounts, ``<ipAddress>:<volPathd>``, for a filesystem on
    ``array``: the path of an export of it there and an address of the StorageClass's
    ``network_space`` (its replication controller's ``createRemotePV`` sets the same two). GETs only."""
    connection = registry.get(array)
    client = connection.client if connection is not None else None
    if client is None:
        return Problem("ArrayUnreachable", f"{array} is not connected")
    export = await client.find_export_of(filesystem_id)
    if export is None:
        return Problem(
            "ExportNotFound",
            f"filesystem {filesystem_id} on {array} has no NFS export: the claim's PersistentVolume mounts "
            "<network_space address>:<export path>; export it on the array",
        )
    space_name = attributes.get("network_space", "")
    space = await client.find_network_space(space_name) if space_name else None
    address = space.first_ip() if space is not None else None
    if address is None:
        return Problem(
            "NetworkSpaceNotFound",
            f"no address of network space {space_name or '(StorageClass parameter network_space unset)'} "
            f"on {array}",
        )
    return {"ipAddress": address, "volPathd": export.export_path, "exportID": str(export.id)}


async def _class_csi(kube: KubeSide, name: str) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """The target StorageClass's parameters as the driver would put them on a PV (none: no class)."""
    found = await kube.read_cluster_object("storageclasses", name) if name else None
    return storage_class_csi(dict((found or {}).get("parameters") or {}))
