"""Tunable timing of the simulator (``PUT /_sim/config`` changes it at run time)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

#: The documented default credentials of ibox-sim (docs/simulator.md).
DEFAULT_USERNAME = "admin"
DEFAULT_PASSWORD = "admin"


class SimConfig(BaseModel):
    """Timing knobs; they apply to new and existing replicas alike."""

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
