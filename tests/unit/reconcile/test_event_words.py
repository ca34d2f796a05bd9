"""The Events of one pass, whole (type, reason, message): what ``kubectl describe`` tells a user.

Each Event is posted for a step or a transition, once: a condition that stays as it was, or a
one-shot record that did not change, posts nothing again.
"""

from __future__ import annotations

from typing import Any

from replica_operator.api import ReplicaStatus, ReplicationType, TargetMode
from replica_operator.reconcile import (
    Create,
    EntityKind,
    Event,
    EventType,
    Plan,
    Problem,
    RemoteSide,
    SideName,
    StepResult,
    Suspend,
)
from replica_operator.reconcile.events import events_of
from tests.unit.reconcile.builders import replica

N, W = EventType.NORMAL, EventType.WARNING
SUSPEND = Suspend(side=SideName.SOURCE, replica_id=101)


def _status(conditions: dict[str, tuple[str, str, str]] | None = None, **fields: Any) -> ReplicaStatus:
    listed = [
        {"type": kind, "status": s, "reason": r, "message": m, "lastTransitionTime": "2026-11-25T11:00:00Z"}
        for kind, (s, r, m) in (conditions or {}).items()
    ]
    return ReplicaStatus.model_validate({"replicaId": 101, "conditions": listed, **fields})


QUIET = _status()


def _events(
    plan: Plan, results: list[StepResult], previous: ReplicaStatus = QUIET, current: Any = None
) -> Any:
    return events_of(plan, results, previous, current if current is not None else previous)


def test_an_adoption_names_the_replica_and_its_array() -> None:
    plan = Plan(adopted=replica(id=909, array="ibox-1"))
    assert _events(plan, []) == (Event(N, "Adopted", "adopted replica 909 on ibox-1"),)


def test_a_step_that_succeeded_says_what_it_did_and_a_correction_says_it_was_one() -> None:
    corrected = Suspend(side=SideName.SOURCE, replica_id=101, drift=True)
    assert _events(Plan(), [StepResult(SUSPEND), StepResult(corrected)]) == (
        Event(N, "Suspended", "suspended replica 101"),
        Event(N, "DriftCorrected", "corrected a change made outside Kubernetes: suspended replica 101"),
    )


def test_a_create_names_the_new_replica_once_status_knows_its_id() -> None:
    create = Create(
        side=SideName.SOURCE,
        replica_id=0,
        entity_kind=EntityKind.VOLUME,
        entity="vol-1",
        replication_type=ReplicationType.ASYNC,
        description="k8s-uid=u",
        remote=RemoteSide(mode=TargetMode.CREATE, pool="pool-1"),
    )
    known = _status(replicaId=555)
    assert _events(Plan(), [StepResult(create)], current=known) == (
        Event(N, "Created", "created replica 555"),
    )
    unknown = ReplicaStatus()
    assert _events(Plan(), [StepResult(create)], unknown) == (Event(N, "Created", "created the replica"),)


def test_a_step_that_failed_is_a_warning_with_the_arrays_reason() -> None:
    failed = StepResult(SUSPEND, Problem("ArrayUnreachable", "ibox-1: connection refused"))
    assert _events(Plan(), [failed]) == (
        Event(W, "ArrayUnreachable", "could not suspend replica 101: ibox-1: connection refused"),
    )


def test_a_deferred_type_change_is_told_once() -> None:
    deferred = _status(pendingReplicationType="SYNC")
    told = Event(N, "TypeChangeDeferred", "the change to SYNC waits for the initial sync to finish")
    assert _events(Plan(), [], QUIET, deferred) == (told,)
    assert _events(Plan(), [], deferred, deferred) == ()


def test_a_warning_reason_of_synced_is_posted_on_entry_only() -> None:
    conflict = _status({"Synced": ("False", "Conflict", "replica 101 belongs to someone else")})
    warned = Event(W, "Conflict", "replica 101 belongs to someone else")
    assert _events(Plan(), [], QUIET, conflict) == (warned,)
    assert _events(Plan(), [], conflict, conflict) == ()
    other = _status({"Synced": ("False", "Drifted", "rpo is 5m")})
    assert _events(Plan(), [], conflict, other) == (Event(W, "Drifted", "rpo is 5m"),)


def test_ready_is_told_when_it_becomes_true_and_not_while_it_stays() -> None:
    ready = _status({"Ready": ("True", "Healthy", "ASYNC replica 101 is ACTIVE and SYNCHRONIZED")})
    not_ready = _status({"Ready": ("False", "Initializing", "copying")})
    assert _events(Plan(), [], not_ready, ready) == (
        Event(N, "Ready", "ASYNC replica 101 is ACTIVE and SYNCHRONIZED"),
    )
    assert _events(Plan(), [], QUIET, ready) == (
        Event(N, "Ready", "ASYNC replica 101 is ACTIVE and SYNCHRONIZED"),
    )
    assert _events(Plan(), [], ready, ready) == ()
    assert _events(Plan(), [], QUIET, not_ready) == ()


def _action(result: str, message: str = "ran it") -> dict[str, Any]:
    return {
        "lastAction": {
            "id": "sync-7",
            "type": "SyncNow",
            "result": result,
            "message": message,
            "startedAt": "2026-11-25T11:00:00Z",
        }
    }


def test_a_finished_action_is_told_once_normal_on_success_warning_on_failure() -> None:
    running, succeeded, failed = (_status(**_action(r)) for r in ("InProgress", "Succeeded", "Failed"))
    assert _events(Plan(), [], running, succeeded) == (Event(N, "ActionSucceeded", "SyncNow sync-7: ran it"),)
    assert _events(Plan(), [], QUIET, succeeded) == (Event(N, "ActionSucceeded", "SyncNow sync-7: ran it"),)
    assert _events(Plan(), [], running, failed) == (Event(W, "ActionFailed", "SyncNow sync-7: ran it"),)
    assert _events(Plan(), [], succeeded, succeeded) == ()  # the same record: told already
    assert _events(Plan(), [], QUIET, running) == ()  # not finished
    assert _events(Plan(), [], running, QUIET) == ()


def test_a_new_outcome_of_the_same_action_is_told() -> None:
    first, second = _status(**_action("Failed", "refused")), _status(**_action("Failed", "refused again"))
    assert _events(Plan(), [], first, second) == (Event(W, "ActionFailed", "SyncNow sync-7: refused again"),)
