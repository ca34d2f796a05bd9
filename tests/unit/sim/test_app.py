"""The ASGI layer, called directly (no sockets): admin loopback rule, faults, stats and the log."""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from typing import Any

import pytest

from ibox_sim.admin import create_admin_app
from ibox_sim.api import RestApi
from ibox_sim.app import SystemApp, drop_connection
from ibox_sim.clock import ManualClock
from ibox_sim.faults import FaultSpec
from ibox_sim.simulator import Simulator


def _app() -> tuple[Simulator, SystemApp]:
    sim = Simulator(2, clock=ManualClock(), seed=3)
    return sim, SystemApp(sim, RestApi(sim), "ibox-1", create_admin_app(sim, lambda: []))


async def _call(
    app: SystemApp,
    method: str,
    path: str,
    client: str = "127.0.0.1",
    body: bytes = b"",
    query: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
) -> tuple[int, Any]:
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query,
        "headers": headers or [],
        "client": (client, 5555),
        "http_version": "1.1",
        "scheme": "http",
        "root_path": "",
        "server": ("127.0.0.1", 80),
    }
    sent: list[MutableMapping[str, Any]] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    status = sent[0]["status"]
    payload = b"".join(m.get("body", b"") for m in sent[1:])
    return status, json.loads(payload) if payload else None


async def test_admin_answers_loopback_clients_only() -> None:
    _, app = _app()
    assert (await _call(app, "GET", "/_sim/stats"))[0] == 200
    status, body = await _call(app, "GET", "/_sim/stats", client="10.1.2.3")
    assert (status, body["error"]["code"]) == (403, "FORBIDDEN")


async def test_api_requests_are_counted_and_logged() -> None:
    sim, app = _app()
    status, body = await _call(app, "GET", "/api/rest/system")
    assert (status, body["error"]["code"]) == (401, "UNAUTHORIZED")
    await _call(app, "GET", "/_sim/stats")  # admin calls are not API requests
    [entry] = sim.log.since()
    assert (entry["method"], entry["path"], entry["status"], entry["system"]) == (
        "GET",
        "/api/rest/system",
        401,
        "ibox-1",
    )
    assert sim.stats.snapshot(["ibox-1"])["by_system"]["ibox-1"]["requests_total"] == 1
    assert (entry["error_code"], entry["entities"]) == ("UNAUTHORIZED", [])


async def test_replica_creates_log_the_entities_they_name() -> None:
    sim, app = _app()
    pairs = b'{"entity_pairs": [{"local_entity_id": 6}, {"local_entity_id": 5}], "link_id": 1}'
    await _call(app, "POST", "/api/rest/replicas", body=pairs)
    await _call(
        app,
        "POST",
        "/api/rest/replicas",
        body=b'{"local_cg_id": 9, "entity_pairs": [{"local_entity_id": 5}]}',
    )
    await _call(app, "POST", "/api/rest/replicas", body=b"[1]")
    assert [entry["entities"] for entry in sim.log.since()] == [[5, 6], [9], []]
    assert [(e["entity_id"], e["posts"]) for e in sim.log.replica_creates()] == [(5, 1), (6, 1), (9, 1)]


async def test_injected_error_answers_with_the_envelope() -> None:
    sim, app = _app()
    sim.faults.set(FaultSpec(error_rate=1.0))
    status, body = await _call(app, "GET", "/api/rest/_features")
    assert status in (500, 502, 503)
    assert body["error"]["code"] in ("INTERNAL_ERROR", "SERVICE_UNAVAILABLE")
    assert sim.log.since()[0]["status"] == status


async def test_dropping_needs_a_transport() -> None:
    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        raise AssertionError("nothing may be sent")

    with pytest.raises(RuntimeError, match="no transport"):
        await drop_connection(receive, send)


async def test_non_api_paths_and_bad_json() -> None:
    _, app = _app()
    status, body = await _call(app, "GET", "/favicon.ico")
    assert (status, body["error"]["code"]) == (404, "ROUTE_NOT_FOUND")
    auth = [(b"authorization", b"Basic YWRtaW46YWRtaW4=")]
    status, body = await _call(app, "POST", "/api/rest/pools", body=b"{", headers=auth)
    assert (status, body["error"]["code"]) == (400, "BAD_REQUEST")
    status, body = await _call(app, "GET", "/api/rest/pools", query=b"name=pool-1", headers=auth)
    assert (status, [p["name"] for p in body["result"]]) == (200, ["pool-1"])


async def test_a_failing_handler_answers_500_and_keeps_serving(monkeypatch: pytest.MonkeyPatch) -> None:
    _, app = _app()

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("bug")

    monkeypatch.setattr(app.api, "handle", broken)
    status, body = await _call(app, "GET", "/api/rest/_features")
    assert (status, body["error"]["code"]) == (500, "INTERNAL_ERROR")
    monkeypatch.undo()
    assert (await _call(app, "GET", "/api/rest/_features"))[0] == 200


def test_the_latency_profile_delays_api_requests_by_class() -> None:
    sim, app = _app()
    sim.update_config({"latency": {"reads": 20, "creates": 150, "actions": 150, "deletes": 100}})
    delays = {
        (method, path): app.profile_delay(method, path)
        for method, path in (
            ("GET", "/api/rest/replicas"),
            ("POST", "/api/rest/replicas"),
            ("POST", "/api/rest/replicas/7/resume"),
            ("DELETE", "/api/rest/replicas/7"),
            ("GET", "/_sim/stats"),
        )
    }
    assert list(delays.values()) == [0.02, 0.15, 0.15, 0.1, 0.0]
    sim.update_config({"latency": {}})
    assert app.profile_delay("POST", "/api/rest/replicas") == 0.0
