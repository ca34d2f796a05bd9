"""Index entries of objects deleted while the watch was away, found by a LIST and dropped.

kopf (1.45) indexes what its watch delivers. When the watch comes back after an outage with a
fresh LIST (410 Gone, e.g. after an API server restart), objects deleted meanwhile never get
their DELETED event, and kopf does not drop what the LIST no longer holds: they would stay
"users" of their arrays (InUse never clears) and be reconciled by every poll forever. The
runtime lists each kind now and then and drops them here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from replica_operator.kube import Listing

IndexKey = tuple[str | None, str | None, str | None]
"""kopf's key of one object in an index: (namespace, name, uid) (``OperatorIndexers.make_key``)."""


class PrunableIndex(Protocol):
    """A kopf index, with the internal call kopf itself uses on a DELETED event."""

    def get(self, key: str, default: Any = None) -> Iterable[Any] | None: ...

    def __iter__(self) -> Any: ...

    def _discard(self, acckey: IndexKey) -> None: ...


def gone(entries: Iterable[Mapping[str, Any]], listing: Listing) -> list[Mapping[str, Any]]:
    """The entries that ``listing`` proves deleted: absent from it, in a namespace it covered,
    and last seen at or before its resourceVersion (a newer entry may postdate the LIST).

    resourceVersions are compared as integers, as etcd-backed API servers hand them out; an
    entry or listing whose version is not one is never taken as gone.
    """
    if not listing.resource_version.isdigit():
        return []
    listed_at = int(listing.resource_version)
    found: dict[str, Mapping[str, Any]] = {}
    for body in entries:
        meta = body["metadata"]
        version = str(meta.get("resourceVersion") or "")
        covered = listing.namespaces is None or meta.get("namespace") in listing.namespaces
        if meta["uid"] not in listing.uids and covered and version.isdigit() and int(version) <= listed_at:
            found[str(meta["uid"])] = body
    return list(found.values())


def entries(index: PrunableIndex) -> list[Mapping[str, Any]]:
    """Every body the index holds (an object indexed under two arrays appears twice)."""
    return [body for key in list(index) for body in index.get(key) or ()]


def discard(index: PrunableIndex, body: Mapping[str, Any]) -> None:
    """Drop the object from every key of the index, as kopf does on a DELETED event."""
    meta = body["metadata"]
    index._discard((meta.get("namespace"), meta.get("name"), meta.get("uid")))
