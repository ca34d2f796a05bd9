"""Every ``/_sim/`` admin endpoint, over HTTP."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from ibox_sim.server import SimulatorServer
from tests.integration.sim.conftest import AUTH, INITIAL_SYNC_SECONDS, admin, advance


def _replica(http: httpx.Client, server: SimulatorServer, **extra: Any) -> dict[str, Any]:
    """A fresh volume on ibox-1 replicated to a new volume in pool-1 of ibox-2."""
    pool = http.get("/api/rest/pools", params={"name": "pool-1"}).json()["result"][0]["id"]
    count = len(http.get("/api/rest/volumes").json()["result"])
    volume = http.post("/api/rest/volumes", json={"name": f"v{count}", "size": 10**9, "pool_id": pool}).json()
    link = http.get("/api/rest/links", params={"name": "to-ibox-2"}).json()["result"][0]["id"]
    with httpx.Client(base_url=server.url("ibox-2"), auth=AUTH) as remote:
        remote_pool = remote.get("/api/rest/pools", params={"name": "pool-1"}).json()["result"][0]["id"]
    body = {
        "link_id": link,
        "entity_type": "VOLUME",
        "remote_pool_id": remote_pool,
        "entity_pairs": [
            {
                "local_entity_id": volume["result"]["id"],
                "remote_entity_id": None,
                "remote_base_action": "CREATE",
            }
        ],
        **extra,
    }
    response = http.post("/api/rest/replicas", params={"approved": "true"}, json=body)
    assert response.status_code == 200, response.text
    return dict(response.json()["result"])


def _get(http: httpx.Client, replica_id: int) -> dict[str, Any]:
    return dict(http.get(f"/api/rest/replicas/{replica_id}").json()["result"])


def test_request_log(http: httpx.Client, server: SimulatorServer) -> None:
    admin(server, "DELETE", "/_sim/requests")
    http.get("/api/rest/pools", params={"name": "pool-1"})
    http.get("/api/rest/volumes/1")
    log = admin(server, "GET", "/_sim/requests")
    assert [(e["method"], e["path"], e["status"]) for e in log] == [
        ("GET", "/api/rest/pools", 200),
        ("GET", "/api/rest/volumes/1", 404),
    ]
    assert log[0]["query"] == "name=pool-1"
    assert log[0]["system"] == "ibox-1"
    assert log[0]["duration_ms"] >= 0
    assert log[0]["started"] > 0
    assert log[0]["client"].startswith("python-httpx/")  # the User-Agent: which process sent it
    assert [e["array_status"] for e in log] == [200, 404]
    assert admin(server, "GET", f"/_sim/requests?since={log[0]['seq']}") == log[1:]
    assert admin(server, "DELETE", "/_sim/requests") == {"cleared": 2}
    assert admin(server, "GET", "/_sim/requests") == []


def test_stats_high_water_mark(server: SimulatorServer) -> None:
    admin(server, "PUT", "/_sim/faults", {"latency_ms": 400, "systems": ["ibox-1"]})
    admin(server, "POST", "/_sim/stats/reset")
    statuses: list[int] = []
    lock = threading.Lock()

    def call() -> None:
        response = httpx.get(server.url("ibox-1") + "/api/rest/_features", timeout=10)
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    admin(server, "DELETE", "/_sim/faults")
    assert statuses == [200] * 4
    stats = admin(server, "GET", "/_sim/stats")
    assert stats["requests_total"] == 4
    assert stats["in_flight"] == 0
    assert stats["in_flight_high_water"] == 4
    assert stats["by_system"]["ibox-1"] == {"requests_total": 4, "in_flight": 0, "in_flight_high_water": 4}
    assert stats["by_system"]["ibox-2"]["requests_total"] == 0

    reset = admin(server, "POST", "/_sim/stats/reset")
    assert (reset["requests_total"], reset["in_flight_high_water"]) == (0, 0)


def test_error_faults(server: SimulatorServer) -> None:
    spec = {"error_rate": 1.0, "systems": ["ibox-1"], "path_regex": "/pools"}
    assert admin(server, "PUT", "/_sim/faults", spec)["error_rate"] == 1.0
    assert admin(server, "GET", "/_sim/faults")["path_regex"] == "/pools"
    with httpx.Client(auth=AUTH, timeout=10) as client:
        failed = [client.get(server.url("ibox-1") + "/api/rest/pools") for _ in range(12)]
        assert {r.status_code for r in failed} <= {500, 502, 503}
        assert len({r.status_code for r in failed}) > 1  # a mix of 5xx
        assert {r.json()["error"]["code"] for r in failed} <= {"INTERNAL_ERROR", "SERVICE_UNAVAILABLE"}
        assert client.get(server.url("ibox-1") + "/api/rest/system").status_code == 200  # path not matched
        assert client.get(server.url("ibox-2") + "/api/rest/pools").status_code == 200  # system not matched
        admin(server, "DELETE", "/_sim/faults")
        assert admin(server, "GET", "/_sim/faults") is None
        assert client.get(server.url("ibox-1") + "/api/rest/pools").status_code == 200


def test_dropped_connections(server: SimulatorServer) -> None:
    admin(server, "DELETE", "/_sim/requests")
    admin(server, "PUT", "/_sim/faults", {"drop_rate": 1.0, "systems": ["ibox-2"]})
    with httpx.Client(auth=AUTH, timeout=10) as client, pytest.raises(httpx.TransportError):
        client.get(server.url("ibox-2") + "/api/rest/system")
    admin(server, "DELETE", "/_sim/faults")
    logged = admin(server, "GET", "/_sim/requests")
    assert [(e["system"], e["status"], e["array_status"]) for e in logged] == [("ibox-2", 0, 0)]
    with httpx.Client(auth=AUTH, timeout=10) as client:
        assert client.get(server.url("ibox-2") + "/api/rest/system").status_code == 200


def test_answer_lost_after_the_array_acted(server: SimulatorServer) -> None:
    """phase=after: the create happens, the client never hears about it."""
    spec = {"drop_rate": 1.0, "methods": ["POST"], "path_regex": "^/api/rest/pools$", "phase": "after"}
    admin(server, "PUT", "/_sim/faults", spec)
    admin(server, "DELETE", "/_sim/requests")
    with httpx.Client(auth=AUTH, timeout=10) as client:
        with pytest.raises(httpx.TransportError):
            client.post(
                server.url("ibox-1") + "/api/rest/pools", params={"approved": "true"}, json={"name": "lost"}
            )
        admin(server, "DELETE", "/_sim/faults")
        found = client.get(server.url("ibox-1") + "/api/rest/pools", params={"name": "eq:lost"}).json()[
            "result"
        ]
    assert [pool["name"] for pool in found] == ["lost"]
    # The client got nothing (status 0), but the log says the array acted (its own answer, 201/200).
    [lost] = [e for e in admin(server, "GET", "/_sim/requests") if e["method"] == "POST"]
    assert (lost["status"], lost["array_status"] // 100) == (0, 2)


def test_latency_fault_applies(server: SimulatorServer) -> None:
    admin(server, "PUT", "/_sim/faults", {"latency_ms": 300})
    admin(server, "DELETE", "/_sim/requests")
    httpx.get(server.url("ibox-2") + "/api/rest/_features", timeout=10)
    admin(server, "DELETE", "/_sim/faults")
    [entry] = admin(server, "GET", "/_sim/requests")
    assert entry["duration_ms"] >= 290


def test_link_down_and_up(http: httpx.Client, server: SimulatorServer) -> None:
    replica = _replica(http, server)
    advance(server, INITIAL_SYNC_SECONDS + 1)
    assert _get(http, replica["id"])["state"] == "ACTIVE"

    changed = admin(server, "PUT", "/_sim/links/ibox-1/to-ibox-2", {"state": "DOWN"})
    assert changed["state"] == "DOWN"
    down = _get(http, replica["id"])
    assert (down["state"], down["state_reason"], down["sync_state"], down["job_state"]) == (
        "ACTIVE",  # the array keeps retrying for auto_suspend_after_seconds (24 h)
        "LINK_DOWN",
        "OUT_OF_SYNC",
        "STALLED",
    )
    links = http.get("/api/rest/links").json()["result"]
    assert links[0]["link_state"] == "DOWN"
    with httpx.Client(base_url=server.url("ibox-2"), auth=AUTH) as remote:
        assert remote.get("/api/rest/links").json()["result"][0]["link_state"] == "DOWN"
    refused = http.post(f"/api/rest/replicas/{replica['id']}/change_type_to_sync", json={})
    assert refused.json()["error"]["code"] == "LINK_DISCONNECTED"

    admin(server, "PUT", "/_sim/links/ibox-2/to-ibox-1", {"state": "up"})  # either side, any case
    up = _get(http, replica["id"])
    assert up["state"] == "ACTIVE"
    assert up["sync_state"] == "SYNC_IN_PROGRESS"  # catching up at once


def test_a_long_link_outage_auto_suspends_until_resumed(http: httpx.Client, server: SimulatorServer) -> None:
    replica = _replica(http, server)
    advance(server, INITIAL_SYNC_SECONDS + 1)
    admin(server, "PUT", "/_sim/links/ibox-1/to-ibox-2", {"state": "DOWN"})
    advance(server, 24 * 3600 - 1)
    assert _get(http, replica["id"])["state"] == "ACTIVE"
    advance(server, 1)
    assert (_get(http, replica["id"])["state"], _get(http, replica["id"])["state_reason"]) == (
        "AUTO_SUSPENDED",
        "LINK_DOWN",
    )
    refused = http.post(f"/api/rest/replicas/{replica['id']}/resume")
    assert refused.json()["error"]["code"] == "LINK_DISCONNECTED"
    admin(server, "PUT", "/_sim/links/ibox-1/to-ibox-2", {"state": "UP"})
    advance(server, 60)
    assert _get(http, replica["id"])["state"] == "AUTO_SUSPENDED"  # no auto-resume
    assert http.post(f"/api/rest/replicas/{replica['id']}/resume").status_code == 200
    assert (_get(http, replica["id"])["state"], _get(http, replica["id"])["sync_state"]) == (
        "ACTIVE",
        "SYNC_IN_PROGRESS",
    )


def test_clock_advance_and_complete_initialization(http: httpx.Client, server: SimulatorServer) -> None:
    before = admin(server, "GET", "/_sim/clock")["now"]
    first, second = _replica(http, server), _replica(http, server)
    assert _get(http, first["id"])["sync_state"] == "INITIALIZING"

    done = admin(server, "POST", f"/_sim/replicas/ibox-1/{first['id']}/complete-initialization")
    assert done["initialized"] is True
    assert _get(http, first["id"])["sync_state"] == "SYNCHRONIZED"
    assert _get(http, second["id"])["sync_state"] == "INITIALIZING"

    after = admin(server, "POST", "/_sim/clock/advance", {"seconds": INITIAL_SYNC_SECONDS / 2})["now"]
    assert after - before == pytest.approx(INITIAL_SYNC_SECONDS / 2, abs=0.01)
    assert _get(http, second["id"])["progress"] == 50
    advance(server, INITIAL_SYNC_SECONDS / 2)
    assert _get(http, second["id"])["is_initial"] is False

    missing = httpx.post(server.url("ibox-1") + "/_sim/replicas/ibox-1/999/complete-initialization")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "REPLICA_NOT_FOUND")
    backwards = httpx.post(server.url("ibox-1") + "/_sim/clock/advance", json={"seconds": -1})
    assert backwards.status_code == 400


def test_config_changes_existing_replicas(http: httpx.Client, server: SimulatorServer) -> None:
    replica = _replica(http, server)
    config = admin(server, "PUT", "/_sim/config", {"initial_sync_seconds": 100, "job_seconds": 2})
    assert config == {
        "initial_sync_seconds": 100,
        "job_seconds": 2,
        "session_ttl_seconds": 3600,
        "sync_filesystems": True,
        "auto_suspend_after_seconds": 86400,
        "max_concurrent_inits": None,
        "null_optional_fields": False,
        "allow_duplicate_replicas": False,
        "require_remote_auth": False,
        "latency": {"reads": 0, "creates": 0, "actions": 0, "deletes": 0},
        "disabled_features": [],
    }
    assert admin(server, "GET", "/_sim/config") == config
    advance(server, 50)
    assert _get(http, replica["id"])["progress"] == 50
    bad = httpx.put(server.url("ibox-1") + "/_sim/config", json={"job_seconds": -1})
    assert bad.status_code == 400


def test_paused_jobs_fall_behind_the_rpo(http: httpx.Client, server: SimulatorServer) -> None:
    replica = _replica(http, server, rpo_value=30_000, sync_interval=10_000)
    admin(server, "POST", f"/_sim/replicas/ibox-1/{replica['id']}/complete-initialization")
    paused = admin(server, "PUT", f"/_sim/replicas/ibox-1/{replica['id']}/jobs", {"paused": True})
    assert paused["paused"] is True
    advance(server, 31)
    lagging = _get(http, replica["id"])
    assert lagging["rpo_state"] == "LAGGING"
    assert lagging["jobs"] == []

    admin(server, "PUT", f"/_sim/replicas/ibox-1/{replica['id']}/jobs", {"paused": False})
    running = _get(http, replica["id"])
    assert running["sync_state"] == "SYNC_IN_PROGRESS"
    advance(server, 1.5)
    caught_up = _get(http, replica["id"])
    assert (caught_up["rpo_state"], caught_up["sync_state"]) == ("OK", "SYNCHRONIZED")


def test_reset(http: httpx.Client, server: SimulatorServer) -> None:
    _replica(http, server)
    admin(server, "PUT", "/_sim/faults", {"latency_ms": 1})
    assert admin(server, "POST", "/_sim/reset") == {"reset": True}
    assert admin(server, "GET", "/_sim/faults") is None
    assert http.get("/api/rest/replicas").json()["result"] == []
    assert [p["name"] for p in http.get("/api/rest/pools").json()["result"]] == ["pool-1"]
    assert [v["name"] for v in http.get("/api/rest/volumes").json()["result"]] == []


def test_systems_and_bad_admin_requests(server: SimulatorServer) -> None:
    systems = admin(server, "GET", "/_sim/systems")
    assert [s["name"] for s in systems] == ["ibox-1", "ibox-2"]
    assert systems[1]["url"] == server.url("ibox-2")
    base = server.url("ibox-2")
    assert httpx.get(base + "/_sim/nothing").status_code == 404
    assert httpx.put(base + "/_sim/links/ibox-1/nope", json={"state": "DOWN"}).status_code == 404
    assert httpx.put(base + "/_sim/links/ibox-1/to-ibox-2", json={"state": "SIDEWAYS"}).status_code == 400
    assert httpx.put(base + "/_sim/faults", json={"error_rate": 2}).status_code == 400
    assert httpx.put(base + "/_sim/faults", json={"systems": ["ibox-9"]}).status_code == 404


def test_host_writes_reach_writable_volumes_only(http: httpx.Client, server: SimulatorServer) -> None:
    """Issue 18: a drill's writable snapshot of a replication target takes writes; the target does not."""
    replica = _replica(http, server)
    with httpx.Client(base_url=server.url("ibox-2"), auth=AUTH, timeout=10) as remote:
        target = remote.get(f"/api/rest/replicas/{replica['remote_replica_id']}").json()["result"]
        target_id = target["local_entity_id"]
        snapshot = remote.post(
            "/api/rest/volumes", json={"name": "drill-1", "parent_id": target_id, "write_protected": False}
        ).json()["result"]
        locked = remote.post(
            "/api/rest/volumes", json={"name": "drill-2", "parent_id": target_id, "write_protected": True}
        ).json()["result"]
    url = server.url("ibox-2") + "/_sim/volumes/ibox-2"
    assert [httpx.post(f"{url}/{snapshot['id']}/write").json()["writes"] for _ in range(2)] == [1, 2]
    for refused in (target_id, locked["id"]):
        answer = httpx.post(f"{url}/{refused}/write")
        assert (answer.status_code, answer.json()["error"]["code"]) == (409, "WRITE_PROTECTED")
    assert httpx.post(f"{url}/999999/write").status_code == 404
