"""Two simulated systems driven through the API without HTTP, on a manual clock (unit tests)."""

from __future__ import annotations

from typing import Any

from ibox_sim.api import ApiRequest, RestApi
from ibox_sim.clock import ManualClock
from ibox_sim.config import SimConfig
from ibox_sim.simulator import Simulator

GB = 10**9


class Arrays:
    """Two simulated systems and a caller for their API."""

    def __init__(self, **config: Any) -> None:
        self.clock = ManualClock()
        settings = {"initial_sync_seconds": 10, "job_seconds": 1, **config}
        self.sim = Simulator(2, clock=self.clock, config=SimConfig(**settings))
        self.api = RestApi(self.sim)
        #: Headers sent with every call (e.g. X-Remote-Authorization).
        self.headers: dict[str, str] = {}
        self.link = self.ok("GET", "/links")[0]["id"]
        self.pool = self.ok("GET", "/pools")[0]["id"]
        self.remote_pool = self.ok("GET", "/pools", system="ibox-2")[0]["id"]

    def call(
        self, method: str, path: str, body: Any = None, system: str = "ibox-1", **params: Any
    ) -> tuple[int, Any]:
        request = ApiRequest(
            method, path, [(k, str(v)) for k, v in params.items()], body, headers=self.headers
        )
        reply = self.api.handle(system, request, authenticated=True)
        return reply.status, reply.json()

    def ok(self, method: str, path: str, body: Any = None, system: str = "ibox-1", **params: Any) -> Any:
        status, envelope = self.call(method, path, body, system, **params)
        assert status == 200, envelope
        return envelope["result"]

    def error(
        self, method: str, path: str, body: Any = None, system: str = "ibox-1", **params: Any
    ) -> tuple[int, str]:
        status, envelope = self.call(method, path, body, system, **params)
        assert status >= 400, envelope
        return status, envelope["error"]["code"]

    def volume(self, name: str, system: str = "ibox-1", size: int = GB) -> dict[str, Any]:
        pool = self.pool if system == "ibox-1" else self.remote_pool
        return dict(self.ok("POST", "/volumes", {"name": name, "size": size, "pool_id": pool}, system=system))

    def replicate(self, volume_id: int, **extra: Any) -> dict[str, Any]:
        body = {
            "link_id": self.link,
            "entity_type": "VOLUME",
            "remote_pool_id": self.remote_pool,
            "entity_pairs": [
                {"local_entity_id": volume_id, "remote_entity_id": None, "remote_base_action": "CREATE"}
            ],
            **extra,
        }
        return dict(self.ok("POST", "/replicas", body))

    def replica(self, replica_id: int, system: str = "ibox-1") -> dict[str, Any]:
        return dict(self.ok("GET", f"/replicas/{replica_id}", system=system))

    def action(
        self, replica_id: int, action: str, body: Any = None, system: str = "ibox-1"
    ) -> tuple[int, Any]:
        return self.call("POST", f"/replicas/{replica_id}/{action}", body, system)

    def initialized(self, replica_id: int) -> None:
        self.sim.complete_initialization("ibox-1", replica_id)
