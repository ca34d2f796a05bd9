"""Durations: the strings users write, the timedeltas the operator computes with."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import BaseModel, ValidationError

from replica_operator.api import Duration, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0s", timedelta(0)),
        ("30s", timedelta(seconds=30)),
        ("5m", timedelta(minutes=5)),
        ("1m30s", timedelta(seconds=90)),
        ("2h", timedelta(hours=2)),
        ("250ms", timedelta(milliseconds=250)),
        ("1h2m3s4ms", timedelta(hours=1, minutes=2, seconds=3, milliseconds=4)),
        ("90s", timedelta(seconds=90)),
        ("1m1m", timedelta(minutes=2)),
    ],
)
def test_parse(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "5", "5 m", "1d", "1.5h", "-5s", "5M", "m", "10us", "1h" * 20, "2562048h", "99999999999999999999h"],
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (timedelta(0), "0s"),
        (timedelta(seconds=90), "1m30s"),
        (timedelta(hours=1), "1h"),
        (timedelta(hours=25, seconds=1), "25h1s"),
        (timedelta(milliseconds=1500), "1s500ms"),
        (timedelta(microseconds=999_600), "1s"),  # rounded to the format's millisecond resolution
    ],
)
def test_format_is_shortest(value: timedelta, expected: str) -> None:
    assert format_duration(value) == expected


def test_format_rejects_negative() -> None:
    with pytest.raises(ValueError, match="negative"):
        format_duration(timedelta(seconds=-1))


@pytest.mark.parametrize("milliseconds", [0, 1, 999, 1000, 61_001, 3_600_000, 93_784_005])
def test_format_then_parse_is_identity(milliseconds: int) -> None:
    value = timedelta(milliseconds=milliseconds)
    assert parse_duration(format_duration(value)) == value


class _Holder(BaseModel):
    value: Duration


def test_duration_field_reads_strings_and_timedeltas_and_writes_strings() -> None:
    assert _Holder.model_validate({"value": "1m30s"}).value == timedelta(seconds=90)
    assert _Holder(value=timedelta(seconds=90)).model_dump(mode="json") == {"value": "1m30s"}
    assert _Holder(value=timedelta(seconds=90)).model_dump() == {"value": timedelta(seconds=90)}


@pytest.mark.parametrize("bad", [30, 1.5, "thirty seconds", timedelta(seconds=-1), None])
def test_duration_field_rejects(bad: object) -> None:
    with pytest.raises(ValidationError):
        _Holder.model_validate({"value": bad})
