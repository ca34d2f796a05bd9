"""Every branch of the Ready, Replicating and RPOCompliant conditions, read whole (status, reason, message).

The conditions are what a user and ``kubectl wait`` see, so their reasons and messages are part
of the contract: each case names the situation on the arrays and the exact condition it shows.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest

from replica_operator.api import ReplicationType
from replica_operator.reconcile import ArrayReplica, Observation, Problem, Role, StepResult, decide, summarize
from tests.unit.reconcile.builders import NOW, SYNCED_STATUS, desired, observe, peer, replica

Condition = tuple[str, str, str]
DOWN = Problem("ArrayUnreachable", "ibox-1: connection refused")


def conditions(observed: Observation, spec: dict[str, Any] | None = None) -> dict[str, Condition]:
    """One pass over an object whose status knows the pair, with nothing run: its conditions."""
    obj = desired(spec, SYNCED_STATUS)
    plan = decide(obj, observed)
    update = summarize(obj, plan, [], plan.observation or observed, NOW)
    return {c.type: (c.status.value, c.reason, c.message) for c in update.status.conditions}


def pair(**fields: Any) -> Observation:
    source = replica(**fields)
    return observe(source, peer(source))


READY_CASES: list[tuple[str, Observation, dict[str, Any] | None, Condition]] = [
    (
        "healthy async",
        pair(),
        None,
        ("True", "Healthy", "ASYNC replica 101 is ACTIVE and SYNCHRONIZED"),
    ),
    (
        "sync replica without a sync state",
        pair(replication_type=ReplicationType.SYNC, sync_state=None),
        {"replicationType": "SYNC"},
        ("True", "Healthy", "SYNC replica 101 is ACTIVE and running"),
    ),
    (
        "active but out of sync",
        pair(replication_type=ReplicationType.SYNC, sync_state="OUT_OF_SYNC"),
        {"replicationType": "SYNC"},
        ("False", "OutOfSync", "replica 101 is OUT_OF_SYNC"),
    ),
    (
        "initializing",
        pair(initializing=True, sync_state="INITIALIZING", progress=5),
        None,
        ("False", "Initializing", "replica 101 is copying the initial data to the target"),
    ),
    (
        "auto-suspended with the array's reason, autoResume on",
        pair(state="AUTO_SUSPENDED", state_reason="link down for 10 minutes"),
        None,
        ("False", "AutoSuspended", "replica 101 is AUTO_SUSPENDED: link down for 10 minutes"),
    ),
    (
        "auto-suspended without a reason, autoResume off",
        pair(state="AUTO_SUSPENDED"),
        {"autoResume": False},
        (
            "False",
            "AutoSuspended",
            "replica 101 is AUTO_SUSPENDED: the array suspended replication; spec.autoResume is false: "
            "resume it yourself (set spec.autoResume to true)",
        ),
    ),
    (
        "suspended as asked",
        pair(state="SUSPENDED"),
        {"suspended": True},
        ("True", "Suspended", "replica 101 is suspended, as the spec asks"),
    ),
    (
        "a state the rules do not know",
        pair(state="FAILED_OVER"),
        None,
        ("False", "FailedOver", "replica 101 is FAILED_OVER"),
    ),
    (
        "no state at all",
        pair(state=None),
        None,
        ("False", "Unknown", "replica 101 is in no state"),
    ),
    (
        "the source's array does not answer",
        observe(replica(), peer(replica()), source_problem=DOWN),
        None,
        ("Unknown", "ArrayUnreachable", "last known state is shown; ibox-1: connection refused"),
    ),
]


@pytest.mark.parametrize(
    ("observed", "spec", "expected"), [c[1:] for c in READY_CASES], ids=[c[0] for c in READY_CASES]
)
def test_ready_says_what_the_source_replica_shows(
    observed: Observation, spec: dict[str, Any] | None, expected: Condition
) -> None:
    assert conditions(observed, spec)["Ready"] == expected


def test_suspended_against_the_spec_is_not_ready_and_says_so() -> None:
    # The plan resumes it; nothing ran in this pass, so the array still shows SUSPENDED.
    assert conditions(pair(state="SUSPENDED"))["Ready"] == (
        "False",
        "Suspended",
        "replica 101 is suspended; the spec asks to resume it",
    )


def test_two_sources_are_a_role_conflict_with_the_synced_message() -> None:
    source = replica()
    second = dataclasses.replace(peer(source), role=Role.SOURCE, state="ACTIVE")
    found = conditions(observe(source, second))
    assert found["Ready"][:2] == ("False", "RoleConflict")
    assert found["Ready"][2] == found["Synced"][2]
    assert found["Ready"][2]


def test_only_targets_are_no_source() -> None:
    target = peer(replica())
    found = conditions(observe(None, target))
    assert found["Ready"] == ("False", "SourceUnavailable", "no replica reports the SOURCE role")


def test_only_targets_with_the_source_array_down_is_unknown() -> None:
    target = peer(replica())
    found = conditions(observe(None, target, source_problem=DOWN))
    assert found["Ready"] == ("Unknown", "ArrayUnreachable", "ibox-1: connection refused")


def test_not_created_yet() -> None:
    obj = desired()
    observed = observe(searched=True)
    plan = decide(obj, observed)
    update = summarize(obj, plan, [], observed, NOW)
    found = {c.type: (c.status.value, c.reason, c.message) for c in update.status.conditions}
    assert found["Ready"] == ("False", "NotCreated", "the replica does not exist yet")
    assert found["Replicating"] == ("False", "NoReplica", "there is no source replica")
    assert found["RPOCompliant"] == ("Unknown", "NoReplica", "no source replica to measure")


def test_a_replica_gone_from_the_array_is_not_ready_with_the_synced_reason() -> None:
    # status knows 101/202, the arrays answer and have neither: reported, not recreated
    found = conditions(observe(searched=False))
    assert found["Ready"][0] == "False"
    assert found["Ready"][1:] == found["Synced"][1:]
    assert found["Synced"][0] == "False"


def test_no_replica_with_the_source_array_down_leaves_replicating_unknown() -> None:
    found = conditions(observe(source_problem=DOWN, polled=False))
    assert found["Replicating"] == ("Unknown", "ArrayUnreachable", "ibox-1: connection refused")


REPLICATING_CASES: list[tuple[str, Observation, dict[str, Any] | None, Condition]] = [
    ("active", pair(), None, ("True", "Active", "data flows from ibox-1 to the target")),
    (
        "initializing",
        pair(initializing=True, sync_state="INITIALIZING"),
        None,
        ("True", "Initializing", "data flows from ibox-1 to the target"),
    ),
    (
        "suspended",
        pair(state="SUSPENDED"),
        {"suspended": True},
        ("False", "Suspended", "replication is SUSPENDED"),
    ),
    ("no state", pair(state=None), None, ("False", "Unknown", "replication is not running")),
    (
        "link down",
        dataclasses.replace(pair(), link_problem=Problem("LinkDown", "link 5 is DOWN")),
        None,
        ("False", "LinkDown", "link 5 is DOWN"),
    ),
]


@pytest.mark.parametrize(
    ("observed", "spec", "expected"),
    [c[1:] for c in REPLICATING_CASES],
    ids=[c[0] for c in REPLICATING_CASES],
)
def test_replicating_says_whether_data_flows(
    observed: Observation, spec: dict[str, Any] | None, expected: Condition
) -> None:
    assert conditions(observed, spec)["Replicating"] == expected


def _sync(**fields: Any) -> ArrayReplica:
    return replica(replication_type=ReplicationType.SYNC, rpo=None, sync_interval=None, **fields)


RPO_CASES: list[tuple[str, Observation, dict[str, Any] | None, Condition]] = [
    ("within", pair(), None, ("True", "WithinRPO", "the last sync met the RPO")),
    (
        "initializing",
        pair(initializing=True, sync_state="INITIALIZING"),
        None,
        ("False", "Initializing", "the initial sync has not finished"),
    ),
    (
        "suspended",
        pair(state="SUSPENDED"),
        {"suspended": True},
        ("False", "Suspended", "replication is suspended"),
    ),
    (
        "auto-suspended",
        pair(state="AUTO_SUSPENDED"),
        None,
        ("False", "AutoSuspended", "replication is suspended"),
    ),
    (
        "the array says lagging",
        pair(rpo_state="LAGGING"),
        None,
        ("False", "RPOExceeded", "the array reports the RPO as LAGGING"),
    ),
    (
        "the last sync is older than the RPO",
        pair(last_synchronized=NOW - timedelta(minutes=6)),
        None,
        ("False", "RPOExceeded", "the last sync is older than the RPO"),
    ),
    (
        "the last sync is exactly the RPO old",
        pair(last_synchronized=NOW - timedelta(minutes=5)),
        None,
        ("True", "WithinRPO", "the last sync met the RPO"),
    ),
    (
        "never synced: nothing to measure against the RPO",
        pair(last_synchronized=None),
        None,
        ("True", "WithinRPO", "the last sync met the RPO"),
    ),
    (
        "sync and synchronized",
        observe(_sync(), peer(_sync())),
        {"replicationType": "SYNC"},
        ("True", "Synchronous", "every write reaches both arrays (RPO zero)"),
    ),
    (
        "sync and out of sync",
        observe(_sync(sync_state="OUT_OF_SYNC"), peer(_sync())),
        {"replicationType": "SYNC"},
        ("False", "OutOfSync", "the SYNC replica is OUT_OF_SYNC"),
    ),
]


@pytest.mark.parametrize(
    ("observed", "spec", "expected"), [c[1:] for c in RPO_CASES], ids=[c[0] for c in RPO_CASES]
)
def test_rpo_compliance(observed: Observation, spec: dict[str, Any] | None, expected: Condition) -> None:
    assert conditions(observed, spec)["RPOCompliant"] == expected


def test_a_sync_replica_without_a_sync_state_is_not_counted_compliant() -> None:
    found = conditions(observe(_sync(sync_state=None), peer(_sync())), {"replicationType": "SYNC"})
    assert found["RPOCompliant"][:2] == ("False", "Unknown")


# -- Synced: whether the arrays match the spec -----------------------------------------------------
def _pass(obj: Any, observed: Observation, ran: Any = None) -> dict[str, Condition]:
    plan = decide(obj, observed)
    results = ran(plan) if ran is not None else []
    update = summarize(obj, plan, results, plan.observation or observed, NOW)
    return {c.type: (c.status.value, c.reason, c.message) for c in update.status.conditions}


def test_synced_when_the_arrays_match_the_spec() -> None:
    assert conditions(pair())["Synced"] == ("True", "Synced", "the arrays match the spec")


def test_synced_false_while_deleting() -> None:
    found = _pass(desired({"deletionPolicy": "Orphan"}, SYNCED_STATUS, deleting=True), pair())
    assert found["Synced"] == ("False", "Deleting", "the replica is being deleted")


def test_a_type_change_during_the_initial_sync_is_deferred_and_says_so() -> None:
    found = conditions(pair(initializing=True, sync_state="INITIALIZING"), {"replicationType": "SYNC"})
    assert found["Synced"] == (
        "False",
        "TypeChangeDeferred",
        "the change to SYNC waits for the initial sync (INITIALIZING) to finish; it is applied "
        "automatically as soon as it does",
    )


def test_corrected_drift_says_what_was_put_back() -> None:
    by_hand = replica(replication_type=ReplicationType.SYNC)
    obj = desired(None, SYNCED_STATUS)
    observed = observe(by_hand, peer(by_hand))
    plan = decide(obj, observed)
    found = _pass(obj, observed, lambda p: [StepResult(s) for s in p.steps])
    assert found["Synced"] == (
        "True",
        "DriftCorrected",
        "put back changes made on the array: " + "; ".join(plan.drift),
    )
    assert plan.drift
    # the same drift, its correction refused: Synced is False with the array's words
    refused = _pass(obj, observed, lambda p: [StepResult(s, Problem("Rejected", "no")) for s in p.steps])
    assert refused["Synced"][:2] == ("False", "Rejected")
    assert refused["Synced"][2].endswith(": no")


def test_a_failed_one_shot_action_does_not_make_synced_false() -> None:
    obj = desired({"action": {"id": "s1", "type": "SyncNow"}}, SYNCED_STATUS)
    found = _pass(obj, pair(), lambda p: [StepResult(s, Problem("Rejected", "no")) for s in p.steps])
    assert found["Synced"] == ("True", "Synced", "the arrays match the spec")
