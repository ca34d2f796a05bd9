"""Wait on a condition with a timeout: the only way tests synchronise."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """The condition never held; the message says what was last seen."""


def wait_for(
    probe: Callable[[], T | None], *, timeout: float = 30.0, interval: float = 0.1, what: str = "condition"
) -> T:
    """Call ``probe`` until it returns something truthy; return it, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            result = probe()
        except AssertionError as error:  # a probe may assert to explain what it saw
            result, last = None, error
        else:
            last = result
        if result:
            return result
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"{what} did not hold within {timeout:.0f} s; last seen: {last!r}")
        time.sleep(interval)


async def async_wait_for(
    probe: Callable[[], Awaitable[T | None]],
    *,
    timeout: float = 30.0,
    interval: float = 0.1,
    what: str = "condition",
) -> T:
    """``wait_for`` for coroutines."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            result = await probe()
        except AssertionError as error:
            result, last = None, error
        else:
            last = result
        if result:
            return result
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"{what} did not hold within {timeout:.0f} s; last seen: {last!r}")
        await asyncio.sleep(interval)
