"""Fidelity modes on the manual clock: link outages, PENDING initializations, remote authorization,
null optional fields, odd values, duplicate replicas, latency profiles."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from ibox_sim.api import RestApi
from ibox_sim.cli import fidelity_config
from ibox_sim.config import SimConfig
from ibox_sim.errors import ApiError
from tests.unit.sim.arrays import Arrays


def _basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def _state(arrays: Arrays, replica_id: int) -> tuple[Any, ...]:
    shown = arrays.replica(replica_id)
    return shown["state"], shown["state_reason"], shown["job_state"]


# -- link outages -----------------------------------------------------------------------------------


def test_a_link_down_longer_than_the_limit_auto_suspends_until_resumed() -> None:
    arrays = Arrays(auto_suspend_after_seconds=60)
    replica = arrays.replicate(arrays.volume("v")["id"])
    arrays.initialized(replica["id"])
    arrays.sim.set_link_state("ibox-1", "to-ibox-2", False)
    assert _state(arrays, replica["id"]) == ("ACTIVE", "LINK_DOWN", "STALLED")
    arrays.clock.advance(59.9)
    assert _state(arrays, replica["id"])[0] == "ACTIVE"
    arrays.clock.advance(0.1)
    assert _state(arrays, replica["id"])[:2] == ("AUTO_SUSPENDED", "LINK_DOWN")
    assert arrays.action(replica["id"], "resume")[1]["error"]["code"] == "LINK_DISCONNECTED"
    arrays.sim.set_link_state("ibox-1", "to-ibox-2", True)
    arrays.clock.advance(30)
    assert _state(arrays, replica["id"])[:2] == ("AUTO_SUSPENDED", "LINK_DOWN")  # no auto-resume
    assert arrays.action(replica["id"], "resume")[0] == 200
    assert arrays.replica(replica["id"])["state"] == "ACTIVE"
    assert arrays.action(replica["id"], "resume")[1]["error"]["code"] == "REPLICA_NOT_SUSPENDED"


def test_a_short_outage_resumes_by_itself_and_zero_suspends_at_once() -> None:
    arrays = Arrays(auto_suspend_after_seconds=60)
    replica = arrays.replicate(arrays.volume("v")["id"])
    arrays.initialized(replica["id"])
    arrays.sim.set_link_state("ibox-1", "to-ibox-2", False)
    arrays.clock.advance(59)
    arrays.sim.set_link_state("ibox-1", "to-ibox-2", True)
    assert _state(arrays, replica["id"])[:2] == ("ACTIVE", None)
    now = Arrays(auto_suspend_after_seconds=0)
    other = now.replicate(now.volume("v")["id"])
    now.sim.set_link_state("ibox-1", "to-ibox-2", False)
    assert _state(now, other["id"])[:2] == ("AUTO_SUSPENDED", "LINK_DOWN")


# -- concurrent initializations ---------------------------------------------------------------------


def test_initializations_beyond_the_limit_wait_pending_and_start_when_a_slot_frees() -> None:
    arrays = Arrays(max_concurrent_inits=2)  # initial sync 10 s
    first, second = (arrays.replicate(arrays.volume(n)["id"]) for n in ("a", "b"))
    arrays.clock.advance(2)
    third = arrays.replicate(arrays.volume("c")["id"])
    shown = arrays.replica(third["id"])
    assert (shown["state"], shown["job_state"], shown["is_initial"], shown["progress"]) == (
        "ACTIVE",
        "PENDING",
        True,
        0,
    )
    assert (shown["sync_state"], shown["pending_job_count"]) == ("INITIALIZING_PENDING", 1)
    assert arrays.replica(second["id"])["job_state"] == "INITIALIZING"
    arrays.clock.advance(13)  # t=15: the first two finished at t=10, the third started then
    shown = arrays.replica(third["id"])
    assert (shown["job_state"], shown["progress"]) == ("INITIALIZING", 50)
    assert arrays.replica(first["id"])["is_initial"] is False


def test_a_completed_initialization_frees_its_slot_at_once() -> None:
    arrays = Arrays(max_concurrent_inits=1)
    first = arrays.replicate(arrays.volume("a")["id"])
    second = arrays.replicate(arrays.volume("b")["id"])
    assert arrays.replica(second["id"])["job_state"] == "PENDING"
    third = arrays.replicate(arrays.volume("c")["id"])
    arrays.initialized(first["id"])
    assert arrays.replica(second["id"])["job_state"] == "INITIALIZING"
    assert arrays.replica(third["id"])["job_state"] == "PENDING"
    arrays.initialized(third["id"])  # completing a waiting one skips the queue
    shown = arrays.replica(third["id"])
    assert (shown["is_initial"], shown["state"], shown["sync_state"]) == (False, "ACTIVE", "SYNCHRONIZED")
    assert arrays.replica(second["id"])["job_state"] == "INITIALIZING"


# -- remote authorization ---------------------------------------------------------------------------


def test_guarded_calls_need_the_peer_credentials() -> None:
    arrays = Arrays(require_remote_auth=True)
    volume = arrays.volume("v")["id"]
    assert arrays.error("POST", "/replicas", _create_body(arrays, volume)) == (
        403,
        "REMOTE_PERMISSION_REQUIRED",
    )
    assert arrays.ok("GET", "/replicas") == []  # nothing created
    arrays.headers = {"x-remote-authorization": f"Basic {_basic('admin', 'wrong')}"}
    assert arrays.error("POST", "/replicas", _create_body(arrays, volume))[1] == "REMOTE_PERMISSION_REQUIRED"
    arrays.headers = {"x-remote-authorization": f"Basic {_basic('admin', 'admin')}"}  # before 8.4
    replica = arrays.ok("POST", "/replicas", _create_body(arrays, volume))
    arrays.headers = {}
    assert arrays.action(replica["id"], "suspend")[0] == 200  # not guarded
    assert arrays.action(replica["id"], "change_role")[1]["error"]["code"] == "REMOTE_PERMISSION_REQUIRED"
    assert arrays.error("DELETE", f"/replicas/{replica['id']}") == (403, "REMOTE_PERMISSION_REQUIRED")
    multi = f"Basic 127.0.0.1={_basic('x', 'y')};127.0.0.2={_basic('admin', 'admin')}"  # 8.4+
    arrays.headers = {"x-remote-authorization": multi}
    assert arrays.ok("DELETE", f"/replicas/{replica['id']}")["id"] == replica["id"]


def _create_body(arrays: Arrays, volume: int) -> dict[str, Any]:
    return {
        "link_id": arrays.link,
        "remote_pool_id": arrays.remote_pool,
        "entity_pairs": [{"local_entity_id": volume, "remote_base_action": "CREATE"}],
    }


# -- nulls and odd values ---------------------------------------------------------------------------


def test_null_optional_fields_mode() -> None:
    arrays = Arrays(null_optional_fields=True)
    plain = arrays.volume("plain")
    assert (plain["rmr_source"], plain["replica_ids"], plain["replication_types"]) == (None, None, None)
    replica = arrays.replicate(arrays.volume("v")["id"])
    arrays.initialized(replica["id"])
    shown = arrays.replica(replica["id"])
    assert shown["jobs"] is None
    pair = shown["entity_pairs"][0]
    assert (pair["local_entity_name"], pair["remote_entity_name"]) == (None, None)
    assert isinstance(pair["local_entity_id"], int)


def test_odd_values_injected_into_one_replica() -> None:
    arrays = Arrays()
    replica = arrays.replicate(arrays.volume("v")["id"])
    other = arrays.replicate(arrays.volume("w")["id"])
    arrays.sim.override_fields("ibox-1", replica["id"], {"replication_type": "ACTIVE_ACTIVE", "state": "NEW"})
    shown = {r["id"]: r for r in arrays.ok("GET", "/replicas")}
    assert (shown[replica["id"]]["replication_type"], shown[replica["id"]]["state"]) == (
        "ACTIVE_ACTIVE",
        "NEW",
    )
    assert shown[other["id"]]["replication_type"] == "ASYNC"
    with pytest.raises(ApiError, match="no_such"):
        arrays.sim.override_fields("ibox-1", replica["id"], {"no_such": 1})
    arrays.sim.override_fields("ibox-1", replica["id"], None)
    assert arrays.replica(replica["id"])["replication_type"] == "ASYNC"


# -- duplicates ------------------------------------------------------------------------------------


def test_duplicate_replicas_are_refused_by_default_and_accepted_in_the_mode() -> None:
    arrays = Arrays()
    volume = arrays.volume("v")["id"]
    arrays.replicate(volume)
    again = {"remote_entity_name": "v-copy"}
    body = _create_body(arrays, volume)
    body["entity_pairs"][0].update(again)
    assert arrays.error("POST", "/replicas", body) == (409, "ENTITY_ALREADY_REPLICATED")
    arrays.sim.update_config({"allow_duplicate_replicas": True})
    second = arrays.ok("POST", "/replicas", body)
    assert len(arrays.ok("GET", f"/volumes/{volume}")["replica_ids"]) == 2
    assert second["entity_pairs"][0]["remote_entity_name"] == "v-copy"


# -- latency profile --------------------------------------------------------------------------------


def test_latency_profiles_and_overrides() -> None:
    base = SimConfig()
    modes: dict[str, Any] = {
        "latency_profile": "realistic",
        "latency_reads_ms": None,
        "latency_creates_ms": None,
        "latency_actions_ms": None,
        "latency_deletes_ms": 5.0,
        "max_concurrent_inits": None,
        "auto_suspend_after_seconds": 86_400.0,
        "require_remote_auth": False,
        "null_optional_fields": False,
        "allow_duplicate_replicas": False,
    }
    config = fidelity_config(base, dict(modes))
    assert config.latency.model_dump() == {"reads": 20, "creates": 150, "actions": 150, "deletes": 5}
    assert config.max_concurrent_inits == 8
    none = fidelity_config(base, {**modes, "latency_profile": "none", "latency_deletes_ms": None})
    assert (none.latency.model_dump(), none.max_concurrent_inits) == (
        {"reads": 0, "creates": 0, "actions": 0, "deletes": 0},
        None,
    )


@pytest.mark.parametrize(
    ("method", "path", "kind"),
    [
        ("GET", "/replicas", "reads"),
        ("GET", "/replicas/5", "reads"),
        ("POST", "/replicas", "creates"),
        ("POST", "/volumes", "creates"),
        ("POST", "/replicas/5/suspend", "actions"),
        ("PUT", "/replicas/5", "actions"),
        ("DELETE", "/replicas/5", "deletes"),
        ("DELETE", "/volumes/5", "deletes"),
        ("GET", "/remote/3/api/rest/replicas/5", "reads"),
        ("POST", "/users/login", "reads"),
    ],
)
def test_latency_classes_follow_the_route_table(method: str, path: str, kind: str) -> None:
    assert RestApi(Arrays().sim).latency_class(method, path) == kind
