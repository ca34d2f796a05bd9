"""The calls the rules ask for. Each names the side (spec.source or spec.target) it runs on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from replica_operator.api import Action, ActionType, ReplicationType, TargetMode, format_duration

from .desired import EntityKind
from .observed import SideName


@dataclass(frozen=True, kw_only=True)
class Step:
    """One mutating call on one array. ``drift`` marks a step that puts back a change made on the array."""

    side: SideName
    replica_id: int
    drift: bool = False

    @property
    def event_reason(self) -> str:
        return type(self).__name__

    def describe(self) -> str:
        """What the step does, as in "could not <describe>"."""
        return type(self).__name__

    def done(self) -> str:
        """What the step did, for the Event after it succeeded."""
        return f"{self.describe()}: done"


@dataclass(frozen=True, kw_only=True)
class RemoteSide:
    """Where the remote side of a new replica comes from, by name (the executor resolves ids).

    ``name`` is the remote entity (for a group, the remote group); ``members`` pairs member
    volumes (mode Existing) and ``member_snapshots`` member snapshots (mode BaseSnapshot),
    each as (local, remote); ``base_snapshot`` is a dataset's (local, remote) snapshot pair.
    """

    mode: TargetMode
    pool: str | None = None
    name: str | None = None
    base_snapshot: tuple[str, str] | None = None
    members: tuple[tuple[str, str], ...] = ()
    member_snapshots: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, kw_only=True)
class Create(Step):
    """Create the replica on spec.source.array (``replica_id`` is 0: there is none yet).

    It carries every value of the request, so executing it reads no spec. ``entity_id`` is
    the replicated entity as this pass's search resolved it (None: look it up by name).
    A replica that was lost is created again onto the remote entity it had (``recreate``).
    """

    entity_kind: EntityKind
    entity: str
    entity_id: int | None = None
    link: str | None = None
    replication_type: ReplicationType
    rpo: timedelta | None = None
    sync_interval: timedelta | None = None
    description: str
    remote: RemoteSide
    recreate: bool = False

    @property
    def event_reason(self) -> str:
        return "Created"

    def describe(self) -> str:
        return "create the replica"

    def done(self) -> str:
        return "created the replica"


@dataclass(frozen=True, kw_only=True)
class ChangeType(Step):
    to: ReplicationType
    rpo: timedelta | None = None
    sync_interval: timedelta | None = None

    @property
    def event_reason(self) -> str:
        return "DriftCorrected" if self.drift else "TypeChanged"

    def describe(self) -> str:
        return f"change replica {self.replica_id} to {self.to}"

    def done(self) -> str:
        return f"changed replica {self.replica_id} to {self.to}"


@dataclass(frozen=True, kw_only=True)
class UpdateSchedule(Step):
    rpo: timedelta | None = None
    sync_interval: timedelta | None = None

    @property
    def event_reason(self) -> str:
        return "DriftCorrected" if self.drift else "ScheduleUpdated"

    def _values(self) -> str:
        parts = []
        if self.rpo is not None:
            parts.append(f"rpo {format_duration(self.rpo)}")
        if self.sync_interval is not None:
            parts.append(f"sync interval {format_duration(self.sync_interval)}")
        return " and ".join(parts)

    def describe(self) -> str:
        return f"set {self._values()} on replica {self.replica_id}"

    def done(self) -> str:
        return f"replica {self.replica_id} now has {self._values()}"


@dataclass(frozen=True, kw_only=True)
class Suspend(Step):
    @property
    def event_reason(self) -> str:
        return "DriftCorrected" if self.drift else "Suspended"

    def describe(self) -> str:
        return f"suspend replica {self.replica_id}"

    def done(self) -> str:
        return f"suspended replica {self.replica_id}"


@dataclass(frozen=True, kw_only=True)
class Resume(Step):
    @property
    def event_reason(self) -> str:
        return "DriftCorrected" if self.drift else "Resumed"

    def describe(self) -> str:
        return f"resume replica {self.replica_id}"

    def done(self) -> str:
        return f"resumed replica {self.replica_id}"


@dataclass(frozen=True, kw_only=True)
class RunAction(Step):
    """A one-shot ``spec.action``; the status records it as InProgress before the call is made."""

    action: Action

    @property
    def event_reason(self) -> str:
        return {
            ActionType.SYNC_NOW: "SyncStarted",
            ActionType.SWITCH_ROLE: "RoleSwitched",
            ActionType.CHANGE_ROLE: "RoleChanged",
        }[self.action.type]

    def describe(self) -> str:
        return f"run {self.action.type} (action {self.action.id}) on replica {self.replica_id}"

    def done(self) -> str:
        return f"ran {self.action.type} (action {self.action.id}) on replica {self.replica_id}"


@dataclass(frozen=True, kw_only=True)
class Delete(Step):
    """Delete the replica; from the SOURCE side this removes the peer too."""

    force_on_target: bool = False

    @property
    def event_reason(self) -> str:
        return "Deleted"

    def describe(self) -> str:
        return f"delete replica {self.replica_id}"

    def done(self) -> str:
        return f"deleted replica {self.replica_id}"


@dataclass(frozen=True, kw_only=True)
class TakeOver(Step):
    """Re-mark a replica pair as this object's: the user asked with the take-over annotation.

    ``peer_id`` is the other side's replica (re-marked too, on the other array), ``previous``
    says whose it was, for the Event.
    """

    description: str
    peer_id: int | None = None
    previous: str

    @property
    def event_reason(self) -> str:
        return "TakenOver"

    def describe(self) -> str:
        return f"take over replica {self.replica_id}"

    def done(self) -> str:
        return f"took over replica {self.replica_id} (it belonged to {self.previous})"
