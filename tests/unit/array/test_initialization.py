"""Initialization as infinisdk's ``replica.py`` reads it (``is_initial_replication``, ``is_pending``, ...)."""

from __future__ import annotations

from typing import Any

import pytest

from replica_operator.array import JobState, Replica


def replica(**fields: Any) -> Replica:
    base: dict[str, Any] = {"id": 1, "entity_type": "VOLUME", "role": "SOURCE", "state": "ACTIVE"}
    return Replica.model_validate({**base, **fields})


def job(state: str | None) -> dict[str, Any]:
    return {"id": 5, "state": state, "is_initial": True}


@pytest.mark.parametrize(
    ("fields", "initializing", "pending", "stalled"),
    [
        ({"is_initial": True, "jobs": [job("INITIALIZING")]}, True, False, False),
        (
            {"is_initial": True, "jobs": [job("STALLED")]},
            True,
            False,
            True,
        ),  # stalled still counts as initial
        ({"is_initial": False, "jobs": [job("INITIALIZING")]}, False, False, False),  # SDK: needs is_initial
        ({"is_initial": True, "jobs": [job("PENDING")]}, False, True, False),
        (
            {"state": "SUSPENDED", "jobs": [job("PENDING")]},
            False,
            False,
            False,
        ),  # SDK is_pending: active only
        ({"is_initial": False, "jobs": [job("REPLICATING")]}, False, False, False),
        ({"is_initial": True, "jobs": None}, False, False, False),  # null jobs: none
        (
            {"is_initial": True, "jobs": [job(None)], "job_state": "INITIALIZING"},
            True,
            False,
            False,
        ),  # inherits
        ({"replication_type": "SYNC", "sync_state": "INITIALIZING"}, True, False, False),
        ({"replication_type": "SYNC", "sync_state": "INITIALIZING_PENDING"}, False, True, False),
        ({"replication_type": "ACTIVE_ACTIVE", "sync_state": "INITIALIZING_PENDING"}, True, True, False),
        ({"replication_type": "ACTIVE_ACTIVE", "sync_state": "SYNC_STALLED"}, False, False, True),
        (
            {"replication_type": "ACTIVE_ACTIVE", "is_initial": True, "jobs": [job("INITIALIZING")]},
            False,
            False,
            False,
        ),
    ],
)
def test_initialization_states(
    fields: dict[str, Any], initializing: bool, pending: bool, stalled: bool
) -> None:
    read = replica(**fields)
    assert (read.initializing, read.initialization_pending, read.stalled) == (initializing, pending, stalled)


def test_job_states_are_read_case_insensitively_and_kept_when_unknown() -> None:
    read = replica(jobs=[job("stalled"), job("DONE")])
    assert read.job_states == (JobState.STALLED, "DONE")
    assert not read.job_states[1].known
