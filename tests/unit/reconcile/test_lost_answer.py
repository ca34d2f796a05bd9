"""A one-shot call whose answer was lost: the arrays' state decides, at the edges of each rule."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from replica_operator.reconcile import Desired, Role
from replica_operator.reconcile.actions import LOST_ANSWER_GRACE, after_lost_answer, role_action_done
from tests.unit.reconcile.builders import NOW, SYNCED_STATUS, desired, observe, peer, replica

SENT = NOW - timedelta(seconds=30)


def sync_now() -> Desired:
    return desired({"action": {"id": "a-1", "type": "SyncNow"}}, SYNCED_STATUS)


def switch(current_source: str | None = "ibox-1") -> Desired:
    status = {**SYNCED_STATUS, "currentSource": {"array": current_source, "entity": "vol-1"}}
    if current_source is None:
        status.pop("currentSource")
    return desired({"replicationType": "SYNC", "action": {"id": "a-1", "type": "SwitchRole"}}, status)


def test_a_sync_newer_than_the_call_means_it_took_effect() -> None:
    source = replica(last_synchronized=SENT + timedelta(microseconds=1))
    seen = after_lost_answer(sync_now(), observe(source, peer(source)), SENT)
    assert seen is not None
    assert seen.done
    assert seen.wait is None


def test_a_sync_as_old_as_the_call_is_not_its_effect() -> None:
    source = replica(last_synchronized=SENT)
    seen = after_lost_answer(sync_now(), observe(source, peer(source)), SENT)
    assert seen is not None
    assert not seen.done
    assert seen.wait is not None
    assert seen.wait == (
        "the answer to SyncNow (sent at 11:59:30 UTC) was lost; waiting to see whether "
        "it took effect on the arrays before sending it again"
    )


def test_a_running_sync_job_is_waited_for_even_after_the_grace() -> None:
    source = replica(last_synchronized=None, sync_state="SYNC_IN_PROGRESS")
    long_ago = NOW - 10 * LOST_ANSWER_GRACE
    seen = after_lost_answer(sync_now(), observe(source, peer(source)), long_ago)
    assert seen is not None
    assert not seen.done
    assert seen.wait == "a sync job is running; waiting for it to finish"


@pytest.mark.parametrize(
    ("age", "waits"), [(LOST_ANSWER_GRACE - timedelta(seconds=1), True), (LOST_ANSWER_GRACE, False)]
)
def test_no_effect_is_waited_for_during_the_grace_only(age: timedelta, waits: bool) -> None:
    source = replica(last_synchronized=None)
    seen = after_lost_answer(sync_now(), observe(source, peer(source)), NOW - age)
    assert (seen is not None) is waits
    if seen is not None:
        assert not seen.done


def test_with_no_replica_readable_only_the_grace_decides() -> None:
    assert after_lost_answer(sync_now(), observe(), NOW - LOST_ANSWER_GRACE) is None
    seen = after_lost_answer(sync_now(), observe(), SENT)
    assert seen is not None
    assert seen.wait is not None


def test_a_switch_happened_when_another_side_than_the_recorded_one_is_source() -> None:
    target = dataclasses.replace(peer(replica()), role=Role.SOURCE)
    demoted = replica(role=Role.TARGET)
    assert role_action_done(switch(), observe(demoted, target))
    assert not role_action_done(switch(), observe(replica(), peer(replica())))
    assert not role_action_done(switch("ibox-2"), observe(demoted, target))


def test_a_promotion_of_the_source_side_counts_too() -> None:
    source_now = replica(role=Role.SOURCE)
    assert role_action_done(switch("ibox-2"), observe(source_now, None))


def test_no_role_action_is_done_without_a_recorded_source_or_for_sync_now() -> None:
    moved = observe(replica(role=Role.TARGET), dataclasses.replace(peer(replica()), role=Role.SOURCE))
    assert not role_action_done(switch(None), moved)
    assert not role_action_done(sync_now(), moved)
    assert not role_action_done(desired(status=SYNCED_STATUS), moved)
