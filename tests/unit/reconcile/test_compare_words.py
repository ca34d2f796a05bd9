"""A replica against the spec: the steps whole and each difference in the words Drifted shows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from replica_operator.reconcile import Resume, SideName, Suspend, UpdateSchedule
from replica_operator.reconcile.compare import compare
from tests.unit.reconcile.builders import desired, replica

MIN = timedelta(minutes=1)


def _compare(spec: dict[str, Any], side: SideName = SideName.SOURCE, **fields: Any) -> Any:
    steps, differences, _pending = compare(desired(spec), side, replica(**fields))
    return steps, differences


def test_a_new_rpo_is_sent_alone_when_the_spec_names_the_interval_the_array_has() -> None:
    steps, differences = _compare({"rpo": "10m", "syncInterval": "1m"})
    assert steps == (UpdateSchedule(side=SideName.SOURCE, replica_id=101, rpo=10 * MIN),)
    assert differences == ("rpo is 5m, the spec says 10m",)


def test_a_new_interval_is_sent_alone_and_named() -> None:
    steps, differences = _compare({"syncInterval": "30s"})
    assert steps == (
        UpdateSchedule(side=SideName.SOURCE, replica_id=101, sync_interval=timedelta(seconds=30)),
    )
    assert differences == ("syncInterval is 1m, the spec says 30s",)


def test_values_the_array_did_not_report_are_unset_in_the_words() -> None:
    steps, differences = _compare({"rpo": "10m", "syncInterval": "2m"}, rpo=None, sync_interval=None)
    assert steps == (
        UpdateSchedule(side=SideName.SOURCE, replica_id=101, rpo=10 * MIN, sync_interval=2 * MIN),
    )
    assert differences == ("rpo is unset, the spec says 10m", "syncInterval is unset, the spec says 2m")


@pytest.mark.parametrize(
    ("array_interval", "sent"),
    [
        (2 * MIN, None),  # equal to the new rpo: allowed, kept
        (MIN, None),  # shorter: kept
        (3 * MIN, 2 * MIN),  # longer than the new rpo: the array would refuse it, so the rpo is sent
        (None, 2 * MIN),  # unreadable: the rpo is always accepted
    ],
)
def test_a_new_rpo_without_an_interval_in_the_spec_keeps_the_arrays_when_it_fits(
    array_interval: timedelta | None, sent: timedelta | None
) -> None:
    steps, _ = _compare({"rpo": "2m"}, sync_interval=array_interval)
    assert steps == (UpdateSchedule(side=SideName.SOURCE, replica_id=101, rpo=2 * MIN, sync_interval=sent),)


def test_a_suspension_comes_first_on_the_side_that_holds_the_source() -> None:
    steps, differences = _compare({"suspended": True, "rpo": "10m"}, SideName.TARGET, id=202)
    assert steps == (
        Suspend(side=SideName.TARGET, replica_id=202),
        UpdateSchedule(side=SideName.TARGET, replica_id=202, rpo=10 * MIN),
    )
    assert differences == ("rpo is 5m, the spec says 10m", "replication is running, the spec says suspended")


def test_a_suspended_replica_the_spec_runs_is_resumed_and_named() -> None:
    steps, differences = _compare({}, SideName.TARGET, id=202, state="SUSPENDED")
    assert steps == (Resume(side=SideName.TARGET, replica_id=202),)
    assert differences == ("replication is suspended, the spec says running",)
