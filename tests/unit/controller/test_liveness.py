"""The pollers' progress behind /healthz: a poller stuck in a pass is reported, and clears when it moves."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from replica_operator.array import Replica
from replica_operator.controller import Backoff, Indexes, Reconciler, Runtime
from replica_operator.settings import OperatorSettings
from tests.support.wait import async_wait_for
from tests.unit.controller.fakes import World, infinibox_body

BACKOFF = Backoff(timedelta(seconds=1), timedelta(seconds=8))


class ListIndex:
    """A kopf index stand-in: key -> the bodies under it."""

    def __init__(self, entries: dict[str, list[dict[str, Any]]]) -> None:
        self.entries = entries

    def get(self, key: str, default: Any = None) -> list[dict[str, Any]] | None:
        return self.entries.get(key, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def _discard(self, acckey: tuple[str | None, str | None, str | None]) -> None:
        for key in list(self.entries):
            self.entries[key] = [body for body in self.entries[key] if body["metadata"]["uid"] != acckey[2]]


async def test_a_poller_stuck_in_a_pass_is_stalled_until_it_finishes(monkeypatch: pytest.MonkeyPatch) -> None:
    world = World()
    release, entered = asyncio.Event(), asyncio.Event()

    async def hanging_listing() -> list[Replica]:
        entered.set()
        await release.wait()  # what a call without a timeout on a half-open connection does
        return []

    monkeypatch.setattr(world.arrays["ibox-1"], "list_all_replicas", hanging_listing)
    runtime = Runtime(
        OperatorSettings(), world.kube, world.registry, Reconciler(world.registry, world.kube, BACKOFF)
    )
    monkeypatch.setattr(runtime, "_stall_limit", lambda spec: 0.3)
    body = infinibox_body("ibox-1")
    body["spec"]["pollInterval"] = "1s"
    runtime.start(Indexes(ListIndex({"ibox-1": [body]}), ListIndex({}), ListIndex({})))
    try:
        await asyncio.wait_for(entered.wait(), timeout=5)
        assert runtime.stalled_pollers() == {}  # within its limit yet

        async def stalled_now() -> dict[str, float]:
            return runtime.stalled_pollers()

        async def moving() -> bool:
            return runtime.stalled_pollers() == {}

        stalled = await async_wait_for(stalled_now, timeout=5, what="the poller reported stalled")
        assert list(stalled) == ["ibox-1"]
        release.set()
        await async_wait_for(moving, timeout=5, what="the poller moving again")
    finally:
        release.set()
        await runtime.stop()
