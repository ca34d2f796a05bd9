"""Tunable timing of the simulator (``PUT /_sim/config`` changes it at run time)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

#: The documented default credentials of ibox-sim (docs/simulator.md).
DEFAULT_USERNAME = "admin"
DEFAULT_PASSWORD = "admin"


class Latency(BaseModel):
    """Added answer time per endpoint class, in ms (``--latency-profile``, ``PUT /_sim/latency``)."""

    model_config = ConfigDict(extra="forbid")

    reads: float = Field(default=0.0, ge=0, le=600_000)
    creates: float = Field(default=0.0, ge=0, le=600_000)
    actions: float = Field(default=0.0, ge=0, le=600_000)
    deletes: float = Field(default=0.0, ge=0, le=600_000)


#: Named profiles. ``realistic`` is an assumption (no public latency figures of real arrays):
#: tens of ms for reads, about 150 ms for calls that change both arrays.
LATENCY_PROFILES: dict[str, Latency] = {
    "none": Latency(),
    "realistic": Latency(reads=20, creates=150, actions=150, deletes=100),
}
#: The concurrent-initialization limit the realistic profile brings unless one is given.
REALISTIC_MAX_CONCURRENT_INITS = 8


class SimConfig(BaseModel):
    """Timing and fidelity knobs; they apply to new and existing replicas alike."""

    model_config = ConfigDict(extra="forbid")

    #: How long a replica stays INITIALIZING (time it spends replicating, suspended time excluded).
    initial_sync_seconds: float = Field(default=5.0, ge=0)
    #: How long one periodic async job (or a SYNC resynchronisation) lasts.
    job_seconds: float = Field(default=1.0, ge=0)
    #: Lifetime of a login session, counted on the simulator clock from login.
    session_ttl_seconds: float = Field(default=3600.0, gt=0)
    #: Whether filesystems may replicate SYNC. Infinidat documents SYNC for volumes only on the
    #: releases infinisdk 289 targets; the operator supports both, so the simulator can show both.
    sync_filesystems: bool = True
    #: How long a link may be down before its replicas become AUTO_SUSPENDED (then only a resume
    #: restarts them). 24 h on real arrays [DOC 115000246965]; 0 suspends at once.
    auto_suspend_after_seconds: float = Field(default=86_400.0, ge=0)
    #: Initializations one array runs at once; more wait with job state PENDING (None: no limit).
    #: Infinidat documents 6-15 concurrent initializations [DOC 6211346151837]; 8 is an assumption.
    max_concurrent_inits: int | None = Field(default=None, ge=1)
    #: Show optional replica and dataset fields as null where a real array may.
    null_optional_fields: bool = False
    #: Accept a second replica of an already replicated entity (nothing proves a real array refuses).
    allow_duplicate_replicas: bool = False
    #: Replica deletes, role changes and creates need ``X-Remote-Authorization`` with the peer's
    #: credentials, else 403 REMOTE_PERMISSION_REQUIRED (infinisdk ``core/api/api.py``).
    require_remote_auth: bool = False
    #: Features ``GET _features`` lists with ``enabled: false`` (an array without them, for the
    #: operator's capability checks; infinisdk ``compat`` reads a disabled feature as absent).
    disabled_features: list[str] = Field(default_factory=list)
    #: Added latency per endpoint class (none by default: the simulator answers at once).
    latency: Latency = Field(default_factory=Latency)
