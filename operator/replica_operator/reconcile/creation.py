"""The Create step: every value of a new replica, taken from the spec once, here.

The executor only resolves the names in it to ids; it never reads the spec, so what the
rules decided and what is sent to the array cannot differ.
"""

from __future__ import annotations

from replica_operator.api import ConsistencyGroupReplicaSpec, ReplicaSpec, TargetMode

from .desired import Desired
from .observed import SideName
from .ownership import owner_mark
from .steps import Create, RemoteSide


def create_step(desired: Desired, entity_id: int | None = None) -> Create:
    """A new replica as the spec describes it; ``entity_id`` is the source entity the search found."""
    return _create(desired, _remote_from_spec(desired), entity_id=entity_id)


def recreate_step(desired: Desired) -> Create:
    """Create again between the same entities: onto the remote entity (and members) the lost replica had.

    The array keeps the old target after its replica is deleted and refuses a second one with
    the same name, so the new replica replicates onto it (mode Existing) instead.
    """
    previous = desired.status.current_target
    target = previous.entity if previous is not None and previous.array == desired.spec.target.array else None
    members = tuple(
        (m.local, m.remote) for m in getattr(desired.status, "members", []) if m.local and m.remote
    )
    if target is None or (desired.is_group and not members):
        return _create(desired, _remote_from_spec(desired), recreate=True)
    remote = RemoteSide(mode=TargetMode.EXISTING, name=target, members=members)
    return _create(desired, remote, recreate=True)


def _create(
    desired: Desired, remote: RemoteSide, *, entity_id: int | None = None, recreate: bool = False
) -> Create:
    spec = desired.spec
    rpo, sync_interval = spec.schedule()
    return Create(
        side=SideName.SOURCE,
        replica_id=0,
        entity_kind=desired.entity_kind,
        entity=desired.source_entity,
        entity_id=entity_id,
        link=spec.target.link,
        replication_type=spec.replication_type,
        rpo=rpo,
        sync_interval=sync_interval,
        description=owner_mark(desired.uid, desired.namespace, desired.name),
        remote=remote,
        recreate=recreate,
    )


def _remote_from_spec(desired: Desired) -> RemoteSide:
    spec = desired.spec
    target = spec.target
    if isinstance(spec, ReplicaSpec):
        snapshot = spec.target.base_snapshot
        pair = (snapshot.local, snapshot.remote) if snapshot is not None else None
        return RemoteSide(mode=target.mode, pool=target.pool, name=target.name, base_snapshot=pair)
    assert isinstance(spec, ConsistencyGroupReplicaSpec)
    mappings = spec.target.member_mappings or []
    if target.mode is TargetMode.CREATE:
        return RemoteSide(mode=target.mode, pool=target.pool, name=target.name)
    # Existing names the remote group; BaseSnapshot may not, and then it has the local group's name.
    name = target.name or desired.source_entity
    if target.mode is TargetMode.EXISTING:
        members = tuple((m.local, m.remote) for m in mappings if m.local and m.remote)
        return RemoteSide(mode=target.mode, name=name, members=members)
    snapshots = tuple(
        (m.local_snapshot, m.remote_snapshot) for m in mappings if m.local_snapshot and m.remote_snapshot
    )
    return RemoteSide(mode=target.mode, name=name, member_snapshots=snapshots)
