"""Reading objects and collections: tolerant parsing per item, paging as infinisdk pages.

Paging: ``page=<n>&page_size=1000`` (infinisdk ``core/object_query.py`` asks for 1000 per page
beyond its first 50, the CSI driver for 1000 from the start). No ``sort``: infinisdk sends none
for replicas or consistency groups. Without a sort, an object created or deleted while pages
are read can shift others across a page boundary, so a listing drops repeated ids and says
whether the collection changed meanwhile (:class:`Listing`); a caller missing an object it
expects confirms with a direct GET.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel

from replica_operator.array.errors import ArrayError
from replica_operator.array.models import EntityType, Filesystem, Page, Volume
from replica_operator.array.parsing import ParseIssue, parse_tolerant, usable_id
from replica_operator.array.query import MAX_PAGE_SIZE, Filters, eq, filter_params, page_params
from replica_operator.array.session import API_PREFIX, ArraySession

__all__ = ["IssueObserver", "Listing", "ReadingCore"]

log = logging.getLogger("replica_operator.array")


class _Identified(Protocol):
    @property
    def id(self) -> int: ...


T = TypeVar("T", bound=_Identified)
M = TypeVar("M", bound=BaseModel)

P = TypeVar("P")

IssueObserver = Callable[[ParseIssue], None]
#: Reads one item of a collection (given the endpoint, for reports); None skips it.
Parser = Callable[[Any, str], P | None]


@dataclass(frozen=True, slots=True)
class Listing(Generic[T]):
    """Every object of a collection, read page by page, with what happened meanwhile.

    ``counts`` holds ``number_of_objects`` as each page reported it; ``duplicates`` the
    objects met twice (dropped) and ``skipped`` the items without a usable id.
    """

    items: list[T] = field(default_factory=list)
    counts: tuple[int, ...] = ()
    duplicates: int = 0
    skipped: int = 0

    @property
    def changed_during_listing(self) -> bool:
        """Whether objects came or went while the pages were read (an object may then be missing)."""
        moved = len(set(self.counts)) > 1 or self.duplicates > 0
        expected = self.counts[-1] if self.counts else 0
        return moved or len(self.items) + self.skipped != expected


class ReadingCore:
    """What every part of :class:`~.client.InfiniBoxClient` reads with (its session and parsers)."""

    name: str
    _session: ArraySession
    _on_parse_issue: IssueObserver | None

    # -- single objects

    def _parse(self, model: type[M], data: Any, endpoint: str = "") -> M:
        """One object the array answered with; only an object without an id is refused."""
        parsed = self._parse_item(model, data, endpoint)
        if parsed is None:
            raise self._invalid(f"unexpected {model.__name__} from the array (no usable id)")
        return parsed

    def _parse_item(self, model: type[M], data: Any, endpoint: str) -> M | None:
        """``model`` from ``data`` field by field; None (reported) when it has no usable id."""
        ident = usable_id(data)
        if ident is None:
            self._issue(endpoint, None, ("id: missing or not an integer",))
            return None
        try:
            value, problems = parse_tolerant(model, data)
        except ValueError as error:
            self._issue(endpoint, ident, (str(error),))
            return None
        if problems:
            self._issue(endpoint, ident, problems)
            if "parse_problems" in type(value).model_fields:
                value = value.model_copy(update={"parse_problems": problems})
        return value

    def _parser(self, model: type[M]) -> Parser[M]:
        return lambda data, endpoint: self._parse_item(model, data, endpoint)

    def _dataset(self, data: Any, endpoint: str) -> Volume | Filesystem | None:
        kind = data.get("dataset_type") if isinstance(data, Mapping) else None
        if kind == EntityType.FILESYSTEM:
            return self._parse_item(Filesystem, data, endpoint)
        return self._parse_item(Volume, data, endpoint)

    def _issue(self, endpoint: str, ident: int | None, problems: tuple[str, ...]) -> None:
        what = f"object {ident}" if ident is not None else "an object without an id (skipped)"
        log.warning(
            "%s: %s from %s read incompletely: %s",
            self.name,
            what,
            endpoint,
            "; ".join(problems),
            extra={"array": self.name},
        )
        if self._on_parse_issue is None:
            return
        try:
            self._on_parse_issue(ParseIssue(self.name, endpoint, ident, problems))
        except Exception:
            log.warning("%s: the parse observer failed", self.name, exc_info=True, extra={"array": self.name})

    def _invalid(self, message: str) -> ArrayError:
        return ArrayError(self.name, message, code="INVALID_RESPONSE")

    # -- collections

    async def _find(self, endpoint: str, parse: Parser[T], name: str) -> T | None:
        found = await self._page(endpoint, parse, filters={"name": eq(name)}, page=1, page_size=1)
        return found.items[0] if found.items else None

    async def _page(
        self,
        endpoint: str,
        parse: Parser[T],
        *,
        ident: int | None = None,
        filters: Filters | None = None,
        page: int = 1,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Page[T]:
        params = (*filter_params(filters), *page_params(page, page_size))
        reply = await self._session.call("GET", endpoint, ident=ident, params=params)
        if not isinstance(reply.result, list):
            raise self._invalid(f"expected a list from {endpoint}")
        parsed = [parse(item, API_PREFIX + endpoint) for item in reply.result]
        items = [item for item in parsed if item is not None]
        meta = reply.metadata
        size = _int(meta.get("page_size"), page_size) or page_size
        total = _int(meta.get("number_of_objects"), len(parsed))
        return Page(
            items=items,
            page=_int(meta.get("page"), page),
            page_size=size,
            pages_total=_int(meta.get("pages_total"), math.ceil(total / size)),
            number_of_objects=total,
            skipped=len(parsed) - len(items),
        )

    async def _pages(
        self,
        endpoint: str,
        parse: Parser[T],
        *,
        ident: int | None = None,
        filters: Filters | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> AsyncIterator[Page[T]]:
        """Every page in turn, bounded by the page count the first page announced (plus one for growth)."""
        page = 1
        limit: int | None = None
        while limit is None or page <= limit:
            current = await self._page(
                endpoint, parse, ident=ident, filters=filters, page=page, page_size=page_size
            )
            yield current
            if limit is None:
                limit = current.pages_total + 1
            if (not current.items and not current.skipped) or not current.has_next:
                return
            page += 1

    async def _listing(self, endpoint: str, parse: Parser[T], **query: Any) -> Listing[T]:
        """All objects, each once (by id), with the facts a caller needs to confirm a missing one."""
        items: list[T] = []
        seen: set[int] = set()
        counts: list[int] = []
        duplicates = skipped = 0
        async for page in self._pages(endpoint, parse, **query):
            counts.append(page.number_of_objects)
            skipped += page.skipped
            for item in page.items:
                ident = item.id
                if ident in seen:
                    duplicates += 1
                    continue
                seen.add(ident)
                items.append(item)
        return Listing(items=items, counts=tuple(counts), duplicates=duplicates, skipped=skipped)


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default
