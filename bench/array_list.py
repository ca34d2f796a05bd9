"""array-list: how long the array client takes to list every replica of a system holding 1,000.

The 1,000 replicas are made without HTTP, through the simulator's own API dispatcher, and
saved as a state file that ``ibox-sim`` loads in a child process, so the client's timings
do not share a GIL with the server. Figures: seconds per full listing (median and best of
several), HTTP requests per listing, and how much of it the array itself spent answering.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from ibox_sim import persistence
from ibox_sim.api import ApiRequest, RestApi
from ibox_sim.simulator import Simulator
from ibox_sim.testing import run_simulator
from replica_operator.array import InfiniBoxClient, RequestRecord

NAME = "array-list"
REPLICAS = 1000
LISTINGS = 7
PAGE_SIZES = (1000, 100)


def _handle(api: RestApi, sim: Simulator, system: str, method: str, path: str, body: Any) -> Any:
    """Call the simulator's API dispatcher directly (no HTTP); returns the envelope's ``result``."""
    with sim.lock:
        reply = api.handle(system, ApiRequest(method=method, path=path, body=body), authenticated=True)
    raw = getattr(reply, "raw", None)  # the simulator may answer with pre-encoded JSON
    envelope: dict[str, Any] = json.loads(raw) if raw is not None else dict(reply.body or {})
    if reply.status >= 400:
        raise RuntimeError(f"{method} {path}: {reply.status} {envelope.get('error')}")
    return envelope["result"]


def build_state(path: Path, replicas: int) -> None:
    """Two systems; ``replicas`` volumes on ibox-1, each replicated (CREATE) to ibox-2."""
    sim = Simulator(systems=2)
    api = RestApi(sim)
    local_pool = next(iter(sim.system("ibox-1").pools))
    remote_pool = next(iter(sim.system("ibox-2").pools))
    link = next(link.id for link in sim.system("ibox-1").links.values() if link.name == "to-ibox-2")
    for n in range(replicas):
        volume = _handle(
            api,
            sim,
            "ibox-1",
            "POST",
            "/volumes",
            {"name": f"vol-{n:04d}", "size": 10**9, "pool_id": local_pool},
        )
        body = {
            "link_id": link,
            "entity_type": "VOLUME",
            "entity_pairs": [
                {"local_entity_id": volume["id"], "remote_entity_id": None, "remote_base_action": "CREATE"}
            ],
            "remote_pool_id": remote_pool,
            "rpo_value": 300_000,
            "sync_interval": 60_000,
            "description": f"bench/{n:04d}",
        }
        _handle(api, sim, "ibox-1", "POST", "/replicas", body)
    persistence.save(sim, path)


async def measure(url: str, admin: str, page_size: int) -> dict[str, Any]:
    records: list[RequestRecord] = []
    async with InfiniBoxClient(url, username="admin", password="admin", observer=records.append) as array:
        await array.login()
        assert len(await array.list_all_replicas(page_size=page_size)) == REPLICAS  # warm-up
        seconds, requests, array_ms = [], [], []
        async with httpx.AsyncClient(base_url=admin) as sim:
            for _ in range(LISTINGS):
                records.clear()
                (await sim.delete("/_sim/requests")).raise_for_status()
                started = time.perf_counter()
                found = await array.list_all_replicas(page_size=page_size)
                seconds.append(time.perf_counter() - started)
                if len(found) != REPLICAS:
                    raise RuntimeError(f"listed {len(found)} replicas, not {REPLICAS}")
                requests.append(len(records))
                log = (await sim.get("/_sim/requests")).json()
                array_ms.append(sum(entry["duration_ms"] for entry in log))
    return {
        "page_size": page_size,
        "seconds_per_listing_median": round(statistics.median(seconds), 4),
        "seconds_per_listing_best": round(min(seconds), 4),
        "requests_per_listing": statistics.median(requests),
        "array_ms_per_listing_median": round(statistics.median(array_ms), 1),
    }


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-array-list-") as tmp:
        state = Path(tmp) / "state.json"
        started = time.perf_counter()
        build_state(state, REPLICAS)
        setup = time.perf_counter() - started
        with run_simulator(systems=2, state_file=state, initial_sync_seconds=0) as sim:
            url = sim.url("ibox-1")
            results = [asyncio.run(measure(url, sim.admin_url, size)) for size in PAGE_SIZES]
    main, *others = results
    return {
        "replicas": REPLICAS,
        "listings": LISTINGS,
        **main,
        "with_smaller_pages": others,
        "setup_seconds": round(setup, 2),
    }
