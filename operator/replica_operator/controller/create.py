"""From a Create step to the array's create request: resolve every name in it to an id.

The step already holds every value (type, schedule, mode, names); this module only looks
names up on the arrays (entity, link, pool, snapshot, group) and picks the request shape
(infinibox-api.md §5.7.1). A name that does not resolve raises :class:`LookupProblem`.
"""

from __future__ import annotations

from replica_operator.api import TargetMode
from replica_operator.array import (
    ConsistencyGroup,
    CreateReplicaRequest,
    Dataset,
    EntityType,
    ReplicationOptions,
    SnapshotBase,
)
from replica_operator.reconcile import Create, EntityKind, Problem

from .adapter import array_replication_type, entity_type
from .connections import ArrayConnection, LookupProblem
from .ports import Registry


class _Common(ReplicationOptions):
    """What every request shape of one create shares: the link, the type, the schedule, the owner mark."""

    link_id: int


async def build_request(
    step: Create, source: ArrayConnection, target: ArrayConnection, registry: Registry
) -> CreateReplicaRequest:
    """The request for ``step``, every name in it resolved on ``source`` or ``target``."""
    link = await registry.link(source, step.link, target)
    common: _Common = {
        "link_id": link.id,
        "replication_type": array_replication_type(step.replication_type),
        "rpo": step.rpo,
        "sync_interval": step.sync_interval,
        "description": step.description,
    }
    entity_id = step.entity_id
    if entity_id is None:  # not resolved by this pass's search (a recreate): look it up now
        entity_id = (await find_source(source, step.entity_kind, step.entity)).id
    if step.entity_kind is EntityKind.CONSISTENCY_GROUP:
        return await _group_request(step, source, target, entity_id, common, registry)
    return await _dataset_request(step, source, target, entity_id, common, registry)


async def _dataset_request(
    step: Create,
    source: ArrayConnection,
    target: ArrayConnection,
    entity_id: int,
    common: _Common,
    registry: Registry,
) -> CreateReplicaRequest:
    kind = entity_type(step.entity_kind)
    remote = step.remote
    if remote.mode is TargetMode.CREATE:
        assert remote.pool is not None
        pool = await registry.pool_id(target, remote.pool)
        return CreateReplicaRequest.create_target(
            entity_type=kind,
            local_entity_id=entity_id,
            remote_pool_id=pool,
            remote_entity_name=remote.name,
            **common,
        )
    if remote.mode is TargetMode.EXISTING:
        assert remote.name is not None
        found = unmapped(await find_dataset(target, kind, remote.name), target)
        return CreateReplicaRequest.existing_target(
            entity_type=kind, local_entity_id=entity_id, remote_entity_id=found.id, **common
        )
    assert remote.base_snapshot is not None
    local_name, remote_name = remote.base_snapshot
    local_snapshot = await find_snapshot(source, kind, local_name)
    remote_snapshot = await find_snapshot(target, kind, remote_name)
    base = SnapshotBase(
        local_entity_id=entity_id,
        remote_entity_id=parent_of(remote_snapshot, target),
        local_snapshot_id=local_snapshot.id,
        remote_snapshot_id=remote_snapshot.id,
    )
    return CreateReplicaRequest.from_base_snapshots(entity_type=kind, base=base, **common)


async def _group_request(
    step: Create,
    source: ArrayConnection,
    target: ArrayConnection,
    group_id: int,
    common: _Common,
    registry: Registry,
) -> CreateReplicaRequest:
    remote = step.remote
    if remote.mode is TargetMode.CREATE:
        assert remote.pool is not None
        members = await source.require_client().list_cg_members(group_id)
        pool = await registry.pool_id(target, remote.pool)
        return CreateReplicaRequest.cg_create_target(
            local_cg_id=group_id, member_ids=[m.id for m in members], remote_pool_id=pool, **common
        )
    assert remote.name is not None
    remote_group = await find_group(target, remote.name)
    if remote.mode is TargetMode.EXISTING:
        pairs: dict[int, int] = {}
        for local_name, remote_name in remote.members:
            local = await find_dataset(source, EntityType.VOLUME, local_name)
            paired = unmapped(await find_dataset(target, EntityType.VOLUME, remote_name), target)
            pairs[local.id] = paired.id
        return CreateReplicaRequest.cg_existing_target(
            local_cg_id=group_id, remote_cg_id=remote_group.id, member_mappings=pairs, **common
        )
    bases = []
    for local_name, remote_name in remote.member_snapshots:
        local_snapshot = await find_snapshot(source, EntityType.VOLUME, local_name)
        remote_snapshot = await find_snapshot(target, EntityType.VOLUME, remote_name)
        bases.append(
            SnapshotBase(
                local_entity_id=parent_of(local_snapshot, source),
                remote_entity_id=parent_of(remote_snapshot, target),
                local_snapshot_id=local_snapshot.id,
                remote_snapshot_id=remote_snapshot.id,
            )
        )
    return CreateReplicaRequest.cg_from_base_snapshots(
        local_cg_id=group_id, remote_cg_id=remote_group.id, members=bases, **common
    )


# -- name look-ups ----------------------------------------------------------------------------------
async def find_source(connection: ArrayConnection, kind: EntityKind, name: str) -> Dataset | ConsistencyGroup:
    """The replicated entity on the source array, by name."""
    if kind is EntityKind.CONSISTENCY_GROUP:
        return await find_group(connection, name)
    return await find_dataset(connection, entity_type(kind), name)


async def find_dataset(connection: ArrayConnection, kind: EntityType, name: str) -> Dataset:
    client = connection.require_client()
    finder = client.find_volume if kind is EntityType.VOLUME else client.find_filesystem
    found = await finder(name)
    if found is None:
        raise LookupProblem(
            Problem("EntityNotFound", f"{kind.value.lower()} {name} does not exist on {connection.name}")
        )
    return found


async def find_group(connection: ArrayConnection, name: str) -> ConsistencyGroup:
    found = await connection.require_client().find_consistency_group(name)
    if found is None:
        raise LookupProblem(
            Problem("EntityNotFound", f"consistency group {name} does not exist on {connection.name}")
        )
    return found


async def find_snapshot(connection: ArrayConnection, kind: EntityType, name: str) -> Dataset:
    found = await connection.require_client().find_snapshot(name, entity_type=kind)
    if found is None:
        raise LookupProblem(
            Problem("SnapshotNotFound", f"snapshot {name} does not exist on {connection.name}")
        )
    return found


def unmapped(dataset: Dataset, connection: ArrayConnection) -> Dataset:
    """An existing target that no host has mapped: replication overwrites a target with the
    source's data, so a mapped one (another application's volume, say, named by mistake or by a
    hostile tenant) is refused before the create is sent. Whether the array itself would refuse is
    not evidenced; the ``mapped`` field is infinisdk's (``Dataset`` fields)."""
    if dataset.mapped:
        raise LookupProblem(
            Problem(
                "TargetInUse",
                f"{dataset.name} on {connection.name} is mapped to a host: replicating onto it would "
                "overwrite data in use (unmap it, or name another target)",
            )
        )
    return dataset


def parent_of(snapshot: Dataset, connection: ArrayConnection) -> int:
    """The dataset a snapshot was taken of (a snapshot's pair partner on its array)."""
    if snapshot.parent_id is None:
        raise LookupProblem(
            Problem("SnapshotNotFound", f"{snapshot.name} on {connection.name} is not a snapshot")
        )
    return snapshot.parent_id
