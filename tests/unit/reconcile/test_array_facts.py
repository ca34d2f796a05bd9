"""Rules fed by what the arrays say beyond the replica: unreadable fields, features, links, autoResume."""

from __future__ import annotations

import dataclasses

from replica_operator.reconcile import ChangeType, Problem, Resume, decide, summarize
from tests.unit.reconcile.builders import NOW, SYNCED_STATUS, desired, observe, peer, replica

UNSUPPORTED = Problem(
    "Unsupported", "InfiniBox ibox-2: SYNC replication needs InfiniBox 4.0", retryable=False
)
LINK_DOWN = Problem("LinkDown", "replication link to-ibox-2 on ibox-1 (to ibox-2) is DOWN")


def _conditions(obj: object, observed: object) -> dict[str, tuple[str, str, str]]:
    plan = decide(obj, observed)  # type: ignore[arg-type]
    update = summarize(obj, plan, [], plan.observation or observed, NOW)  # type: ignore[arg-type]
    return {c.type: (c.status.value, c.reason, c.message) for c in update.status.conditions}


def test_a_replica_with_an_unreadable_field_is_unknown_and_left_alone() -> None:
    odd = replica(parse_problems=("progress: 'lots'",), rpo=None, state="SUSPENDED")
    obj = desired({"rpo": "5m"})
    plan = decide(obj, observe(odd, peer(odd)))
    assert plan.steps == ()  # neither the schedule nor the suspension is "corrected" on a misread replica
    status, reason, message = _conditions(obj, observe(odd, peer(odd)))["Synced"]
    assert (status, reason) == ("Unknown", "UnreadableField")
    assert "progress: 'lots'" in message


def test_a_replica_of_an_unmanaged_type_is_reported_as_unknown() -> None:
    other = replica(replication_type=None, unmanaged_type="ACTIVE_ACTIVE", rpo=None, sync_interval=None)
    status, reason, message = _conditions(desired({"rpo": "5m"}), observe(other, peer(other)))["Synced"]
    assert (status, reason) == ("Unknown", "UnmanagedType")
    assert "ACTIVE_ACTIVE" in message


def test_a_create_the_array_cannot_hold_is_refused_without_a_call() -> None:
    observed = dataclasses.replace(observe(searched=True), unsupported=UNSUPPORTED)
    obj = desired({"replicationType": "SYNC"})
    assert decide(obj, observed).steps == ()
    assert _conditions(obj, observed)["Synced"][:2] == ("False", "Unsupported")


def test_a_type_change_the_array_cannot_hold_is_refused_without_a_call() -> None:
    observed = dataclasses.replace(observe(replica(), peer(replica())), unsupported=UNSUPPORTED)
    obj = desired({"replicationType": "SYNC"})
    plan = decide(obj, observed)
    assert not any(isinstance(step, ChangeType) for step in plan.steps)
    status, reason, message = _conditions(obj, observed)["Synced"]
    assert (status, reason, message) == ("False", "Unsupported", UNSUPPORTED.message)


def test_an_unsupported_type_blocks_nothing_when_no_change_is_needed() -> None:
    observed = dataclasses.replace(observe(replica(), peer(replica())), unsupported=UNSUPPORTED)
    assert _conditions(desired(status=SYNCED_STATUS), observed)["Synced"][:2] == ("True", "Synced")


def test_a_link_down_is_named_in_the_replicating_condition() -> None:
    observed = dataclasses.replace(observe(replica(), peer(replica())), link_problem=LINK_DOWN)
    assert _conditions(desired(), observed)["Replicating"] == ("False", "LinkDown", LINK_DOWN.message)


def test_auto_suspended_waits_for_the_user_when_auto_resume_is_false() -> None:
    auto = replica(state="AUTO_SUSPENDED", state_reason="LINK_DOWN")
    waiting = desired({"autoResume": False})
    assert decide(waiting, observe(auto, peer(auto))).steps == ()
    status, reason, message = _conditions(waiting, observe(auto, peer(auto)))["Ready"]
    assert (status, reason) == ("False", "AutoSuspended")
    assert "autoResume" in message
    assert [type(s) for s in decide(desired({"autoResume": True}), observe(auto, peer(auto))).steps] == [
        Resume
    ]
