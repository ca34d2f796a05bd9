"""Filters and paging in the array's query syntax."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from replica_operator.array import ReplicationType, eq, in_, is_null, like, ne, not_null
from replica_operator.array.query import filter_params, page_params


def test_plain_values_are_equality_rendered_as_the_array_reads_them() -> None:
    params = filter_params(
        {
            "link_id": 1000003,
            "description": "owner: ns/db (1)",
            "is_initial": False,
            "replication_type": ReplicationType.SYNC,
            "local_cg_id": None,
            "rpo_value": timedelta(minutes=5),
            "created_at": datetime(2025, 11, 25, 12, 0, 0, 123_000, tzinfo=UTC),
        }
    )
    assert params == [
        ("link_id", "eq:1000003"),
        ("description", "eq:owner: ns/db (1)"),
        ("is_initial", "eq:false"),
        ("replication_type", "eq:SYNC"),
        ("local_cg_id", "is:null"),
        ("rpo_value", "eq:300000"),
        ("created_at", "eq:1764072000123"),
    ]


def test_operators() -> None:
    params = filter_params(
        {
            "id": in_([1, 2, 3]),
            "role": ne("TARGET"),
            "name": like("db-%"),
            "local_cg_id": not_null(),
            "remote_cg_id": is_null(),
            "state": eq("ACTIVE"),
        }
    )
    assert params == [
        ("id", "in:(1,2,3)"),
        ("role", "ne:TARGET"),
        ("name", "like:db-%"),
        ("local_cg_id", "isnot:null"),
        ("remote_cg_id", "is:null"),
        ("state", "eq:ACTIVE"),
    ]


def test_no_filters() -> None:
    assert filter_params(None) == []
    assert filter_params({}) == []


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        filter_params({"created_at": datetime(2025, 1, 1)})


def test_paging_is_the_sdks_and_bounded() -> None:
    assert page_params(2, 1000) == [("page", "2"), ("page_size", "1000")]
    for page, size in ((0, 10), (1, 0), (1, 1001)):
        with pytest.raises(ValueError, match="page"):
            page_params(page, size)
