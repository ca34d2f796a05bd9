"""Why a one-shot action waits, fails or runs, per situation: the exact words ``lastAction.message`` shows.

A user reads these to know what to fix (or that nothing needs fixing), so each branch of the
action rules is pinned to its situation and its message here.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from replica_operator.api import ReplicationType
from replica_operator.reconcile import Observation, Role, RunAction, SideName, decide
from tests.unit.reconcile.builders import SYNCED_STATUS, UNREACHABLE, desired, observe, peer, replica

SYNC = {"replicationType": "SYNC"}


def _sync(**fields: Any) -> Observation:
    source = replica(replication_type=ReplicationType.SYNC, rpo=None, sync_interval=None, **fields)
    return observe(source, peer(source))


def _async(**fields: Any) -> Observation:
    source = replica(**fields)
    return observe(source, peer(source))


def _plan(action: str, observed: Observation, spec: dict[str, Any] | None = None) -> Any:
    return decide(desired({**(spec or {}), "action": {"id": "a1", "type": action}}, SYNCED_STATUS), observed)


WAITS: list[tuple[str, str, Observation, dict[str, Any] | None, str]] = [
    (
        "two sources",
        "SyncNow",
        observe(replica(), dataclasses.replace(peer(replica()), role=Role.SOURCE, state="ACTIVE")),
        None,
        "waiting for the role conflict to be resolved",
    ),
    (
        "no source replica",
        "SyncNow",
        observe(None, peer(replica())),
        None,
        "waiting for the source side of the replica to be reachable",
    ),
    (
        "the source's array is down",
        "SyncNow",
        observe(replica(), peer(replica()), source_problem=UNREACHABLE),
        None,
        "waiting for ibox-1 to answer",
    ),
    (
        "initial sync",
        "SyncNow",
        _async(initializing=True, sync_state="INITIALIZING"),
        None,
        "waiting for the initial sync (INITIALIZING) to finish",
    ),
    ("type change under way", "SwitchRole", _async(), SYNC, "waiting for the change to SYNC"),
    (
        "suspended",
        "SyncNow",
        _async(state="SUSPENDED"),
        {"suspended": True},
        "waiting for replication to resume (it is SUSPENDED)",
    ),
    (
        "planned switch with the target array down",
        "SwitchRole",
        dataclasses.replace(_sync(), target=dataclasses.replace(_sync().target, problem=UNREACHABLE)),
        SYNC,
        "waiting for both arrays to answer (a planned switch needs both)",
    ),
    (
        "planned switch while out of sync",
        "SwitchRole",
        _sync(sync_state="OUT_OF_SYNC"),
        SYNC,
        "waiting for the replica to be SYNCHRONIZED (it is OUT_OF_SYNC)",
    ),
    (
        "failover with the target array down",
        "ChangeRole",
        observe(replica(), peer(replica()), target_problem=UNREACHABLE),
        None,
        "waiting for ibox-2 (the target side) to answer",
    ),
    (
        "failover with no target replica",
        "ChangeRole",
        observe(replica(), None),
        None,
        "waiting to see the target side of the replica",
    ),
]


@pytest.mark.parametrize(
    ("action", "observed", "spec", "message"), [w[1:] for w in WAITS], ids=[w[0] for w in WAITS]
)
def test_an_action_waits_and_says_for_what(
    action: str, observed: Observation, spec: dict[str, Any] | None, message: str
) -> None:
    plan = _plan(action, observed, spec)
    assert plan.action_wait == message
    assert plan.action_failure is None
    assert not any(isinstance(s, RunAction) for s in plan.steps)


FAILURES: list[tuple[str, str, Observation, dict[str, Any] | None, str]] = [
    (
        "observe-only",
        "SyncNow",
        _async(),
        {"managementPolicy": "ObserveOnly"},
        "managementPolicy is ObserveOnly: actions never run",
    ),
    ("sync now on a sync replica", "SyncNow", _sync(), SYNC, "SyncNow applies to ASYNC replicas only"),
    (
        "planned switch of an async replica",
        "SwitchRole",
        _async(),
        None,
        "SwitchRole needs a SYNC replica (a planned switch keeps both sides identical); change "
        "replicationType to SYNC first, or use ChangeRole for an unplanned failover",
    ),
]


@pytest.mark.parametrize(
    ("action", "observed", "spec", "message"), [f[1:] for f in FAILURES], ids=[f[0] for f in FAILURES]
)
def test_an_action_that_can_never_run_fails_and_says_why(
    action: str, observed: Observation, spec: dict[str, Any] | None, message: str
) -> None:
    plan = _plan(action, observed, spec)
    assert plan.action_failure is not None
    assert (plan.action_failure.reason, plan.action_failure.message) == ("Rejected", message)
    assert plan.action_wait is None
    assert not any(isinstance(s, RunAction) for s in plan.steps)


@pytest.mark.parametrize(
    ("action", "observed", "spec", "side", "replica_id"),
    [
        ("SyncNow", _async(), None, SideName.SOURCE, 101),
        ("SwitchRole", _sync(), SYNC, SideName.SOURCE, 101),
        ("ChangeRole", _async(), None, SideName.TARGET, 202),
    ],
)
def test_an_action_that_can_run_is_one_step_on_the_right_replica(
    action: str, observed: Observation, spec: dict[str, Any] | None, side: SideName, replica_id: int
) -> None:
    plan = _plan(action, observed, spec)
    runs = [s for s in plan.steps if isinstance(s, RunAction)]
    assert len(runs) == 1
    assert (runs[0].side, runs[0].replica_id, runs[0].action.id) == (side, replica_id, "a1")
    assert plan.action_wait is None
    assert plan.action_failure is None
