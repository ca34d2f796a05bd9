"""Driving ``ibox-sim`` from tests: building objects through its REST API, and its ``/_sim/`` admin API."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from ibox_sim.server import SimulatorServer

USERNAME = "admin"
PASSWORD = "Int3gr@tion-s3cret-7d1e"
GB = 10**9


def basic_auth(username: str, password: str) -> str:
    return base64.b64encode(f"{username}:{password}".encode()).decode()


class Sim:
    """One running simulator; fixtures are made with Basic auth (a path the client under test never takes)."""

    def __init__(self, server: SimulatorServer, http: httpx.AsyncClient) -> None:
        self.server = server
        self.http = http

    def url(self, system: str) -> str:
        return self.server.url(system)

    async def rest(self, system: str, method: str, path: str, body: Any = None, **params: str) -> Any:
        if method != "GET":
            params["approved"] = "true"
        response = await self.http.request(
            method,
            f"{self.url(system)}/api/rest{path}",
            params=params,
            json=body,
            auth=(USERNAME, PASSWORD),
        )
        response.raise_for_status()
        return response.json()["result"]

    async def admin(self, method: str, path: str, body: Any = None) -> Any:
        response = await self.http.request(method, f"{self.url('ibox-1')}/_sim{path}", json=body)
        response.raise_for_status()
        return response.json()

    # -- building

    async def pool_id(self, system: str, name: str = "pool-1") -> int:
        (pool,) = await self.rest(system, "GET", "/pools", name=f"eq:{name}")
        return int(pool["id"])

    async def link_id(self, system: str, name: str) -> int:
        (link,) = await self.rest(system, "GET", "/links", name=f"eq:{name}")
        return int(link["id"])

    async def volume(self, system: str, name: str, size: int = GB) -> int:
        body = {"name": name, "size": size, "pool_id": await self.pool_id(system)}
        return int((await self.rest(system, "POST", "/volumes", body))["id"])

    async def filesystem(self, system: str, name: str, size: int = GB) -> int:
        body = {"name": name, "size": size, "pool_id": await self.pool_id(system)}
        return int((await self.rest(system, "POST", "/filesystems", body))["id"])

    async def snapshot(self, system: str, parent_id: int, name: str, collection: str = "volumes") -> int:
        return int(
            (await self.rest(system, "POST", f"/{collection}", {"name": name, "parent_id": parent_id}))["id"]
        )

    async def cg(self, system: str, name: str, members: list[int]) -> int:
        cg_id = int(
            (await self.rest(system, "POST", "/cgs", {"name": name, "pool_id": await self.pool_id(system)}))[
                "id"
            ]
        )
        for member in members:
            await self.rest(system, "POST", f"/cgs/{cg_id}/members", {"dataset_id": member})
        return cg_id

    # -- admin

    async def set_faults(self, **spec: Any) -> None:
        await self.admin("PUT", "/faults", spec)

    async def clear_faults(self) -> None:
        await self.admin("DELETE", "/faults")

    async def request_log(self) -> list[dict[str, Any]]:
        log: list[dict[str, Any]] = await self.admin("GET", "/requests")
        return log

    async def clear_log(self) -> None:
        await self.admin("DELETE", "/requests")

    async def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = await self.admin("GET", "/stats")
        return stats

    async def reset_stats(self) -> None:
        await self.admin("POST", "/stats/reset")

    async def expire_sessions(self) -> None:
        await self.admin("DELETE", "/sessions")

    async def configure(self, **timing: float) -> None:
        await self.admin("PUT", "/config", timing)

    async def complete_initialization(self, system: str, replica_id: int) -> None:
        await self.admin("POST", f"/replicas/{system}/{replica_id}/complete-initialization")
