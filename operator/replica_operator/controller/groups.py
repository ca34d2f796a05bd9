"""spec.source.persistentVolumeClaimSelector of a ConsistencyGroupReplica (issue 17 item 2).

Each pass: the selected claims -> their bound PVs -> volumes (by id) on spec.source.array, as for
a single claim (:func:`.sources.entity_on_array`); the operator's own consistency group on that
array (made once, marked with the object's :func:`owner_mark` in its metadata) is brought to
exactly those volumes, members re-read before every change; then the pass goes on with a body
whose source names that group, as if the user had written ``consistencyGroup``. Deletion removes
the group (never its members) once the replica is gone. See docs/pvc.md "Groups of claims".
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from replica_operator.api import ConsistencyGroupReplicaStatus, LabelSelector, ManagementPolicy
from replica_operator.array import ArrayError, ConsistencyGroup, Dataset, NotFound
from replica_operator.kube import KubeError
from replica_operator.reconcile import (
    OWNER_KEY,
    ClaimVolume,
    CsiProtocol,
    Desired,
    Event,
    EventType,
    Problem,
    array_changed,
    membership,
    owned_group_name,
    owner_mark,
    owner_uid,
    selected_volumes,
    selector_string,
)

from .ports import ArrayClient, InfiniBoxLookup, KubeSide, Registry
from .sources import entity_on_array

if TYPE_CHECKING:
    from .connections import ArrayConnection


@dataclass(frozen=True)
class Grouped:
    """The body to reconcile (source rewritten to the owned group) and what this pass did."""

    body: Mapping[str, Any]
    group: str
    claims: Mapping[str, str] = field(default_factory=dict)  # member volume name -> claim name
    events: tuple[Event, ...] = ()
    protocols: Mapping[str, CsiProtocol] = field(default_factory=dict)  # member volume -> protocol


def selector_of(body: Mapping[str, Any]) -> LabelSelector | None:
    """The claim selector a ConsistencyGroupReplica's source names, if it names one."""
    source = (body.get("spec") or {}).get("source") or {}
    if body.get("kind") != "ConsistencyGroupReplica" or "persistentVolumeClaimSelector" not in source:
        return None
    return LabelSelector.model_validate(source["persistentVolumeClaimSelector"] or {})


def owned_group(body: Mapping[str, Any]) -> str:
    meta = body["metadata"]
    return owned_group_name(str(meta["namespace"]), str(meta["name"]), str(meta["uid"]))


async def ensure_group(
    body: Mapping[str, Any],
    selector: LabelSelector,
    kube: KubeSide,
    registry: Registry,
    infiniboxes: InfiniBoxLookup,
) -> Grouped | Problem:
    """The owned group holding exactly the selected claims' volumes, or why not (yet)."""
    name = owned_group(body)
    rewritten = _rewritten(body, name)
    if body["metadata"].get("deletionTimestamp"):
        return Grouped(rewritten, name)  # nothing to resolve: the replica and the group go
    selected = await _selected(body, selector, kube)
    if isinstance(selected, Problem):
        return selected
    array = str(body["spec"]["source"]["array"])
    connection = await _connection(Desired.from_body(rewritten), infiniboxes, registry)
    if isinstance(connection, Problem):
        return connection
    assert connection.client is not None
    datasets: dict[str, Dataset] = {}
    refused: list[str] = []
    for item in selected:
        entity = await entity_on_array(item.volume, array, registry)
        if isinstance(entity, Problem) and entity.retryable:
            return Problem(entity.reason, f"PersistentVolumeClaim {item.claim}: {entity.message}")
        if isinstance(entity, Problem):
            refused.append(f"{item.claim}: {entity.message}")
        else:
            datasets[item.claim] = entity
    if refused:  # every claim named, as the claims the group cannot hold are
        message = f"PersistentVolumeClaims refused: {'; '.join(refused)}"
        return Problem("EntityNotFound", message, retryable=False)
    pools = {d.pool_id for d in datasets.values()}
    if len(pools) != 1 or None in pools:
        by_pool = ", ".join(f"{c} ({d.pool_name or d.pool_id})" for c, d in sorted(datasets.items()))
        return Problem(
            "MixedPools",
            f"the members of a consistency group must be in one pool; the claims' volumes are in: {by_pool}",
            retryable=False,
        )
    claims = {d.name: claim for claim, d in datasets.items()}
    by_claim = {item.claim: item.volume.protocol for item in selected}
    protocols = {d.name: by_claim[claim] for claim, d in datasets.items()}
    policy = body["spec"].get("managementPolicy") or ManagementPolicy.FULL
    if policy != ManagementPolicy.FULL:  # ObserveOnly: look, never make or change
        return Grouped(rewritten, name, claims, (), protocols)
    try:
        group = await _owned(connection.client, body, name, next(iter(pools)) or 0, array)
        if isinstance(group, Problem):
            return group
        events: tuple[Event, ...] = ()
        if not _switched(body):  # else the group on spec.source.array is a replication target now
            events = await _align(connection.client, group, datasets)
    except ArrayError as error:
        return Problem("MembershipFailed", f"consistency group {name} on {array}: {error}")
    return Grouped(rewritten, name, claims, events, protocols)


async def _connection(
    desired: Desired, infiniboxes: InfiniBoxLookup, registry: Registry
) -> ArrayConnection | Problem:
    """spec.source.array's connection, if this object may act there now: the InfiniBox exists and
    allows the namespace, the array answers, and it is the system status recorded (ArrayChanged
    otherwise, as for every call of the object's pass), or the one the user accepted."""
    array = desired.spec.source.array
    body = infiniboxes(array)
    if body is None:
        return Problem("ArrayNotFound", f"there is no InfiniBox object named {array}")
    allowed = body["spec"].get("allowedNamespaces") or []
    if allowed and desired.namespace not in allowed:
        message = (
            f"InfiniBox {array} does not allow namespace {desired.namespace} (see its spec.allowedNamespaces)"
        )
        return Problem("NamespaceNotAllowed", message, retryable=False)
    connection = await registry.ensure_polled(array, body)
    if connection.problem is not None:
        return connection.problem
    if connection.client is None:
        return Problem("ArrayUnreachable", f"InfiniBox {array} is not connected yet")
    recorded = desired.status.source_serial
    now = connection.system.serial if connection.system is not None else None
    if recorded is not None and now is not None and now != recorded and desired.accept_serial != now:
        return array_changed(array, recorded, now)
    return connection


async def release_group(body: Mapping[str, Any], registry: Registry) -> Problem | None:
    """After the replica is gone (deletionPolicy Delete): delete the owned group, never its members
    (they are the CSI driver's volumes). A group that is not ours is left alone."""
    name, array = owned_group(body), str(body["spec"]["source"]["array"])
    connection = registry.get(array)
    if connection is None or connection.client is None:
        return Problem("ArrayUnreachable", f"InfiniBox {array} is not connected yet")
    client = connection.client
    try:
        group = await client.find_consistency_group(name)
        if group is None or not await _ours(client, body, group):
            return None
        if group.is_replicated or group.replica_ids:
            return Problem("GroupStillReplicated", f"consistency group {name} on {array} is still replicated")
        await client.delete_consistency_group(group.id)
    except NotFound:
        return None
    except ArrayError as error:
        return Problem("GroupNotDeleted", f"cannot delete consistency group {name} on {array}: {error}")
    return None


async def _selected(
    body: Mapping[str, Any], selector: LabelSelector, kube: KubeSide
) -> list[ClaimVolume] | Problem:
    namespace = str(body["metadata"]["namespace"])
    try:
        claims = await kube.list_volume_objects("PersistentVolumeClaim", namespace, selector_string(selector))
        volumes: dict[str, Mapping[str, Any]] = {}
        for claim in claims:
            bound = (claim.get("spec") or {}).get("volumeName")
            if bound and (pv := await kube.read_cluster_object("persistentvolumes", str(bound))):
                volumes[str(bound)] = pv
    except KubeError as error:
        return Problem("KubernetesUnavailable", str(error))
    return selected_volumes(claims, volumes)


async def _owned(
    client: ArrayClient, body: Mapping[str, Any], name: str, pool_id: int, array: str
) -> ConsistencyGroup | Problem:
    """The owned group, made and marked when absent. One of that name that is not marked by this
    object is someone else's (Conflict), except an empty, unreplicated one nobody marked: this
    object's own, made by a pass that stopped (or lost the answer) before marking it (the name
    carries a digest of this object's uid)."""
    group = await client.find_consistency_group(name)
    meta = body["metadata"]
    mark = owner_mark(str(meta["uid"]), str(meta["namespace"]), str(meta["name"]))
    if group is None:
        group = await client.create_consistency_group(name, pool_id)
        await client.set_metadata(group.id, {OWNER_KEY: mark})
        return group
    found = await client.get_metadata_value(group.id, OWNER_KEY)
    if owner_uid(found) == str(meta["uid"]):
        return group
    if found is None and not group.is_replicated and not await client.list_cg_members(group.id):
        await client.set_metadata(group.id, {OWNER_KEY: mark})
        return group
    return Problem(
        "Conflict",
        f"consistency group {name} on {array} exists and is not this object's "
        f"({'marked ' + repr(found[:80]) if found else 'not marked by this operator'}); it is left "
        "untouched. Rename or delete it on the array, or re-create this object (a new uid, a new name)",
        retryable=False,
    )


async def _ours(client: ArrayClient, body: Mapping[str, Any], group: ConsistencyGroup) -> bool:
    return owner_uid(await client.get_metadata_value(group.id, OWNER_KEY)) == str(body["metadata"]["uid"])


async def _align(
    client: ArrayClient, group: ConsistencyGroup, datasets: Mapping[str, Dataset]
) -> tuple[Event, ...]:
    """Add and remove members until the group holds exactly ``datasets`` (re-read first, so a
    change made by a pass that stopped, or whose answer was lost, is not made twice)."""
    current = {m.id: m.name for m in await client.list_cg_members(group.id)}
    plan = membership((d.id for d in datasets.values()), current)
    claim_of = {d.id: claim for claim, d in datasets.items()}
    events: list[Event] = []
    for dataset_id in plan.remove:
        try:
            await client.remove_cg_member(group.id, dataset_id)
        except NotFound:
            continue  # gone already (a repeated removal)
        message = (
            f"volume {current[dataset_id]} left consistency group {group.name} (its claim left the selection)"
        )
        events.append(Event(EventType.NORMAL, "MemberRemoved", message))
    for dataset_id in plan.add:
        await client.add_cg_member(group.id, dataset_id)
        name = next(d.name for d in datasets.values() if d.id == dataset_id)
        claim = claim_of[dataset_id]
        message = f"volume {name} of PersistentVolumeClaim {claim} joined consistency group {group.name}"
        events.append(Event(EventType.NORMAL, "MemberAdded", message))
    return tuple(events)


def _switched(body: Mapping[str, Any]) -> bool:
    status = ConsistencyGroupReplicaStatus.model_validate(body.get("status") or {})
    source = status.current_source
    return source is not None and source.array != body["spec"]["source"]["array"]


def _rewritten(body: Mapping[str, Any], group: str) -> dict[str, Any]:
    """The body with spec.source naming the owned group instead of the selector."""
    rewritten = copy.deepcopy(dict(body))
    source = rewritten["spec"]["source"]
    source.pop("persistentVolumeClaimSelector", None)
    source["consistencyGroup"] = group
    return rewritten
