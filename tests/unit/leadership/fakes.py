"""An injected clock and an in-memory Lease with resourceVersions and 409s, for the elector."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from replica_operator.leadership.decision import LeaseRecord
from replica_operator.leadership.lease import LeaseError, StoredLease

EPOCH = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@dataclass
class FakeClock:
    now: float = 100.0

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> datetime:
        return EPOCH + timedelta(seconds=self.now)

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class FakeLeases:
    """One Lease object: every write bumps the version; a stale version is a conflict (None)."""

    stored: StoredLease | None = None
    version: int = 0
    failing: bool = False
    writes: list[LeaseRecord] = field(default_factory=list)
    #: Runs once just before the next update lands: another candidate writing in between.
    before_update: Callable[[], object] | None = None

    def read(self, timeout: float) -> StoredLease | None:
        self._maybe_fail()
        return self.stored

    def create(self, record: LeaseRecord, timeout: float) -> StoredLease | None:
        self._maybe_fail()
        if self.stored is not None:
            return None
        return self._write(record)

    def update(self, record: LeaseRecord, resource_version: str, timeout: float) -> StoredLease | None:
        self._maybe_fail()
        if self.before_update is not None:
            interleaved, self.before_update = self.before_update, None
            interleaved()
        if self.stored is None or self.stored.resource_version != resource_version:
            return None
        return self._write(record)

    def put(self, record: LeaseRecord) -> None:
        """Someone else writes the Lease."""
        self._write(record)

    def _write(self, record: LeaseRecord) -> StoredLease:
        self.version += 1
        self.stored = StoredLease(record, str(self.version))
        self.writes.append(record)
        return self.stored

    def _maybe_fail(self) -> None:
        if self.failing:
            raise LeaseError("cannot read Lease: ConnectTimeoutError")
