"""Leader election on a Lease, as client-go's ``LeaderElector`` runs it, in threads of its own.

The standby polls every retry period (jittered) until it can take the lease. The leader renews
every retry period in a thread, and a second thread watches the renew deadline: a leader that has
not renewed within it, or that sees another holder, stops acting at once by calling ``on_lost``
(by default: exit the process non-zero, as controller-runtime managers do; the pod restarts as a
standby). Both threads are independent of the operator's event loop, so a busy or stuck loop
cannot delay the decision to stop. The deadline is counted from the *start* of the last
successful renewal, and a rival counts the lease duration from when it *saw* that renewal,
later, so the leader stops at least ``lease duration - renew deadline`` before anyone may take over.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from .config import JITTER_FACTOR, LOST_EXIT_CODE, ElectionConfig
from .decision import HeldByOther, LeaseRecord, Observation, decide, observe, released
from .lease import LeaseError, StoredLease
from .metrics import LEADER

log = logging.getLogger(__name__)


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def wall(self) -> datetime: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> datetime:
        return datetime.now(UTC)


class LeaseStore(Protocol):
    """What election needs of a Lease (``lease.Leases``; an in-memory fake in unit tests)."""

    def read(self, timeout: float) -> StoredLease | None: ...

    def create(self, record: LeaseRecord, timeout: float) -> StoredLease | None: ...

    def update(self, record: LeaseRecord, resource_version: str, timeout: float) -> StoredLease | None: ...


def exit_lost(reason: str) -> None:
    """Stop acting now: no cleanup that could still call an array or write to Kubernetes."""
    log.critical(
        "leadership lost (%s): exiting with %d; the pod restarts as a standby", reason, LOST_EXIT_CODE
    )
    logging.shutdown()
    os._exit(LOST_EXIT_CODE)


class LeaderElector:
    """One candidate. ``acquire`` blocks as a standby; ``keep`` renews; ``release`` hands over."""

    def __init__(
        self,
        config: ElectionConfig,
        leases: LeaseStore,
        *,
        clock: Clock | None = None,
        on_lost: Callable[[str], None] = exit_lost,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.config = config
        self._leases, self._clock, self._on_lost, self._jitter = (
            leases,
            clock or SystemClock(),
            on_lost,
            jitter,
        )
        self._observed: Observation | None = None
        self._stored: StoredLease | None = None
        self._renewed_at = float("-inf")
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.holder = ""  # the holder last seen: ours once leading
        LEADER.labels(config.identity).set(0)

    @property
    def leading(self) -> bool:
        return self._stored is not None and self.holder == self.config.identity

    def deadline(self) -> float:
        """The monotonic time by which the leader must have renewed, or stop."""
        return self._renewed_at + self.config.renew_deadline.total_seconds()

    def try_acquire_or_renew(self, timeout: float) -> bool:
        """One attempt (client-go's ``tryAcquireOrRenew``): read, decide, write; True if we hold it."""
        started = self._clock.monotonic()
        stored = self._leases.read(timeout)
        now = self._clock.monotonic()
        self._observed = None if stored is None else observe(self._observed, stored.record, now)
        decision = decide(
            self._observed,
            self.config.identity,
            self.config.lease_seconds,
            self._clock.wall(),
            self._clock.monotonic(),
        )
        if isinstance(decision, HeldByOther):
            self._see_holder(decision.holder)
            return False
        remaining = timeout - (self._clock.monotonic() - started)
        if decision.create or stored is None:
            written = self._leases.create(decision.record, remaining)
        else:
            written = self._leases.update(decision.record, stored.resource_version, remaining)
        if written is None:  # 409: someone else wrote first
            return False
        self._observed = Observation(written.record, self._clock.monotonic())
        self._stored, self._renewed_at = written, started
        self._see_holder(self.config.identity)
        return True

    def _see_holder(self, holder: str) -> None:
        if holder != self.holder:
            log.info("%s: the leader is now %s", self.config.describe(), holder or "nobody")
            self.holder = holder
            LEADER.labels(self.config.identity).set(1 if holder == self.config.identity else 0)

    def acquire(self, stop: threading.Event) -> bool:
        """Stand by until the lease is ours (True) or ``stop`` is set (False)."""
        log.info("%s: standing by until the lease is ours", self.config.describe())
        retry = self.config.retry_period.total_seconds()
        while not stop.is_set():
            try:
                if self.try_acquire_or_renew(self.config.renew_deadline.total_seconds()):
                    log.info("%s: acquired the lease", self.config.describe())
                    return True
            except LeaseError as error:
                log.warning("%s: %s", self.config.describe(), error)
            stop.wait(retry * (1 + self._jitter() * (JITTER_FACTOR - 1)))
        return False

    def renew_once(self) -> None:
        """One renewal as the leader; another holder means the lease is lost now."""
        remaining = self.deadline() - self._clock.monotonic()
        if remaining <= 0:
            return  # the watchdog decides
        try:
            if self.try_acquire_or_renew(min(remaining, self.config.renew_deadline.total_seconds())):
                return
        except LeaseError as error:
            log.warning("%s: renewal failed: %s", self.config.describe(), error)
            return
        if self.holder != self.config.identity:
            self._lose(f"the lease is held by {self.holder}")

    def check_deadline(self) -> float:
        """Seconds left until the renew deadline; at or past it, the lease is lost."""
        remaining = self.deadline() - self._clock.monotonic()
        if remaining <= 0:
            self._lose(
                f"not renewed within the renew deadline of {self.config.renew_deadline.total_seconds():g} s"
            )
        return remaining

    def _lose(self, reason: str) -> None:
        if not self._stop.is_set():
            self._stop.set()
            LEADER.labels(self.config.identity).set(0)
            self._on_lost(reason)

    def keep(self) -> None:
        """Renew in the background until ``release`` (or until the lease is lost)."""
        self._stop.clear()
        for target, name in ((self._renew_loop, "lease-renewer"), (self._watch_deadline, "lease-watchdog")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def _renew_loop(self) -> None:
        retry = self.config.retry_period.total_seconds()
        while not self._stop.is_set():
            started = self._clock.monotonic()
            self.renew_once()
            self._stop.wait(max(0.0, started + retry - self._clock.monotonic()))

    def _watch_deadline(self) -> None:
        while not self._stop.is_set():
            remaining = self.check_deadline()
            if remaining > 0:
                self._stop.wait(remaining)

    def release(self) -> None:
        """Stop renewing and give the lease up (ReleaseOnCancel), so a standby takes over at once."""
        self._stop.set()
        for thread in self._threads:
            thread.join(self.config.renew_deadline.total_seconds())
        self._threads.clear()
        if not self.leading or self._stored is None:
            return
        record = released(self._stored.record, self._clock.wall())
        try:
            written = self._leases.update(
                record, self._stored.resource_version, self.config.renew_deadline.total_seconds()
            )
        except LeaseError as error:
            log.warning(
                "%s: release failed (a standby waits for the lease to expire): %s",
                self.config.describe(),
                error,
            )
            return
        if written is not None:
            log.info("%s: released the lease", self.config.describe())
            self._stored, self.holder = None, ""
            LEADER.labels(self.config.identity).set(0)
