"""client-go's acquire-or-renew rule as a pure function: injected clocks, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from replica_operator.leadership.decision import (
    HeldByOther,
    LeaseRecord,
    Observation,
    Take,
    decide,
    observe,
    released,
)

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ME, OTHER = "pod-a", "pod-b"


def held_by(holder: str, *, transitions: int = 3, seconds: int = 15) -> LeaseRecord:
    return LeaseRecord(holder, seconds, T0, T0 + timedelta(seconds=5), transitions)


def test_no_lease_yet_creates_one_held_by_me() -> None:
    decision = decide(None, ME, 15, T0, now=50.0)
    assert decision == Take(LeaseRecord(ME, 15, T0, T0, 0), create=True)


def test_a_lease_held_by_another_is_valid_for_its_duration_after_we_saw_it_change() -> None:
    seen = Observation(held_by(OTHER), changed_at=100.0)
    assert decide(seen, ME, 15, T0, now=114.5) == HeldByOther(OTHER, 0.5)
    taken = decide(seen, ME, 15, T0 + timedelta(minutes=1), now=115.0)
    assert taken == Take(LeaseRecord(ME, 15, T0 + timedelta(minutes=1), T0 + timedelta(minutes=1), 4), False)


def test_the_holders_duration_counts_not_mine() -> None:
    seen = Observation(held_by(OTHER, seconds=60), changed_at=100.0)
    assert isinstance(decide(seen, ME, 15, T0, now=150.0), HeldByOther)


def test_the_holders_renew_time_is_ignored_clocks_of_two_nodes_need_not_agree() -> None:
    """A renewTime far in the past (skewed clock) does not make the lease free."""
    record = LeaseRecord(OTHER, 15, T0 - timedelta(days=1), T0 - timedelta(days=1), 1)
    assert isinstance(decide(Observation(record, 100.0), ME, 15, T0, now=101.0), HeldByOther)


def test_renewing_keeps_acquire_time_and_transitions() -> None:
    mine = held_by(ME, transitions=7)
    later = T0 + timedelta(seconds=30)
    decision = decide(Observation(mine, 0.0), ME, 15, later, now=1000.0)  # even past its duration
    assert decision == Take(LeaseRecord(ME, 15, T0, later, 7), create=False)


def test_a_released_lease_is_taken_at_once_counting_a_transition() -> None:
    free = released(held_by(OTHER, transitions=2), T0)
    assert free == LeaseRecord("", 1, T0, T0, 2)
    decision = decide(Observation(free, 100.0), ME, 15, T0, now=100.0)
    assert decision == Take(LeaseRecord(ME, 15, T0, T0, 3), create=False)


def test_observing_an_unchanged_record_keeps_the_first_sighting() -> None:
    first = observe(None, held_by(OTHER), 10.0)
    assert observe(first, held_by(OTHER), 20.0) is first
    renewed = LeaseRecord(OTHER, 15, T0, T0 + timedelta(seconds=7), 3)
    assert observe(first, renewed, 20.0) == Observation(renewed, 20.0)
