"""A simulator in a background thread on free 127.0.0.1 ports, driven through its manual clock.

One server per module keeps the suite fast; every test starts from a reset world.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from infinisdk import InfiniBox

from ibox_sim.clock import ManualClock
from ibox_sim.config import SimConfig
from ibox_sim.server import SimulatorServer

INITIAL_SYNC_SECONDS = 5.0
JOB_SECONDS = 1.0
AUTH = ("admin", "admin")


@pytest.fixture(scope="module")
def module_server() -> Iterator[SimulatorServer]:
    config = SimConfig(initial_sync_seconds=INITIAL_SYNC_SECONDS, job_seconds=JOB_SECONDS)
    with SimulatorServer(2, clock=ManualClock(start=time.time()), config=config, seed=7) as server:
        yield server


@pytest.fixture
def server(module_server: SimulatorServer) -> SimulatorServer:
    """The module's server, reset to its freshly started state (config included)."""
    sim = module_server.sim
    with sim.lock:
        sim.reset()
        sim.update_config(sim.initial_config.model_dump())
    return module_server


def connect(server: SimulatorServer, name: str, auth: tuple[str, str] = AUTH) -> InfiniBox:
    info = server.system(name)
    system = InfiniBox((info.host, info.port), auth=auth)
    system.login()
    return system


@pytest.fixture
def ibox1(server: SimulatorServer) -> InfiniBox:
    return connect(server, "ibox-1")


@pytest.fixture
def ibox2(server: SimulatorServer) -> InfiniBox:
    return connect(server, "ibox-2")


@pytest.fixture
def http(server: SimulatorServer) -> Iterator[httpx.Client]:
    """A plain HTTP client on ibox-1 with Basic auth (for wire-level checks)."""
    with httpx.Client(base_url=server.url("ibox-1"), auth=AUTH, timeout=10) as client:
        yield client


def admin(server: SimulatorServer, method: str, path: str, body: Any = None) -> Any:
    response = httpx.request(method, server.url("ibox-1") + path, json=body, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def advance(server: SimulatorServer, seconds: float) -> None:
    admin(server, "POST", "/_sim/clock/advance", {"seconds": seconds})
