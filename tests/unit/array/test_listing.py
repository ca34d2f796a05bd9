"""Listings without a sort: each object once, and the facts a caller needs to confirm a missing one."""

from __future__ import annotations

import httpx

from replica_operator.array import DeleteOptions
from tests.unit.array.fake import FakeArray, client_for, ok, replica


def pages(*contents: tuple[list[int], int]) -> dict[str, httpx.Response]:
    """Page number -> answer: each page's ids and the ``number_of_objects`` it reports."""
    return {
        str(number): ok(
            [replica(ident) for ident in ids],
            page=number,
            page_size=2,
            pages_total=len(contents),
            number_of_objects=total,
        )
        for number, (ids, total) in enumerate(contents, start=1)
    }


async def listing_of(answers: dict[str, httpx.Response]) -> tuple[list[int], bool, FakeArray]:
    fake = FakeArray()
    fake.always("GET", "/api/rest/replicas", lambda request: answers[request.url.params["page"]])
    async with client_for(fake) as client:
        listing = await client.scan_replicas(page_size=2)
    return [item.id for item in listing.items], listing.changed_during_listing, fake


async def test_a_steady_collection_is_read_once_and_complete() -> None:
    ids, changed, fake = await listing_of(pages(([1, 2], 4), ([3, 4], 4)))
    assert (ids, changed) == ([1, 2, 3, 4], False)
    assert all("sort" not in request.url.params for request in fake.requests[1:])


async def test_a_deletion_while_paging_is_flagged() -> None:
    # Replica 2 went after page 1: 3 moved to page 1 and is never seen; the count dropped.
    ids, changed, _ = await listing_of(pages(([1, 2], 4), ([4], 3)))
    assert ids == [1, 2, 4]
    assert changed


async def test_a_creation_while_paging_drops_the_repeat_and_is_flagged() -> None:
    ids, changed, _ = await listing_of(pages(([1, 2], 4), ([2, 3], 5), ([4, 5], 5)))
    assert ids == [1, 2, 3, 4, 5]
    assert changed


async def test_a_delete_and_a_create_between_pages_are_flagged_by_the_repeat() -> None:
    # Same count on every page, yet an object was met twice: something moved.
    ids, changed, _ = await listing_of(pages(([1, 2], 4), ([2, 3], 4)))
    assert ids == [1, 2, 3]
    assert changed


async def test_paging_is_bounded_by_the_first_pages_count() -> None:
    endless = {
        str(n): ok([replica(n)], page=n, page_size=1, pages_total=n + 1, number_of_objects=n + 1)
        for n in range(1, 50)
    }
    fake = FakeArray()
    fake.always("GET", "/api/rest/replicas", lambda request: endless[request.url.params["page"]])
    async with client_for(fake) as client:
        listing = await client.scan_replicas(page_size=1)
    assert len(fake.sent("GET", "/api/rest/replicas")) == 3  # announced 2 pages, read one more for growth
    assert [item.id for item in listing.items] == [1, 2, 3]


def test_delete_options_for_the_delete_policy_say_every_flag() -> None:
    assert DeleteOptions.for_delete_policy().to_params() == (
        ("force_if_remote_error", "false"),
        ("force_on_target", "false"),
        ("force_if_no_remote_credentials", "false"),
        ("retain_staging_area", "false"),
    )
    assert ("force_on_target", "true") in DeleteOptions.for_delete_policy(on_target=True).to_params()
