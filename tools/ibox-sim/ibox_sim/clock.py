"""Simulated time.

Every time-driven behaviour (replica initialisation, async jobs, RPO lag, session
expiry) reads the clock instead of ``time`` so that unit tests can drive it by hand
and ``POST /_sim/clock/advance`` can move it forward without sleeping.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """A source of wall time (seconds since the epoch) that can only move forward."""

    def now(self) -> float:
        """The current simulated time, seconds since the epoch."""
        ...

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (>= 0)."""
        ...


class SystemClock:
    """Real time: wall time at start plus monotonic progress, plus whatever was advanced.

    Monotonic progress keeps the simulation stable when the host's wall clock jumps.
    """

    def __init__(self) -> None:
        self._wall_at_start = time.time()
        self._mono_at_start = time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._wall_at_start + (time.monotonic() - self._mono_at_start) + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds


class ManualClock:
    """A clock that moves only when told to; for unit tests and deterministic scenarios."""

    #: 2023-11-14T22:13:20Z: a fixed, realistic epoch so timestamps look like a real array's.
    DEFAULT_START = 1_700_000_000.0

    def __init__(self, start: float = DEFAULT_START) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._now += seconds


def to_ms(seconds: float | None) -> int | None:
    """Seconds since the epoch -> integer milliseconds, as the InfiniBox API reports times."""
    return None if seconds is None else int(seconds * 1000)
