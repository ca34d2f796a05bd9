"""What the controller remembers of one object between passes: its lock, backoff and last writes.

Nothing here does I/O; the clock is passed in, so the backoff is tested without waiting.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from replica_operator.reconcile import StepResult


@dataclass(frozen=True)
class Backoff:
    """Exponential: ``base`` after the first failure, doubling, never more than ``cap``."""

    base: timedelta
    cap: timedelta

    def delay(self, failures: int) -> float:
        """Seconds to wait after ``failures`` failed passes in a row (at least one)."""
        return min(self.base.total_seconds() * 2.0 ** (failures - 1), self.cap.total_seconds())


@dataclass
class ObjectMemory:
    """One object's memory. ``lock`` makes kopf handlers and pollers take turns on it."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    failures: int = 0
    retry_at: float = 0.0
    last_results: tuple[StepResult, ...] = ()
    """The failed results of the last pass that ran steps, shown again while backing off."""
    stale_version: str | None = None
    written_status: dict[str, Any] | None = None
    fingerprint: Hashable = None
    """What the last quiet pass saw; a poll that sees the same skips the object entirely."""
    status_written_at: float | None = None
    """When (monotonic) the last pass wrote the status; a change of progress alone waits for it."""
    body: Mapping[str, Any] | None = None
    """The newest body of the object seen by any pass (a poll's fan-out may hand an older one)."""
    target_claim_problem: str | None = None
    """The last failure to make the target claim: its Event is posted once, not on every poll."""

    def see(self, body: Mapping[str, Any] | None) -> Mapping[str, Any]:
        """Keep ``body`` unless the newest seen is strictly newer; return the newest."""
        if body is not None and (self.body is None or not is_newer(self.body, body)):
            self.body = body
        assert self.body is not None
        return self.body

    def backing_off(self, now: float) -> bool:
        return now < self.retry_at

    def note_results(self, results: Sequence[StepResult], backoff: Backoff, now: float) -> None:
        """A failed step delays the next attempt (exponentially); a pass whose steps all worked resets it."""
        if any(r.problem is not None for r in results):
            self.failures += 1
            self.retry_at = now + backoff.delay(self.failures)
            self.last_results = tuple(results)
        elif results:
            self.failures, self.retry_at, self.last_results = 0, 0.0, ()

    def wrote(self, read_version: str | None, status: dict[str, Any]) -> None:
        """The status was written over the object read at ``read_version``."""
        self.stale_version, self.written_status = read_version, status

    def wrote_part(self, body: Mapping[str, Any], patch: Mapping[str, Any]) -> None:
        """Part of the status (``patch``, a merge patch) was written over ``body`` during a pass."""
        version = body["metadata"].get("resourceVersion")
        base = self.written_status if self.stale_version == version and self.written_status else None
        merged = {**(base if base is not None else dict(body.get("status") or {})), **patch}
        self.wrote(version, {key: value for key, value in merged.items() if value is not None})

    def latest(self, body: Mapping[str, Any]) -> Mapping[str, Any]:
        """The body with the status last written, if the given body predates that write.

        The watch may deliver the object as it was before our own patch; passing over that
        stale status would repeat steps (and Events) the last pass already did.
        """
        version = body["metadata"].get("resourceVersion")
        if self.written_status is not None and version == self.stale_version:
            return {**body, "status": self.written_status}
        self.written_status = self.stale_version = None
        return body


def is_newer(body: Mapping[str, Any], than: Mapping[str, Any]) -> bool:
    """Whether ``body`` is a later version of the object than ``than``.

    A higher generation wins (a newer spec); at the same generation, the higher resourceVersion.
    resourceVersions are opaque by contract, but etcd-backed servers hand out increasing
    integers; one that is not an integer is not taken as newer.
    """
    generation = int(body["metadata"].get("generation") or 0)
    other = int(than["metadata"].get("generation") or 0)
    if generation != other:
        return generation > other
    version, other_version = body["metadata"].get("resourceVersion"), than["metadata"].get("resourceVersion")
    if not (str(version).isdigit() and str(other_version).isdigit()):
        return False
    return int(str(version)) > int(str(other_version))


class Memories:
    """Every object's memory, by uid.

    A poll's fan-out captures its bodies before it waits for its turn: a pass of an object deleted
    meanwhile would bring the memory back, and nothing would forget it again. The uids forgotten
    lately (uids are never reused) get a memory for that pass only.
    """

    #: How many forgotten uids are kept (a bounded queue, not a set that grows with deletions).
    RECENTLY_FORGOTTEN = 4096

    def __init__(self) -> None:
        self._by_uid: dict[str, ObjectMemory] = {}
        self._forgotten: OrderedDict[str, None] = OrderedDict()

    def of(self, body: Mapping[str, Any]) -> ObjectMemory:
        uid = str(body["metadata"]["uid"])
        memory = self._by_uid.get(uid)
        if memory is None:
            memory = ObjectMemory()
            if uid not in self._forgotten:
                self._by_uid[uid] = memory
        return memory

    def forget(self, uid: str) -> None:
        self._by_uid.pop(uid, None)
        self._forgotten[uid] = None
        self._forgotten.move_to_end(uid)
        while len(self._forgotten) > self.RECENTLY_FORGOTTEN:
            self._forgotten.popitem(last=False)

    def __len__(self) -> int:
        return len(self._by_uid)
