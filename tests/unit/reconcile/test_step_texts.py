"""The words a step puts into Events and conditions ("could not <describe>", "<done>"), and reasons."""

from __future__ import annotations

from datetime import timedelta

import pytest

from replica_operator.reconcile import SideName, UpdateSchedule
from replica_operator.reconcile.conditions import camel_reason
from replica_operator.reconcile.creation import create_step
from replica_operator.reconcile.steps import Step
from tests.unit.reconcile.builders import desired


def test_a_step_without_words_of_its_own_is_named_by_its_type() -> None:
    step = Step(side=SideName.SOURCE, replica_id=7)
    assert (step.describe(), step.done(), step.event_reason) == ("Step", "Step: done", "Step")


def test_a_create_says_what_it_creates() -> None:
    step = create_step(desired())
    assert (step.describe(), step.done()) == ("create the replica", "created the replica")


@pytest.mark.parametrize(
    ("rpo", "interval", "values"),
    [
        (timedelta(minutes=5), None, "rpo 5m"),
        (None, timedelta(seconds=30), "sync interval 30s"),
        (timedelta(minutes=5), timedelta(seconds=30), "rpo 5m and sync interval 30s"),
    ],
)
def test_a_schedule_update_names_only_the_values_it_sets(
    rpo: timedelta | None, interval: timedelta | None, values: str
) -> None:
    step = UpdateSchedule(side=SideName.SOURCE, replica_id=7, rpo=rpo, sync_interval=interval)
    assert step.describe() == f"set {values} on replica 7"
    assert step.done() == f"replica 7 now has {values}"


@pytest.mark.parametrize(
    ("text", "reason"),
    [("OUT_OF_SYNC", "OutOfSync"), ("link down", "LinkDown"), ("", "Unknown"), ("--", "Unknown")],
)
def test_array_words_become_camel_case_reasons(text: str, reason: str) -> None:
    assert camel_reason(text) == reason
