"""SimulatorServer in the running event loop and in a thread: it answers, then stops completely."""

from __future__ import annotations

import threading

import httpx
import pytest

from ibox_sim.clock import ManualClock
from ibox_sim.server import SimulatorServer

AUTH = ("admin", "admin")


async def test_async_context_manager() -> None:
    async with SimulatorServer(2, clock=ManualClock(), initial_sync_seconds=0.5) as server:
        assert [s.name for s in server.systems] == ["ibox-1", "ibox-2"]
        async with httpx.AsyncClient(auth=AUTH, timeout=10) as client:
            answer = await client.get(server.url("ibox-2") + "/api/rest/system")
            assert answer.json()["result"]["name"] == "ibox-2"
            config = await client.get(server.url("ibox-1") + "/_sim/config")
            assert config.json()["initial_sync_seconds"] == 0.5
        url = server.url("ibox-1")
    async with httpx.AsyncClient(timeout=5) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(url + "/api/rest/_features")


def _sim_threads() -> set[threading.Thread]:
    """Simulator threads alive now (other suites may keep their own server running)."""
    return {t for t in threading.enumerate() if t.name == "ibox-sim"}


def test_thread_mode_stops_its_thread() -> None:
    before = _sim_threads()
    with SimulatorServer(1) as server:
        assert len(_sim_threads() - before) == 1
        response = httpx.get(server.url("ibox-1") + "/api/rest/_features", timeout=10)
        assert response.status_code == 200
        assert server.ready_line().startswith('{"systems": [{"name": "ibox-1", "url": "http://127.0.0.1:')
    assert _sim_threads() == before
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url("ibox-1") + "/api/rest/_features", timeout=5)


def test_start_failure_is_raised_to_the_caller() -> None:
    before = _sim_threads()
    with SimulatorServer(1) as first:
        busy = SimulatorServer(1, base_port=first.systems[0].port)
        with pytest.raises(OSError, match=r"[Aa]ddress"), busy:
            pass
    assert _sim_threads() == before


def test_tls_needs_both_files() -> None:
    with pytest.raises(ValueError, match="both"):
        SimulatorServer(1, tls_cert="cert.pem")
