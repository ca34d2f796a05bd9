"""One simulator (two arrays) for the array client's integration tests, reset before each test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from ibox_sim.server import SimulatorServer
from replica_operator.array import InfiniBoxClient, RetryPolicy
from tests.integration.array.sim import PASSWORD, USERNAME, Sim

#: Patient enough for 30 % injected faults, quick enough for tests.
FAST_RETRY = RetryPolicy(attempts=10, timeout=20.0, wait_initial=0.002, wait_max=0.02, wait_jitter=0.002)

ClientFactory = Callable[..., InfiniBoxClient]


@pytest.fixture(scope="session")
def sim_server() -> Iterator[SimulatorServer]:
    # Replicas stay INITIALIZING until a test ends it; faults are drawn from a seeded generator.
    with SimulatorServer(systems=2, password=PASSWORD, initial_sync_seconds=3600, seed=20251125) as server:
        yield server


@pytest.fixture
async def sim(sim_server: SimulatorServer) -> AsyncIterator[Sim]:
    async with httpx.AsyncClient(timeout=10.0) as http:
        helper = Sim(sim_server, http)
        await helper.admin("POST", "/reset")
        yield helper


@pytest.fixture
async def make_client(sim: Sim) -> AsyncIterator[ClientFactory]:
    """Clients for the simulated arrays (closed after the test)."""
    clients: list[InfiniBoxClient] = []

    def make(system: str = "ibox-1", **options: Any) -> InfiniBoxClient:
        options.setdefault("retry", FAST_RETRY)
        options.setdefault("password", PASSWORD)
        options.setdefault("name", system)
        client = InfiniBoxClient(options.pop("url", None) or sim.url(system), username=USERNAME, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def array(make_client: ClientFactory) -> InfiniBoxClient:
    return make_client("ibox-1")


@pytest.fixture
def peer(make_client: ClientFactory) -> InfiniBoxClient:
    return make_client("ibox-2")


@dataclass(frozen=True)
class Topology:
    link_id: int
    remote_link_id: int
    local_pool_id: int
    remote_pool_id: int


@pytest.fixture
async def topology(sim: Sim) -> Topology:
    return Topology(
        link_id=await sim.link_id("ibox-1", "to-ibox-2"),
        remote_link_id=await sim.link_id("ibox-2", "to-ibox-1"),
        local_pool_id=await sim.pool_id("ibox-1"),
        remote_pool_id=await sim.pool_id("ibox-2"),
    )
