"""The body of ``POST /api/rest/replicas``, built in each of the ways the array supports.

infinibox-api.md §5.7.1: a replica pairs each local dataset with a remote one, and each
pair says how the remote side gets its data (``remote_base_action``):

* ``CREATE``: the array creates the target in ``remote_pool_id`` and copies everything;
* ``NO_BASE_DATA``: an existing, empty target of the same size;
* ``BASE``: both sides hold a common snapshot; only the difference is copied;
* ``TAKE_SNAP``: the array snapshots both sides now and uses them as the base.

A consistency group carries one pair per member. The constructors below take ids only
(no I/O), so callers look the objects up first; the model validates what the array
would refuse anyway, earlier and with a clearer message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from enum import StrEnum
from typing import Any, Self, TypedDict, Unpack

from pydantic import BaseModel, ConfigDict, model_validator

from replica_operator.array.models import EntityType, ReplicationType

__all__ = [
    "DEFAULT_RPO",
    "DEFAULT_SYNC_INTERVAL",
    "BaseAction",
    "CreateReplicaRequest",
    "EntityPairRequest",
    "ReplicationOptions",
    "SnapshotBase",
]

#: Sent on every ASYNC create that names no RPO or interval. Infinidat's CSI driver always
#: sends both (``api/apiclient_replication.go``: ``CreateReplicaRequest`` has ``rpo_value`` and
#: ``sync_interval`` without ``omitempty``), defaulting to 300000 / 240000 ms
#: (``internal/controller/iboxreplica_controller.go``, infinibox-api.md §5.7.2).
DEFAULT_RPO = timedelta(milliseconds=300_000)
DEFAULT_SYNC_INTERVAL = timedelta(milliseconds=240_000)


class ReplicationOptions(TypedDict, total=False):
    """What every way of creating a replica takes besides the pairs (defaults: the model's)."""

    replication_type: ReplicationType
    rpo: timedelta | None
    sync_interval: timedelta | None
    description: str | None


class BaseAction(StrEnum):
    CREATE = "CREATE"
    NO_BASE_DATA = "NO_BASE_DATA"
    BASE = "BASE"
    TAKE_SNAP = "TAKE_SNAP"


class _RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EntityPairRequest(_RequestModel):
    """One (local dataset, remote dataset) pair of a new replica."""

    local_entity_id: int
    remote_entity_id: int | None = None
    remote_base_action: BaseAction
    local_base_action: BaseAction | None = None
    local_base_entity_id: int | None = None
    remote_base_entity_id: int | None = None
    remote_entity_name: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        action = self.remote_base_action
        if action is BaseAction.CREATE and self.remote_entity_id is not None:
            raise ValueError("CREATE makes the remote entity: remote_entity_id must be empty")
        if action is not BaseAction.CREATE and self.remote_entity_id is None:
            raise ValueError(f"{action} needs remote_entity_id")
        if action is BaseAction.BASE and (
            self.local_base_entity_id is None or self.remote_base_entity_id is None
        ):
            raise ValueError("BASE needs local_base_entity_id and remote_base_entity_id")
        return self

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "local_entity_id": self.local_entity_id,
            "remote_entity_id": self.remote_entity_id,
            "remote_base_action": self.remote_base_action.value,
        }
        optional = {
            "local_base_action": self.local_base_action.value if self.local_base_action else None,
            "local_base_entity_id": self.local_base_entity_id,
            "remote_base_entity_id": self.remote_base_entity_id,
            "remote_entity_name": self.remote_entity_name,
        }
        body.update((key, value) for key, value in optional.items() if value is not None)
        return body


class SnapshotBase(_RequestModel):
    """A dataset pair and the common snapshots to start from (one per CG member for a CG)."""

    local_entity_id: int
    remote_entity_id: int
    local_snapshot_id: int
    remote_snapshot_id: int

    def pair(self) -> EntityPairRequest:
        return EntityPairRequest(
            local_entity_id=self.local_entity_id,
            remote_entity_id=self.remote_entity_id,
            local_base_action=BaseAction.BASE,
            remote_base_action=BaseAction.BASE,
            local_base_entity_id=self.local_snapshot_id,
            remote_base_entity_id=self.remote_snapshot_id,
        )


class CreateReplicaRequest(_RequestModel):
    """Everything ``create_replica`` sends; prefer the constructors to filling it in by hand.

    ``rpo`` and ``sync_interval`` apply to ASYNC replicas only (sent in ms; when not given, an
    ASYNC create sends :data:`DEFAULT_RPO` / :data:`DEFAULT_SYNC_INTERVAL`); ``description``
    is stored on both sides and is how a caller finds a replica whose create answer was lost.
    """

    link_id: int
    entity_type: EntityType
    entity_pairs: tuple[EntityPairRequest, ...]
    replication_type: ReplicationType = ReplicationType.ASYNC
    rpo: timedelta | None = None
    sync_interval: timedelta | None = None
    description: str | None = None
    remote_pool_id: int | None = None
    local_cg_id: int | None = None
    remote_cg_id: int | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        is_cg = self.entity_type is EntityType.CONSISTENCY_GROUP
        if is_cg and self.local_cg_id is None:
            raise ValueError("a consistency group replica needs local_cg_id")
        if not is_cg and (self.local_cg_id is not None or self.remote_cg_id is not None):
            raise ValueError(
                f"local_cg_id / remote_cg_id belong to consistency groups, not {self.entity_type}"
            )
        if not is_cg and len(self.entity_pairs) != 1:
            raise ValueError(f"a {self.entity_type} replica has exactly one entity pair")
        creates = any(p.remote_base_action is BaseAction.CREATE for p in self.entity_pairs)
        if creates and self.remote_pool_id is None:
            raise ValueError("creating the target needs remote_pool_id")
        if is_cg and self.remote_cg_id is None and self.remote_pool_id is None:
            raise ValueError("a consistency group replica needs remote_cg_id or remote_pool_id")
        if self.replication_type is not ReplicationType.ASYNC and (
            self.rpo is not None or self.sync_interval is not None
        ):
            raise ValueError(
                f"rpo and sync_interval apply to ASYNC replicas only, not {self.replication_type}"
            )
        for name, value in (("rpo", self.rpo), ("sync_interval", self.sync_interval)):
            if value is not None and value < timedelta(0):
                raise ValueError(f"{name} cannot be negative")
        return self

    def to_body(self) -> dict[str, Any]:
        """The JSON body, in the array's field names and units."""
        body: dict[str, Any] = {
            "link_id": self.link_id,
            "entity_type": self.entity_type.value,
            "entity_pairs": [pair.to_body() for pair in self.entity_pairs],
            "replication_type": self.replication_type.value,
        }
        optional = {
            "remote_pool_id": self.remote_pool_id,
            "local_cg_id": self.local_cg_id,
            "remote_cg_id": self.remote_cg_id,
            "description": self.description,
        }
        if self.replication_type is ReplicationType.ASYNC:
            rpo, interval = async_times(self.rpo, self.sync_interval)
            optional["rpo_value"] = to_ms(rpo)
            optional["sync_interval"] = to_ms(interval)
        body.update((key, value) for key, value in optional.items() if value is not None)
        return body

    # -- a volume or a filesystem

    @classmethod
    def create_target(
        cls,
        *,
        link_id: int,
        entity_type: EntityType,
        local_entity_id: int,
        remote_pool_id: int,
        remote_entity_name: str | None = None,
        **options: Unpack[ReplicationOptions],
    ) -> CreateReplicaRequest:
        """The array creates the target dataset in ``remote_pool_id`` (named like the source unless given)."""
        pair = EntityPairRequest(
            local_entity_id=local_entity_id,
            remote_base_action=BaseAction.CREATE,
            remote_entity_name=remote_entity_name,
        )
        return cls(
            link_id=link_id,
            entity_type=entity_type,
            entity_pairs=(pair,),
            remote_pool_id=remote_pool_id,
            **options,
        )

    @classmethod
    def existing_target(
        cls,
        *,
        link_id: int,
        entity_type: EntityType,
        local_entity_id: int,
        remote_entity_id: int,
        **options: Unpack[ReplicationOptions],
    ) -> CreateReplicaRequest:
        """Replicate onto an existing remote dataset (empty, same size); everything is copied."""
        pair = EntityPairRequest(
            local_entity_id=local_entity_id,
            remote_entity_id=remote_entity_id,
            remote_base_action=BaseAction.NO_BASE_DATA,
        )
        return cls(
            link_id=link_id,
            entity_type=entity_type,
            entity_pairs=(pair,),
            **options,
        )

    @classmethod
    def from_base_snapshots(
        cls,
        *,
        link_id: int,
        entity_type: EntityType,
        base: SnapshotBase,
        **options: Unpack[ReplicationOptions],
    ) -> CreateReplicaRequest:
        """Start from snapshots both sides already share; only the difference is copied."""
        return cls(
            link_id=link_id,
            entity_type=entity_type,
            entity_pairs=(base.pair(),),
            **options,
        )

    @classmethod
    def take_snapshot(
        cls,
        *,
        link_id: int,
        entity_type: EntityType,
        local_entity_id: int,
        remote_entity_id: int,
        **options: Unpack[ReplicationOptions],
    ) -> CreateReplicaRequest:
        """The array snapshots both (already matching) datasets now and uses them as the base."""
        pair = EntityPairRequest(
            local_entity_id=local_entity_id,
            remote_entity_id=remote_entity_id,
            local_base_action=BaseAction.TAKE_SNAP,
            remote_base_action=BaseAction.TAKE_SNAP,
        )
        return cls(
            link_id=link_id,
            entity_type=entity_type,
            entity_pairs=(pair,),
            **options,
        )

    # -- a consistency group

    @classmethod
    def cg_create_target(
        cls,
        *,
        link_id: int,
        local_cg_id: int,
        member_ids: Sequence[int],
        remote_pool_id: int,
        remote_names: Mapping[int, str] | None = None,
        **options: Unpack[ReplicationOptions],
    ) -> CreateReplicaRequest:
        """The array creates the remote CG and one target per member (``member_ids``: every member's id)."""
        names = remote_names or {}
        pairs = tuple(
            EntityPairRequest(
                local_entity_id=member,
                remote_base_action=BaseAction.CREATE,
                remote_entity_name=names.get(member),
            )
            for member in member_ids
        )
        return cls(
            link_id=link_id,
            entity_type=EntityType.CONSISTENCY_GROUP,
            entity_pairs=pairs,
            local_cg_id=local_cg_id,
            remote_pool_id=remote_pool_id,
            **options,
        )

    @classmethod
    def cg_existing_target(
        cls,
        *,
        link_id: int,
        local_cg_id: int,
        remote_cg_id: int,
        member_mappings: Mapping[int, int],
        **options: Unpack[ReplicationOptions],
    ) -> CreateReplicaRequest:
        """Replicate onto an existing remote CG; ``member_mappings``: local member id -> remote member id."""
        pairs = tuple(
            EntityPairRequest(
                local_entity_id=local, remote_entity_id=remote, remote_base_action=BaseAction.NO_BASE_DATA
            )
            for local, remote in member_mappings.items()
        )
        return cls(
            link_id=link_id,
            entity_type=EntityType.CONSISTENCY_GROUP,
            entity_pairs=pairs,
            local_cg_id=local_cg_id,
            remote_cg_id=remote_cg_id,
            **options,
        )

    @classmethod
    def cg_from_base_snapshots(
        cls,
        *,
        link_id: int,
        local_cg_id: int,
        remote_cg_id: int,
        members: Sequence[SnapshotBase],
        **options: Unpack[ReplicationOptions],
    ) -> CreateReplicaRequest:
        """Start a CG replica from common snapshots, one :class:`SnapshotBase` per member."""
        return cls(
            link_id=link_id,
            entity_type=EntityType.CONSISTENCY_GROUP,
            entity_pairs=tuple(member.pair() for member in members),
            local_cg_id=local_cg_id,
            remote_cg_id=remote_cg_id,
            **options,
        )


def async_times(rpo: timedelta | None, interval: timedelta | None) -> tuple[timedelta, timedelta]:
    """The RPO and interval an ASYNC create says: as given, else defaults that keep interval <= RPO.

    An interval longer than the RPO would miss it on every cycle; the simulator refuses it
    (assumed of real arrays too), so an unsaid value follows the said one.
    """
    if rpo is None:
        rpo = max(DEFAULT_RPO, interval) if interval is not None else DEFAULT_RPO
    if interval is None:
        interval = min(DEFAULT_SYNC_INTERVAL, rpo)
    return rpo, interval


def to_ms(value: timedelta | None) -> int | None:
    """Whole milliseconds, as the array takes intervals."""
    return None if value is None else round(value / timedelta(milliseconds=1))
