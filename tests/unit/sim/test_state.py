"""The replication state machine, with time given explicitly (no clock, no sleeping)."""

from __future__ import annotations

import math

import pytest

from ibox_sim import state, transitions
from ibox_sim.config import SimConfig
from ibox_sim.state import ReplicationSession, evaluate

T0 = 1_000_000.0
CFG = SimConfig(initial_sync_seconds=10, job_seconds=2)


def _session(
    kind: state.ReplicationType = "ASYNC", rpo_ms: int = 30_000, interval_ms: int = 10_000
) -> ReplicationSession:
    s = ReplicationSession(id=1, replication_type=kind, rpo_ms=rpo_ms, interval_ms=interval_ms, created_at=T0)
    transitions.set_running(s, T0, CFG, True)
    return s


def test_initializing_progress_then_synchronized() -> None:
    s = _session()
    start = evaluate(s, T0, CFG)
    assert (start.sync_state, start.progress, start.initialized) == ("INITIALIZING", 0, False)
    assert start.job is not None
    assert (start.job.state, start.job.is_initial, start.job.start_time) == ("INITIALIZING", True, T0)
    assert start.last_synchronized is None
    assert start.rpo_state == "OK"
    assert evaluate(s, T0 + 2.5, CFG).progress == 25
    assert evaluate(s, T0 + 9.99, CFG).progress == 99
    done = evaluate(s, T0 + 10, CFG)
    assert (done.sync_state, done.initialized, done.initialized_at) == ("SYNCHRONIZED", True, T0 + 10)
    assert done.last_synchronized == T0 + 10
    assert done.next_job_start_time == T0 + 20


def test_evaluate_is_pure() -> None:
    s = _session()
    before = s.model_dump()
    evaluate(s, T0 + 100, CFG)
    assert s.model_dump() == before


def test_async_jobs_follow_the_interval() -> None:
    s = _session()  # init done at +10, jobs every 10 s lasting 2 s: +20..22, +30..32, ...
    idle = evaluate(s, T0 + 15, CFG)
    assert (idle.sync_state, idle.job, idle.progress) == ("SYNCHRONIZED", None, 100)
    busy = evaluate(s, T0 + 21, CFG)
    assert (busy.sync_state, busy.progress, busy.in_job) == ("SYNC_IN_PROGRESS", 50, True)
    assert busy.job is not None
    assert (busy.job.state, busy.job.start_time) == ("REPLICATING", T0 + 20)
    assert busy.last_synchronized == T0 + 10  # the running job has not finished
    after = evaluate(s, T0 + 23, CFG)
    assert (after.last_synchronized, after.restore_point) == (T0 + 22, T0 + 20)
    assert after.next_job_start_time == T0 + 30
    later = evaluate(s, T0 + 61, CFG)  # in the job that started at +60
    assert (later.restore_point, later.last_synchronized) == (T0 + 50, T0 + 52)


def test_rpo_lag_while_suspended() -> None:
    s = _session()
    transitions.set_running(s, T0 + 12, CFG, False)  # suspended after the initial sync
    stopped = evaluate(s, T0 + 20, CFG)
    assert (stopped.sync_state, stopped.rpo_state) == ("OUT_OF_SYNC", "OK")
    assert stopped.last_synchronized == T0 + 10
    assert evaluate(s, T0 + 40, CFG).rpo_state == "OK"  # exactly rpo_value behind
    assert evaluate(s, T0 + 40.5, CFG).rpo_state == "LAGGING"
    transitions.set_running(s, T0 + 50, CFG, True)
    resumed = evaluate(s, T0 + 50.5, CFG)
    assert resumed.sync_state == "SYNC_IN_PROGRESS"  # catches up at once
    assert evaluate(s, T0 + 52, CFG).rpo_state == "OK"


def test_suspended_time_does_not_count_towards_initialization() -> None:
    s = _session()
    transitions.set_running(s, T0 + 4, CFG, False)
    paused = evaluate(s, T0 + 100, CFG)
    assert (paused.sync_state, paused.progress) == ("INITIALIZING", 40)
    assert paused.job is not None
    assert paused.job.state == "STALLED"
    transitions.set_running(s, T0 + 200, CFG, True)
    assert evaluate(s, T0 + 205, CFG).progress == 90
    assert evaluate(s, T0 + 206, CFG).initialized


def test_config_change_applies_to_running_initialization() -> None:
    s = _session()
    view = transitions.materialize(s, T0 + 5, CFG)
    assert view.progress == 50
    shorter = SimConfig(initial_sync_seconds=6, job_seconds=2)
    assert evaluate(s, T0 + 5.5, shorter).progress == 91
    assert evaluate(s, T0 + 6, shorter).initialized


def test_complete_initialization_now() -> None:
    s = _session()
    transitions.complete_initialization(s, T0 + 1, CFG)
    view = evaluate(s, T0 + 1, CFG)
    assert (view.sync_state, view.initialized_at, view.last_synchronized) == ("SYNCHRONIZED", T0 + 1, T0 + 1)
    assert view.next_job_start_time == T0 + 11
    transitions.complete_initialization(s, T0 + 2, CFG)  # no effect the second time
    assert evaluate(s, T0 + 2, CFG).initialized_at == T0 + 1


def test_sync_type_is_synchronized_to_the_second() -> None:
    s = _session("SYNC")
    view = evaluate(s, T0 + 12.7, CFG)
    assert (view.sync_state, view.rpo_state, view.job) == ("SYNCHRONIZED", None, None)
    assert view.last_synchronized == math.floor(T0 + 12.7)
    transitions.set_running(s, T0 + 13, CFG, False)
    assert evaluate(s, T0 + 20, CFG).sync_state == "OUT_OF_SYNC"
    assert evaluate(s, T0 + 20, CFG).last_synchronized == T0 + 13
    transitions.set_running(s, T0 + 30, CFG, True)
    assert evaluate(s, T0 + 31, CFG).sync_state == "SYNC_IN_PROGRESS"
    assert evaluate(s, T0 + 32, CFG).sync_state == "SYNCHRONIZED"


def test_change_type_both_ways() -> None:
    s = _session()
    transitions.change_type(s, T0 + 15, CFG, "SYNC")
    assert s.replication_type == "SYNC"
    assert evaluate(s, T0 + 16, CFG).sync_state == "SYNC_IN_PROGRESS"
    assert evaluate(s, T0 + 17, CFG).sync_state == "SYNCHRONIZED"
    transitions.change_type(s, T0 + 20, CFG, "ASYNC", rpo_ms=60_000, interval_ms=5_000)
    view = evaluate(s, T0 + 21, CFG)
    assert (s.rpo_ms, s.interval_ms) == (60_000, 5_000)
    assert (view.sync_state, view.last_synchronized, view.next_job_start_time) == (
        "SYNCHRONIZED",
        T0 + 20,
        T0 + 25,
    )


def test_sync_now_starts_a_job() -> None:
    s = _session()
    transitions.sync_now(s, T0 + 13, CFG)
    view = evaluate(s, T0 + 14, CFG)
    assert (view.sync_state, view.job_start) == ("SYNC_IN_PROGRESS", T0 + 13)
    transitions.sync_now(s, T0 + 14, CFG)  # a job runs: nothing new
    assert evaluate(s, T0 + 14, CFG).job_start == T0 + 13
    assert evaluate(s, T0 + 15, CFG).last_synchronized == T0 + 15


def test_paused_jobs() -> None:
    s = _session()
    transitions.set_jobs_paused(s, T0 + 11, CFG, True)
    stale = evaluate(s, T0 + 100, CFG)
    assert (stale.sync_state, stale.job, stale.rpo_state) == ("SYNCHRONIZED", None, "LAGGING")
    transitions.set_jobs_paused(s, T0 + 100, CFG, False)
    assert evaluate(s, T0 + 101, CFG).in_job
    assert evaluate(s, T0 + 102, CFG).rpo_state == "OK"


def test_schedule_change_applies_to_the_next_job() -> None:
    s = _session()
    transitions.set_schedule(s, T0 + 21, CFG, rpo_ms=None, interval_ms=30_000)  # during the job at +20
    assert evaluate(s, T0 + 21.5, CFG).in_job
    view = evaluate(s, T0 + 23, CFG)
    assert view.last_synchronized == T0 + 22
    assert view.next_job_start_time == T0 + 50


@pytest.mark.parametrize("moment", [0.0, 3.3, 9.99, 10.0, 15.0, 20.5, 22.0, 41.0, 1000.0])
def test_view_holds_until_stable_until(moment: float) -> None:
    s = _session(rpo_ms=15_000)
    view = evaluate(s, T0 + moment, CFG)
    assert view.stable_until > T0 + moment
    if math.isfinite(view.stable_until):
        just_before = view.stable_until - 1e-6
        assert evaluate(s, just_before, CFG) == view
        assert evaluate(s, view.stable_until + 1e-6, CFG) != view


def test_zero_interval_does_not_spin() -> None:
    s = _session(interval_ms=0)
    view = evaluate(s, T0 + 10_000.5, CFG)
    assert view.sync_state == "SYNC_IN_PROGRESS"
    assert view.next_job_start_time is not None
