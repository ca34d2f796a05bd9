"""The only place where the array client's models and enums become the rules' vocabulary.

The array speaks :mod:`replica_operator.array` (OpenEnums that keep unknown values), the
rules speak :mod:`replica_operator.api` and :mod:`replica_operator.reconcile`. Every
conversion between the two, in either direction, is a function here; nothing else in
the controller converts an enum by value.
"""

from __future__ import annotations

from replica_operator import array
from replica_operator.api import ReplicationType
from replica_operator.reconcile import ArrayReplica, EntityKind, Problem, Role

_MANAGED_TYPES = {
    array.ReplicationType.ASYNC: ReplicationType.ASYNC,
    array.ReplicationType.SYNC: ReplicationType.SYNC,
}


def problem_from(error: array.ArrayError) -> Problem:
    """An array failure as a condition reason and message (the array's own code and words)."""
    if isinstance(error, array.Unauthorized):
        return Problem("Unauthorized", f"the array refused the credentials: {error}", retryable=False)
    if isinstance(error, array.Unavailable):
        return Problem("ArrayUnreachable", str(error))
    return Problem(type(error).__name__, str(error))


def array_replication_type(replication_type: ReplicationType) -> array.ReplicationType:
    """The spec's replication type in the array's words (for a create or a type change)."""
    return array.ReplicationType(replication_type.value)


def entity_type(kind: EntityKind) -> array.EntityType:
    """What is replicated, as the array's ``entity_type``."""
    return array.EntityType(kind.value)


def to_array_replica(replica: array.Replica, array_name: str) -> ArrayReplica:
    """The array client's replica in the terms the rules use: upper-cased words, api enums.

    A role other than SOURCE (TARGET, or a value from a newer array) counts as TARGET: only a
    SOURCE accepts writes. A type the rules do not manage (ACTIVE_ACTIVE) is kept as text.
    Initializing is what infinisdk's ``replica.py`` calls ``is_initializing`` (a STALLED first
    copy included) or ``is_initializing_pending`` (a PENDING job waiting for its turn).
    """
    sync = _word(replica.sync_state)
    initializing = replica.initializing or replica.initialization_pending
    local_entity, remote_entity, members = _entities(replica)
    managed = _MANAGED_TYPES.get(replica.replication_type)
    return ArrayReplica(
        array=array_name,
        id=replica.id,
        role=Role.TARGET if _word(replica.role) not in (None, Role.SOURCE) else Role.SOURCE,
        replication_type=managed,
        unmanaged_type=None if managed is not None else _word(replica.replication_type),
        remote_id=replica.remote_replica_id,
        state=_word(replica.state),
        sync_state=sync,
        initializing=initializing,
        progress=replica.progress,
        last_synchronized=replica.last_synchronized,
        rpo=replica.rpo,
        sync_interval=replica.sync_interval,
        rpo_state=_word(replica.rpo_state),
        description=replica.description or "",
        local_entity=local_entity,
        remote_entity=remote_entity,
        members=members,
        state_reason=replica.state_reason or replica.state_description,
        link_id=replica.link_id,
        parse_problems=replica.parse_problems,
    )


def _entities(
    replica: array.Replica,
) -> tuple[str | None, str | None, tuple[tuple[str | None, str | None], ...]]:
    """(local entity, remote entity, group members) by name, wherever this array version put them."""
    pairs = replica.entity_pairs
    local_entity = replica.local_cg_name or replica.local_entity_name
    remote_entity = replica.remote_cg_name or replica.remote_entity_name
    if replica.entity_type is array.EntityType.CONSISTENCY_GROUP:
        return local_entity, remote_entity, tuple((p.local_entity_name, p.remote_entity_name) for p in pairs)
    if len(pairs) == 1:
        local_entity = local_entity or pairs[0].local_entity_name
        remote_entity = remote_entity or pairs[0].remote_entity_name
    return local_entity, remote_entity, ()


def _word(value: str | None) -> str | None:
    """An array word as the rules compare it (upper case), or None when the array gave none."""
    return str(value).upper() if value else None
