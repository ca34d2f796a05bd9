"""Filters, sort, fields and paging, on plain dicts."""

from __future__ import annotations

from typing import Any

import pytest

from ibox_sim.errors import ApiError
from ibox_sim.query import list_metadata, parse_fields, parse_list_query, project, select

KNOWN = frozenset({"id", "name", "size", "enabled", "parent_id", "types"})
ITEMS: list[dict[str, Any]] = [
    {
        "id": n,
        "name": f"item-{n}",
        "size": n * 10,
        "enabled": n % 2 == 0,
        "parent_id": None if n < 3 else 1,
        "types": ["ASYNC"] if n % 2 else ["SYNC", "ASYNC"],
    }
    for n in range(1, 8)
]


def _ids(*params: tuple[str, str]) -> list[int]:
    query = parse_list_query(list(params), KNOWN)
    page, _ = select(ITEMS, lambda item: item, lambda item: item, query)
    return [item["id"] for item in page]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ([("name", "item-3")], [3]),
        ([("name", "eq:item-3")], [3]),
        ([("id", "ne:1")], [2, 3, 4, 5, 6, 7]),
        ([("size", "gt:50")], [6, 7]),
        ([("size", "ge:50")], [5, 6, 7]),
        ([("size", "lt:20")], [1]),
        ([("size", "le:20")], [1, 2]),
        ([("id", "in:(2,4)")], [2, 4]),
        ([("id", "notin:(2,4,6)")], [1, 3, 5, 7]),
        ([("size", "between:(20,40)")], [2, 3, 4]),
        ([("name", "like:EM-7")], [7]),
        ([("name", "like:item-%")], [1, 2, 3, 4, 5, 6, 7]),
        ([("name", "like:%-1")], [1]),
        ([("parent_id", "is:null")], [1, 2]),
        ([("parent_id", "isnot:null")], [3, 4, 5, 6, 7]),
        ([("enabled", "eq:True")], [2, 4, 6]),
        ([("enabled", "false")], [1, 3, 5, 7]),
        ([("types", "allof:SYNC,ASYNC")], [2, 4, 6]),
        ([("types", "anyof:(SYNC)")], [2, 4, 6]),
        ([("types", "noneof:SYNC")], [1, 3, 5, 7]),
        ([("size", "gt:10"), ("enabled", "eq:false")], [3, 5, 7]),
        ([("name", "weird:value")], []),  # not an operator: plain equality with the whole text
    ],
)
def test_filters(params: list[tuple[str, str]], expected: list[int]) -> None:
    assert _ids(*params, ("page_size", "1000")) == expected


def test_sort_and_paging() -> None:
    assert _ids(("sort", "-size"), ("page_size", "3")) == [7, 6, 5]
    assert _ids(("sort", "enabled,-id"), ("page", "2"), ("page_size", "3")) == [1, 6, 4]
    assert _ids(("page", "3"), ("page_size", "3")) == [7]
    assert _ids(("page", "4"), ("page_size", "3")) == []
    assert _ids(("sort", "parent_id,id"), ("page_size", "2")) == [1, 2]  # nulls first


def test_total_and_metadata() -> None:
    query = parse_list_query([("enabled", "true"), ("page_size", "2")], KNOWN)
    page, total = select(ITEMS, lambda item: item, lambda item: item, query)
    assert (len(page), total) == (2, 3)
    assert list_metadata(query, total) == {
        "ready": True,
        "page": 1,
        "page_size": 2,
        "pages_total": 2,
        "number_of_objects": 3,
    }
    assert list_metadata(parse_list_query([], KNOWN), 0)["page_size"] == 50


def test_only_the_page_is_rendered_without_filters() -> None:
    rendered: list[int] = []

    def render(item: dict[str, Any]) -> dict[str, Any]:
        rendered.append(item["id"])
        return item

    select(ITEMS, render, lambda item: item, parse_list_query([("page", "2"), ("page_size", "2")], KNOWN))
    assert rendered == [3, 4]


def test_fields() -> None:
    assert parse_fields("id,name", KNOWN) == ["id", "name"]
    assert parse_fields(None, KNOWN) is None
    assert project(ITEMS[0], ["name", "id"]) == {"name": "item-1", "id": 1}
    assert parse_list_query([("fields", "size")], KNOWN).fields == ["size"]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ([("colour", "red")], "UNKNOWN_PARAMETER"),
        ([("sort", "colour")], "UNKNOWN_PARAMETER"),
        ([("fields", "id,colour")], "UNKNOWN_PARAMETER"),
        ([("page", "0")], "INVALID_VALUE"),
        ([("page", "x")], "INVALID_VALUE"),
        ([("page_size", "1001")], "INVALID_VALUE"),
    ],
)
def test_refused_queries(params: list[tuple[str, str]], code: str) -> None:
    with pytest.raises(ApiError) as refused:
        parse_list_query(params, KNOWN)
    assert (refused.value.status, refused.value.code) == (400, code)


@pytest.mark.parametrize(
    "params", [[("size", "gt:large")], [("enabled", "eq:yes")], [("size", "between:(1)")]]
)
def test_values_of_the_wrong_type(params: list[tuple[str, str]]) -> None:
    with pytest.raises(ApiError) as refused:
        _ids(*params)
    assert (refused.value.status, refused.value.code) == (400, "INVALID_VALUE")
