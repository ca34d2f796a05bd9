"""Simulated arrays for operator tests: what to create on them, and what they hold now."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import httpx

from ibox_sim.testing import RunningSimulator

AUTH = ("admin", "admin")
READ_ATTEMPTS = 20


@dataclass
class SimArrays:
    """The arrays of one ``ibox-sim`` process, spoken to over its REST API as any client would."""

    sim: RunningSimulator
    #: The arrays' login (a simulator started with ``--password`` needs its own).
    auth: tuple[str, str] = AUTH
    _clients: dict[str, httpx.Client] = field(default_factory=dict)

    def url(self, system: str) -> str:
        return self.sim.url(system)

    def api(self, system: str) -> httpx.Client:
        if system not in self._clients:
            token = base64.b64encode(f"{self.auth[0]}:{self.auth[1]}".encode()).decode()
            self._clients[system] = httpx.Client(
                base_url=f"{self.url(system)}/api/rest",
                headers={"Authorization": f"Basic {token}"},
                timeout=10,
            )
        return self._clients[system]

    def call(self, system: str, method: str, path: str, body: Any = None, **params: Any) -> Any:
        if method != "GET":
            params["approved"] = "true"
        response = self._send(system, method, path, body, params)
        if response.status_code >= 400:
            raise AssertionError(f"{method} {path} on {system}: {response.status_code} {response.text}")
        return response.json()["result"]

    def _send(self, system: str, method: str, path: str, body: Any, params: dict[str, Any]) -> httpx.Response:
        """Reads are repeated through injected faults (the test is not what is under test)."""
        attempts = READ_ATTEMPTS if method == "GET" else 1
        for attempt in range(attempts):
            try:
                response = self.api(system).request(method, path, json=body, params=params)
            except httpx.TransportError:
                if attempt + 1 == attempts:
                    raise
                continue
            if response.status_code < 500 or attempt + 1 == attempts:
                return response
        raise AssertionError("unreachable")

    def pool_id(self, system: str, name: str = "pool-1") -> int:
        return int(self.call(system, "GET", "/pools", name=f"eq:{name}")[0]["id"])

    def volume(self, system: str, name: str, size: int = 10**9) -> dict[str, Any]:
        return dict(
            self.call(
                system, "POST", "/volumes", {"name": name, "size": size, "pool_id": self.pool_id(system)}
            )
        )

    def filesystem(self, system: str, name: str, size: int = 10**9) -> dict[str, Any]:
        body = {"name": name, "size": size, "pool_id": self.pool_id(system)}
        return dict(self.call(system, "POST", "/filesystems", body))

    def snapshot(self, system: str, parent_id: int, name: str) -> dict[str, Any]:
        return dict(self.call(system, "POST", "/volumes", {"name": name, "parent_id": parent_id}))

    def consistency_group(self, system: str, name: str, members: list[str]) -> dict[str, Any]:
        group = self.call(system, "POST", "/cgs", {"name": name, "pool_id": self.pool_id(system)})
        for member in members:
            volume = self.volume(system, member)
            self.call(system, "POST", f"/cgs/{group['id']}/members", {"dataset_id": volume["id"]})
        return dict(group)

    def replicas(self, system: str, **filters: Any) -> list[dict[str, Any]]:
        params = {key: f"eq:{value}" for key, value in filters.items()}
        return list(self.call(system, "GET", "/replicas", page_size=1000, **params))

    def replica(self, system: str, replica_id: int) -> dict[str, Any] | None:
        response = self._send(system, "GET", f"/replicas/{replica_id}", None, {})
        return None if response.status_code == 404 else dict(response.json()["result"])

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        """The simulator's request log (every API request to every system)."""
        answer = self.sim.admin("GET", f"/_sim/requests?since={since}")
        return list(answer if isinstance(answer, list) else answer["requests"])

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        return self.sim.admin(method, path, body)

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
