"""The elector's steps against an in-memory Lease and an injected clock (no threads, no sleeps)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client import REGISTRY

from replica_operator.leadership import ElectionConfig
from replica_operator.leadership.decision import LeaseRecord
from replica_operator.leadership.elector import LeaderElector
from tests.unit.leadership.fakes import FakeClock, FakeLeases


def config(identity: str) -> ElectionConfig:
    return ElectionConfig(
        namespace="ops",
        name="lease",
        identity=identity,
        lease_duration=timedelta(seconds=15),
        renew_deadline=timedelta(seconds=10),
        retry_period=timedelta(seconds=2),
    )


class Lost(Exception):
    pass


def raise_lost(reason: str) -> None:
    raise Lost(reason)


def elector(identity: str, leases: FakeLeases, clock: FakeClock) -> LeaderElector:
    return LeaderElector(config(identity), leases, clock=clock, on_lost=raise_lost, jitter=lambda: 0.0)


def gauge(identity: str) -> float | None:
    return REGISTRY.get_sample_value("replica_operator_leader", {"identity": identity})


def test_first_candidate_creates_the_lease_and_the_second_stands_by_until_it_expires() -> None:
    leases, clock = FakeLeases(), FakeClock()
    a, b = elector("a", leases, clock), elector("b", leases, clock)
    assert a.try_acquire_or_renew(5)
    assert a.leading
    assert gauge("a") == 1
    assert not b.try_acquire_or_renew(5)
    assert b.holder == "a"
    assert gauge("b") == 0
    clock.advance(14.9)
    assert not b.try_acquire_or_renew(5)  # a has not renewed, but 15 s have not passed since b saw it
    clock.advance(0.2)
    assert b.try_acquire_or_renew(5)
    assert b.leading
    assert leases.stored is not None
    assert leases.stored.record.transitions == 1


def test_a_renewal_restarts_the_standbys_wait() -> None:
    leases, clock = FakeLeases(), FakeClock()
    a, b = elector("a", leases, clock), elector("b", leases, clock)
    a.try_acquire_or_renew(5)
    b.try_acquire_or_renew(5)
    clock.advance(8)
    a.renew_once()
    b.try_acquire_or_renew(5)  # sees the renewal at t+8
    clock.advance(14)  # 22 s after b first saw the lease, 14 s after the renewal
    assert not b.try_acquire_or_renew(5)
    assert leases.stored is not None
    assert leases.stored.record.holder == "a"


def test_two_candidates_racing_on_one_version_only_one_wins() -> None:
    leases, clock = FakeLeases(), FakeClock()
    leases.put(LeaseRecord("", 1, None, None, 4))  # released
    a, b = elector("a", leases, clock), elector("b", leases, clock)
    leases.before_update = lambda: a.try_acquire_or_renew(5)  # a writes between b's read and write
    assert not b.try_acquire_or_renew(5)  # b's update carries the old resourceVersion: 409
    assert a.leading
    assert not b.leading
    assert leases.stored is not None
    assert leases.stored.record.holder == "a"
    assert not b.try_acquire_or_renew(5)
    assert b.holder == "a"


def test_a_leader_that_sees_another_holder_has_lost_at_once() -> None:
    leases, clock = FakeLeases(), FakeClock()
    a = elector("a", leases, clock)
    a.try_acquire_or_renew(5)
    leases.put(LeaseRecord("intruder", 15, None, None, 9))
    with pytest.raises(Lost, match="held by intruder"):
        a.renew_once()
    assert gauge("a") == 0


def test_a_leader_that_cannot_renew_loses_at_the_renew_deadline_before_the_lease_expires() -> None:
    leases, clock = FakeLeases(), FakeClock()
    a = elector("a", leases, clock)
    a.try_acquire_or_renew(5)
    leases.failing = True
    for _ in range(4):
        clock.advance(2)
        a.renew_once()  # each failure is logged, the leader carries on within the deadline
        assert a.check_deadline() > 0
    clock.advance(2)
    with pytest.raises(Lost, match="renew deadline of 10 s"):
        a.check_deadline()
    assert a.deadline() < 100.0 + 15  # stopped before anyone may take over (lease 15 s)


def test_the_deadline_counts_from_the_start_of_the_last_good_renewal() -> None:
    leases, clock = FakeLeases(), FakeClock()
    a = elector("a", leases, clock)
    a.try_acquire_or_renew(5)
    clock.advance(3)
    a.renew_once()
    assert a.deadline() == pytest.approx(103.0 + 10)


def test_release_empties_the_holder_so_a_standby_takes_over_at_once() -> None:
    leases, clock = FakeLeases(), FakeClock()
    a, b = elector("a", leases, clock), elector("b", leases, clock)
    a.try_acquire_or_renew(5)
    b.try_acquire_or_renew(5)
    a.release()
    assert leases.stored is not None
    assert leases.stored.record.holder == ""
    assert leases.stored.record.lease_duration_seconds == 1
    assert not a.leading
    assert gauge("a") == 0
    assert b.try_acquire_or_renew(5)  # no wait at all
    assert leases.stored.record.transitions == 1


def test_release_after_losing_writes_nothing() -> None:
    leases, clock = FakeLeases(), FakeClock()
    a = elector("a", leases, clock)
    a.try_acquire_or_renew(5)
    leases.put(LeaseRecord("b", 15, None, None, 1))
    with pytest.raises(Lost):
        a.renew_once()
    writes = len(leases.writes)
    a.release()
    assert len(leases.writes) == writes


@pytest.mark.parametrize(
    ("lease", "deadline", "retry", "problem"),
    [
        (10, 10, 2, "longer than the renew deadline"),
        (15, 2, 2, "longer than 1.2 x the retry period"),
        (2.5, 2, 0.5, "whole number of seconds"),
    ],
)
def test_terms_that_cannot_work_are_refused(
    lease: float, deadline: float, retry: float, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        ElectionConfig(
            namespace="ops",
            name="lease",
            identity="a",
            lease_duration=timedelta(seconds=lease),
            renew_deadline=timedelta(seconds=deadline),
            retry_period=timedelta(seconds=retry),
        )
