"""What the operator reads from an array, as typed, immutable pydantic models.

The array speaks milliseconds: times are ms since the epoch and intervals are ms
(infinibox-api.md §5). The models turn them into aware ``datetime`` (UTC) and
``timedelta`` at the edge, so nothing else in the operator converts units. Fields the
operator does not use are ignored, so a newer array's additions do not break parsing,
and enumerations keep unknown values instead of refusing them (:class:`OpenEnum`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Generic, Self, TypeAlias, TypeVar

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field

__all__ = [
    "ConsistencyGroup",
    "Dataset",
    "EntityPair",
    "EntityType",
    "Filesystem",
    "JobState",
    "Link",
    "LinkState",
    "OpenEnum",
    "Page",
    "Pool",
    "Replica",
    "ReplicaJob",
    "ReplicaPage",
    "ReplicaState",
    "ReplicationType",
    "Role",
    "SyncState",
    "SystemInfo",
    "Volume",
]


class OpenEnum(StrEnum):
    """A string enumeration that accepts values it does not know.

    ``Role("PRIMARY")`` gives a pseudo-member that is not in ``list(Role)`` and is
    equal to ``"PRIMARY"``, so a value added by a newer array reads as what it is
    instead of failing the whole object.
    """

    @classmethod
    def _missing_(cls, value: object) -> Self | None:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return member

    @property
    def known(self) -> bool:
        """Whether this is one of the declared members (not a value from a newer array)."""
        return self._name_ in type(self).__members__


class ReplicationType(OpenEnum):
    ASYNC = "ASYNC"
    SYNC = "SYNC"
    ACTIVE_ACTIVE = "ACTIVE_ACTIVE"


class Role(OpenEnum):
    SOURCE = "SOURCE"
    TARGET = "TARGET"


class EntityType(OpenEnum):
    VOLUME = "VOLUME"
    FILESYSTEM = "FILESYSTEM"
    CONSISTENCY_GROUP = "CONSISTENCY_GROUP"


class ReplicaState(OpenEnum):
    """The SOURCE side's state (a TARGET has none)."""

    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    AUTO_SUSPENDED = "AUTO_SUSPENDED"


class SyncState(OpenEnum):
    SYNCHRONIZED = "SYNCHRONIZED"
    SYNC_IN_PROGRESS = "SYNC_IN_PROGRESS"
    INITIALIZING = "INITIALIZING"
    INITIALIZING_PENDING = "INITIALIZING_PENDING"
    OUT_OF_SYNC = "OUT_OF_SYNC"
    LAGGING = "LAGGING"
    SYNC_STALLED = "SYNC_STALLED"


class LinkState(OpenEnum):
    UP = "UP"
    DOWN = "DOWN"
    UNKNOWN = "UNKNOWN"


# -- unit conversion at the edge


def _ms_to_datetime(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    return value


def _ms_to_timedelta(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(milliseconds=value)
    return value


def _null_is_empty(value: Any) -> Any:
    """infinisdk treats a null ``jobs`` as no jobs (``Replica._get_jobs``); lists and flags alike here."""
    return () if value is None else value


def _null_is_false(value: Any) -> Any:
    return False if value is None else value


def _null_is_async(value: Any) -> Any:
    """Arrays before 4.0 have no ``replication_type`` (SDK ``has_sync_replication``): all are ASYNC."""
    return "ASYNC" if value is None else value


def _zero_is_none(value: Any) -> Any:
    """Master datasets and CGs report ``parent_id`` 0 (or null): no parent."""
    return None if value == 0 else value


MsDatetime: TypeAlias = Annotated[datetime | None, BeforeValidator(_ms_to_datetime)]
MsTimedelta: TypeAlias = Annotated[timedelta | None, BeforeValidator(_ms_to_timedelta)]
ParentId: TypeAlias = Annotated[int | None, BeforeValidator(_zero_is_none)]
Flag: TypeAlias = Annotated[bool, BeforeValidator(_null_is_false)]
Ids: TypeAlias = Annotated[tuple[int, ...], BeforeValidator(_null_is_empty)]
Names: TypeAlias = Annotated[tuple[str, ...], BeforeValidator(_null_is_empty)]


class _ArrayModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, validate_by_name=True, validate_by_alias=True)


# -- system and storage objects


class SystemInfo(_ArrayModel):
    name: str
    serial: int = Field(validation_alias=AliasChoices("serial_number", "serial"))
    version: str
    model: str | None = None


class Pool(_ArrayModel):
    id: int
    name: str
    state: str | None = None
    physical_capacity: int | None = None
    virtual_capacity: int | None = None
    free_physical_space: int | None = None
    free_virtual_space: int | None = None


class Dataset(_ArrayModel):
    """A volume or a filesystem; a snapshot is a dataset with a parent."""

    id: int
    name: str
    dataset_type: str | None = None
    type: str | None = None
    size: int | None = None
    pool_id: int | None = None
    pool_name: str | None = None
    parent_id: ParentId = None
    cg_id: int | None = None
    cg_name: str | None = None
    rmr_source: Flag = False
    rmr_target: Flag = False
    mapped: Flag = False  # mapped to a host (infinisdk's dataset field ``mapped``)
    write_protected: Flag = False
    replica_ids: Ids = ()
    replication_types: Names = ()
    created_at: MsDatetime = None
    updated_at: MsDatetime = None

    @property
    def is_snapshot(self) -> bool:
        return self.parent_id is not None

    @property
    def is_replicated(self) -> bool:
        return self.rmr_source or self.rmr_target or bool(self.replica_ids)


class Volume(Dataset):
    pass


class Filesystem(Dataset):
    pass


class ConsistencyGroup(_ArrayModel):
    """A consistency group, or a snapshot group (``parent_id`` set) of one."""

    id: int
    name: str
    pool_id: int | None = None
    pool_name: str | None = None
    parent_id: ParentId = None
    is_replicated: Flag = False
    members_count: int | None = None
    replica_ids: Ids = ()
    created_at: MsDatetime = None
    updated_at: MsDatetime = None


class Link(_ArrayModel):
    id: int
    name: str
    remote_host: str | None = None
    remote_system_name: str | None = None
    remote_system_serial_number: int | None = None
    remote_link_id: int | None = None
    link_state: LinkState | None = None
    state_description: str | None = None

    @property
    def is_up(self) -> bool:
        return self.link_state == LinkState.UP


# -- replicas


class JobState(OpenEnum):
    """A replication job's state (infinisdk ``replica.py``); other values are kept as read."""

    INITIALIZING = "INITIALIZING"
    REPLICATING = "REPLICATING"
    STALLED = "STALLED"
    PENDING = "PENDING"


class ReplicaJob(_ArrayModel):
    id: int | None = None
    state: str | None = None
    type: str | None = None
    is_initial: bool | None = None
    start_time: MsDatetime = None
    end_time: MsDatetime = None


class EntityPair(_ArrayModel):
    """One replicated dataset of a replica, as seen from this array's side."""

    id: int | None = None
    local_entity_id: int | None = None
    remote_entity_id: int | None = None
    local_entity_name: str | None = None
    remote_entity_name: str | None = None
    local_base_action: str | None = None
    remote_base_action: str | None = None
    local_base_entity_id: int | None = None
    remote_base_entity_id: int | None = None
    #: After a delete with ``retain_staging_area``: the snapshot keeping the last replicated data.
    local_reclaimed_snapshot_id: int | None = Field(default=None, alias="_local_reclaimed_snapshot_id")
    remote_reclaimed_snapshot_id: int | None = Field(default=None, alias="_remote_reclaimed_snapshot_id")


Jobs: TypeAlias = Annotated[tuple[ReplicaJob, ...], BeforeValidator(_null_is_empty)]
Pairs: TypeAlias = Annotated[tuple[EntityPair, ...], BeforeValidator(_null_is_empty)]
Kind: TypeAlias = Annotated[ReplicationType, BeforeValidator(_null_is_async)]

_INITIAL_JOB_STATES = frozenset({JobState.INITIALIZING, JobState.STALLED})
_AA_INITIAL_SYNC_STATES = frozenset({SyncState.INITIALIZING, SyncState.INITIALIZING_PENDING})


class Replica(_ArrayModel):
    """A replica as one array sees it (infinibox-api.md §5.7.3).

    ``rpo`` and ``sync_interval`` (``rpo_value`` / ``sync_interval`` on the wire, in ms)
    are set for ASYNC replicas only. ``state`` is None on a TARGET. ``parse_problems``
    names each field whose value could not be read (it then holds its empty value), so a
    caller can report the replica as unknown instead of trusting that field.
    """

    id: int
    description: str | None = None
    link_id: int | None = None
    entity_type: EntityType
    role: Role | None = None
    state: ReplicaState | None = None
    sync_state: SyncState | None = None
    replication_type: Kind = ReplicationType.ASYNC
    progress: int | None = None
    is_initial: bool | None = None
    jobs: Jobs = ()
    job_state: str | None = None
    last_synchronized: MsDatetime = None
    restore_point: MsDatetime = None
    rpo: MsTimedelta = Field(default=None, alias="rpo_value")
    sync_interval: MsTimedelta = None
    rpo_state: str | None = None
    remote_replica_id: int | None = None
    local_entity_id: int | None = None
    local_entity_name: str | None = None
    remote_entity_id: int | None = None
    remote_entity_name: str | None = None
    local_cg_id: int | None = None
    local_cg_name: str | None = None
    remote_cg_id: int | None = None
    remote_cg_name: str | None = None
    remote_pool_id: int | None = None
    entity_pairs: Pairs = ()
    state_reason: str | None = None
    state_description: str | None = None
    created_at: MsDatetime = None
    updated_at: MsDatetime = None
    #: After a CG replica's delete with ``retain_staging_area``: the snapshot group kept.
    local_reclaimed_sg_id: int | None = Field(default=None, alias="_local_reclaimed_sg_id")
    remote_reclaimed_sg_id: int | None = Field(default=None, alias="_remote_reclaimed_sg_id")
    #: ``"field: value"`` for each field the client could not read (see :mod:`.parsing`).
    parse_problems: tuple[str, ...] = ()

    @property
    def job_states(self) -> tuple[JobState, ...]:
        """Each job's state; a job without one has the replica's ``job_state`` (SDK ``Replica._get_jobs``)."""
        states = (job.state if job.state is not None else self.job_state for job in self.jobs)
        return tuple(JobState(state.upper()) for state in states if state)

    @property
    def initializing(self) -> bool:
        """The first full copy is under way or stalled (SDK ``is_initial_replication`` / ``is_initializing``).

        ACTIVE_ACTIVE: ``sync_state`` INITIALIZING or INITIALIZING_PENDING. Otherwise: ``is_initial``
        with a job INITIALIZING or STALLED, or ``sync_state`` INITIALIZING (SYNC replicas report it).
        """
        if self.replication_type is ReplicationType.ACTIVE_ACTIVE:
            return self.sync_state in _AA_INITIAL_SYNC_STATES
        by_jobs = bool(self.is_initial) and any(state in _INITIAL_JOB_STATES for state in self.job_states)
        return by_jobs or self.sync_state is SyncState.INITIALIZING

    @property
    def initialization_pending(self) -> bool:
        """Waiting for its turn to start copying (SDK ``is_pending`` / ``is_initializing_pending``).

        ``sync_state`` INITIALIZING_PENDING, or an ACTIVE replica with a PENDING job (arrays cap
        concurrent initializations, infinibox-api.md §6).
        """
        if self.sync_state is SyncState.INITIALIZING_PENDING:
            return True
        return self.state is ReplicaState.ACTIVE and JobState.PENDING in self.job_states

    @property
    def stalled(self) -> bool:
        """A job is STALLED (ACTIVE_ACTIVE: ``sync_state`` SYNC_STALLED), SDK ``is_stalled``."""
        if self.replication_type is ReplicationType.ACTIVE_ACTIVE:
            return self.sync_state is SyncState.SYNC_STALLED
        return JobState.STALLED in self.job_states


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a collection, with the array's paging metadata."""

    items: list[T] = field(default_factory=list)
    page: int = 1
    page_size: int = 0
    pages_total: int = 0
    number_of_objects: int = 0
    #: Items on this page without a usable id (left out of ``items``).
    skipped: int = 0

    @property
    def has_next(self) -> bool:
        return self.page < self.pages_total


ReplicaPage: TypeAlias = Page[Replica]
