"""What the operator saw on the arrays, in the terms the rules need (no client types, no I/O).

The array's words (states, roles) arrive here upper-cased and the replication type as the
``api`` enum: :mod:`replica_operator.controller.adapter` converts them once, so the rules
compare values and never re-spell them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from replica_operator.api import ReplicationType

INITIALIZING = "INITIALIZING"
SYNCHRONIZED = "SYNCHRONIZED"
SYNC_IN_PROGRESS = "SYNC_IN_PROGRESS"
ACTIVE = "ACTIVE"
SUSPENDED = "SUSPENDED"
AUTO_SUSPENDED = "AUTO_SUSPENDED"
RPO_LAGGING = "LAGGING"
#: Why an array suspends by itself and lifts it by itself once resolved: a resume cannot clear
#: these (the simulator answers 409 REPLICA_NOT_SUSPENDED; assumed for real arrays, where
#: ``resume`` is documented only for the link-down suspension [DOC 115000246965]).
REMOTE_REPLICA_MISSING = "REMOTE_REPLICA_MISSING"
SELF_CLEARING_REASONS = frozenset({"ROLE_CONFLICT", REMOTE_REPLICA_MISSING})


class Role(StrEnum):
    SOURCE = "SOURCE"
    TARGET = "TARGET"


class SideName(StrEnum):
    """A side of a replication object, named after its spec: the arrays never swap in the spec."""

    SOURCE = "source"
    TARGET = "target"

    @property
    def other(self) -> SideName:
        return SideName.TARGET if self is SideName.SOURCE else SideName.SOURCE


@dataclass(frozen=True, slots=True)
class ArrayReplica:
    """One replica as one array reports it.

    ``replication_type`` is None for a type the rules do not manage (e.g. ACTIVE_ACTIVE);
    ``unmanaged_type`` then holds the array's word for it, shown in status as it is.
    """

    array: str
    id: int
    role: Role
    replication_type: ReplicationType | None
    remote_id: int | None = None
    state: str | None = None
    sync_state: str | None = None
    initializing: bool = False
    progress: int | None = None
    last_synchronized: datetime | None = None
    rpo: timedelta | None = None
    sync_interval: timedelta | None = None
    rpo_state: str | None = None
    description: str = ""
    local_entity: str | None = None
    remote_entity: str | None = None
    members: tuple[tuple[str | None, str | None], ...] = ()
    state_reason: str | None = None
    unmanaged_type: str | None = None
    link_id: int | None = None
    parse_problems: tuple[str, ...] = ()
    """Fields the array answered with values the operator could not read ("field: value")."""

    @property
    def is_source(self) -> bool:
        return self.role is Role.SOURCE

    @property
    def is_suspended(self) -> bool:
        return self.state in (SUSPENDED, AUTO_SUSPENDED)

    @property
    def type_name(self) -> str | None:
        """The replication type as the array words it (for status and messages)."""
        return self.replication_type.value if self.replication_type is not None else self.unmanaged_type


@dataclass(frozen=True)
class Problem:
    """Why something could not be done or read: a CamelCase reason and a message for humans."""

    reason: str
    message: str
    retryable: bool = True


@dataclass(frozen=True)
class Side:
    """One array of a replication object, as last seen.

    ``polled`` tells whether a listing of the array is known at all: without one, a replica
    that is not in ``replica`` is merely unknown, not gone.
    """

    array: str
    polled: bool = False
    problem: Problem | None = None
    replica: ArrayReplica | None = None
    serial: int | None = None
    """The serial of the system the array's url leads to now (None: not known yet)."""

    @property
    def usable(self) -> bool:
        return self.polled and self.problem is None


@dataclass(frozen=True)
class Observation:
    """Both sides of one object, plus what a search for a replica to adopt found."""

    source: Side
    target: Side
    now: datetime
    candidates: tuple[ArrayReplica, ...] = ()
    searched: bool = False
    search_problem: Problem | None = None
    source_entity_id: int | None = None
    """The id of the replicated entity, when the search resolved it (a Create then needs no look-up)."""
    unsupported: Problem | None = None
    """Why an array of the object cannot hold the spec's replication type and entity (a missing feature)."""
    link_problem: Problem | None = None
    """The replication link the replica uses is not UP (from the arrays' link listing of this poll)."""
    marked: tuple[ArrayReplica, ...] = ()
    """On deletion: every replica on either array that carries this object's mark (found by it)."""
    marked_problem: Problem | None = None
    """Why the search by the mark failed (deletion then waits: it cannot know it removed them all)."""

    def side(self, name: SideName) -> Side:
        return self.source if name is SideName.SOURCE else self.target

    @property
    def primary(self) -> tuple[SideName, ArrayReplica] | None:
        """The side whose replica is the SOURCE now (after a role switch it is spec.target).

        A side that answers wins over one known only from before it became unreachable: after
        a ChangeRole the promoted target is the source, whatever the lost array last said.
        """
        sources = [name for name in (SideName.SOURCE, SideName.TARGET) if self._is_source(name)]
        answering = [name for name in sources if self.side(name).problem is None]
        chosen = (answering or sources)[:1]
        if not chosen:
            return None
        replica = self.side(chosen[0]).replica
        assert replica is not None
        return chosen[0], replica

    @property
    def split_brain(self) -> bool:
        """Both arrays answer and both claim to be the source (a ChangeRole while the other was away)."""
        return all(self._is_source(name) and self.side(name).problem is None for name in SideName)

    def _is_source(self, name: SideName) -> bool:
        replica = self.side(name).replica
        return replica is not None and replica.is_source
