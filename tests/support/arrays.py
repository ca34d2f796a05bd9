"""Simulated arrays for operator tests: what to create on them, and what they hold now."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from ibox_sim.testing import RunningSimulator, run_simulator
from replica_operator.api import parse_duration
from tests.support.credentials import PASSWORD, USERNAME

AUTH = (USERNAME, PASSWORD)
READ_ATTEMPTS = 20


@contextlib.contextmanager
def operator_simulator(systems: int = 2, **options: Any) -> Iterator[RunningSimulator]:
    """``ibox-sim`` as the operator's tests run it: the tests' password, and a second replica of a
    dataset ALLOWED, so that a blind re-create shows up as a duplicate on the array (or as a 409
    NAME_ALREADY_EXISTS of its CREATE target) instead of a refusal the operator adopts after."""
    options.setdefault("allow_duplicate_replicas", True)
    with run_simulator(systems, password=PASSWORD, **options) as simulator:
        yield simulator


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

    def replica_creates(self, system: str = "ibox-1") -> dict[int, dict[str, Any]]:
        """``POST /replicas`` per local entity of ``system``: posts, statuses and error codes."""
        rows = self.admin("GET", "/_sim/replica-creates")
        return {int(row["entity_id"]): row for row in rows if row["system"] == system}

    def refused_creates(self) -> list[dict[str, Any]]:
        """Every ``POST /replicas`` refused with a 409 (with duplicates allowed: a blind re-create's
        CREATE target name taken); none is expected."""
        return [
            r
            for r in self.requests()
            if (r["method"], r["path"], r["status"]) == ("POST", "/api/rest/replicas", 409)
        ]

    def assert_pair(self, status: dict[str, Any], entity_id: int) -> None:
        """Status equals the arrays: one replica of the entity on the source, matched by id across,
        with the state, syncState, type, rpo and role that status shows."""
        on_source = self.replicas("ibox-1", local_entity_id=entity_id)
        assert [r["id"] for r in on_source] == [status.get("replicaId")], f"entity {entity_id}: {on_source}"
        source = on_source[0]
        target = self.replica("ibox-2", source["remote_replica_id"])
        assert target is not None, f"replica {source['id']}: no peer on ibox-2"
        assert (target["id"], target["remote_replica_id"]) == (status["remoteReplicaId"], status["replicaId"])
        leading = source if source["role"] == "SOURCE" else target  # a TARGET shows no state
        seen = {
            "state": leading["state"],
            "syncState": source["sync_state"],
            "replicationType": source["replication_type"],
            "role": source["role"],
            "rpo": _ms(source["rpo_value"]),
        }
        shown = {key: status.get(key) for key in seen}
        shown["rpo"] = parse_duration(shown["rpo"]) if shown["rpo"] else None
        assert shown == seen, f"replica {source['id']}: status {shown} but the array {seen}"
        other = {"SOURCE": "TARGET", "TARGET": "SOURCE"}[source["role"]]
        assert (target["role"], target["sync_state"]) == (other, source["sync_state"]), target

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        return self.sim.admin(method, path, body)

    def close(self) -> None:
        for client in self._clients.values():
            client.close()


def _ms(value: int | None) -> timedelta | None:
    return None if value is None else timedelta(milliseconds=value)
