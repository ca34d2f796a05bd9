"""infinisdk drives the whole replication workflow over HTTP in every fidelity mode it can work in."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from infinisdk import InfiniBox
from infinisdk.core.exceptions import APICommandFailed

from ibox_sim.server import SimulatorServer
from tests.integration.sim.conftest import AUTH, INITIAL_SYNC_SECONDS, admin, advance

MODES: dict[str, dict[str, Any]] = {
    "default": {},
    "null-optional-fields": {"null_optional_fields": True},
    "require-remote-auth": {"require_remote_auth": True},
    "allow-duplicate-replicas": {"allow_duplicate_replicas": True},
    "max-concurrent-inits": {"max_concurrent_inits": 1},
    "auto-suspend-at-once": {"auto_suspend_after_seconds": 0},
    "realistic-latency": {"latency": {"reads": 20, "creates": 150, "actions": 150, "deletes": 100}},
}


def _requests(server: SimulatorServer, method: str, suffix: str) -> list[dict[str, Any]]:
    return [
        r
        for r in admin(server, "GET", "/_sim/requests")
        if r["method"] == method and r["path"].endswith(suffix)
    ]


@pytest.mark.parametrize("mode", sorted(MODES))
def test_the_sdk_workflow_in_every_mode(
    mode: str, ibox1: InfiniBox, ibox2: InfiniBox, server: SimulatorServer
) -> None:
    admin(server, "PUT", "/_sim/config", MODES[mode])
    ibox1.register_related_system(ibox2)  # infinisdk answers REMOTE_PERMISSION_REQUIRED with these
    ibox2.register_related_system(ibox1)
    pool, remote_pool = ibox1.pools.create(), ibox2.pools.create()
    link = ibox1.links.get(name="to-ibox-2")
    volume = ibox1.volumes.create(pool=pool)
    replica = ibox1.replicas.replicate_entity(
        volume, link=link, remote_pool=remote_pool, replication_type="SYNC"
    )
    assert replica.is_source()
    assert replica.is_initial_replication()
    advance(server, INITIAL_SYNC_SECONDS + 0.5)
    assert replica.is_active()
    assert not replica.is_initial_replication()
    replica.suspend()
    assert replica.is_user_suspended()
    replica.resume()
    replica.switch_role()
    remote = ibox2.replicas.get_by_id(replica.get_remote_replica_id())
    assert replica.is_target()
    assert remote.is_source()
    remote.switch_role()
    replica.change_type_to_async(params={"rpo_value": 60_000, "sync_interval": 20_000})
    assert replica.is_type_async()
    replica.delete(retain_staging_area=True)
    assert not ibox1.replicas.find(id=replica.id).to_list()
    assert not ibox2.replicas.find(id=remote.id).to_list()
    assert [r["status"] for r in _requests(server, "DELETE", f"/replicas/{replica.id}")][-1] == 200
    log = admin(server, "GET", "/_sim/requests")
    asked = [r for r in log if r["error_code"] == "REMOTE_PERMISSION_REQUIRED"]
    assert bool(asked) == (mode == "require-remote-auth")  # the SDK was asked, then retried
    slowest_create = max(r["duration_ms"] for r in _requests(server, "POST", "/api/rest/replicas"))
    assert (slowest_create >= 150) == (mode == "realistic-latency")


def test_latency_profile_at_run_time(http: httpx.Client, server: SimulatorServer) -> None:
    assert admin(server, "PUT", "/_sim/latency", {"profile": "realistic", "reads": 40}) == {
        "reads": 40,
        "creates": 150,
        "actions": 150,
        "deletes": 100,
    }
    admin(server, "DELETE", "/_sim/requests")
    http.get("/api/rest/pools")
    http.delete("/api/rest/volumes/1")  # a delete of nothing still takes the delete time
    admin(server, "PUT", "/_sim/latency", {"profile": "none"})
    http.get("/api/rest/pools")
    first, deleted, fast = admin(server, "GET", "/_sim/requests")
    assert first["duration_ms"] >= 40
    assert deleted["duration_ms"] >= 100
    assert deleted["status"] == 404
    assert fast["duration_ms"] < 40
    assert admin(server, "GET", "/_sim/latency")["reads"] == 0


def test_remote_authorization_is_asked_once_and_then_sent(
    ibox1: InfiniBox, ibox2: InfiniBox, server: SimulatorServer
) -> None:
    admin(server, "PUT", "/_sim/config", {"require_remote_auth": True})
    pool, remote_pool = ibox1.pools.create(), ibox2.pools.create()
    link = ibox1.links.get(name="to-ibox-2")
    volume = ibox1.volumes.create(pool=pool)
    with pytest.raises(Exception, match="related systems"):  # infinisdk: RelatedSystemNotFound
        ibox1.replicas.replicate_entity(volume, link=link, remote_pool=remote_pool)
    assert ibox1.replicas.count() == 0
    ibox1.register_related_system(ibox2)
    replica = ibox1.replicas.replicate_entity(volume, link=link, remote_pool=remote_pool)
    creates = _requests(server, "POST", "/api/rest/replicas")
    assert [(r["status"], r["error_code"]) for r in creates] == [
        (403, "REMOTE_PERMISSION_REQUIRED"),
        (403, "REMOTE_PERMISSION_REQUIRED"),
        (200, None),
    ]
    replica.delete()
    assert [r["status"] for r in _requests(server, "DELETE", f"/replicas/{replica.id}")] == [200]


def test_pending_initializations_as_the_sdk_reads_them(
    ibox1: InfiniBox, ibox2: InfiniBox, server: SimulatorServer
) -> None:
    admin(server, "PUT", "/_sim/config", {"max_concurrent_inits": 1})
    pool, remote_pool = ibox1.pools.create(), ibox2.pools.create()
    link = ibox1.links.get(name="to-ibox-2")
    first, second = (
        ibox1.replicas.replicate_entity(ibox1.volumes.create(pool=pool), link=link, remote_pool=remote_pool)
        for _ in range(2)
    )
    assert first.is_initial_replication()
    assert not first.is_pending()
    assert second.is_pending()
    assert not second.is_initial_replication()
    admin(server, "POST", f"/_sim/replicas/ibox-1/{first.id}/complete-initialization")
    assert not second.is_pending()
    assert second.is_initial_replication()


def test_nulls_where_the_sdk_tolerates_them(
    ibox1: InfiniBox, ibox2: InfiniBox, server: SimulatorServer
) -> None:
    admin(server, "PUT", "/_sim/config", {"null_optional_fields": True})
    pool, remote_pool = ibox1.pools.create(), ibox2.pools.create()
    volume = ibox1.volumes.create(pool=pool)
    assert volume.get_field("replica_ids", from_cache=False) is None
    replica = ibox1.replicas.replicate_entity(
        volume, link=ibox1.links.get(name="to-ibox-2"), remote_pool=remote_pool
    )
    admin(server, "POST", f"/_sim/replicas/ibox-1/{replica.id}/complete-initialization")
    assert replica.get_field("jobs", from_cache=False) is None
    assert replica.is_idle()  # infinisdk reads a null jobs as no job
    assert replica.get_local_entity() == volume  # from the pair's ids, the names are null


def test_an_odd_value_in_one_replica(ibox1: InfiniBox, ibox2: InfiniBox, server: SimulatorServer) -> None:
    pool, remote_pool = ibox1.pools.create(), ibox2.pools.create()
    link = ibox1.links.get(name="to-ibox-2")
    replica = ibox1.replicas.replicate_entity(
        ibox1.volumes.create(pool=pool), link=link, remote_pool=remote_pool
    )
    shown = admin(
        server, "PUT", f"/_sim/replicas/ibox-1/{replica.id}/fields", {"replication_type": "ACTIVE_ACTIVE"}
    )
    assert shown["fields"] == {"replication_type": "ACTIVE_ACTIVE"}
    assert replica.get_replication_type(from_cache=False) == "ACTIVE_ACTIVE"
    admin(server, "DELETE", f"/_sim/replicas/ibox-1/{replica.id}/fields")
    assert replica.get_replication_type(from_cache=False) == "ASYNC"


def test_duplicates_are_counted_per_entity(
    ibox1: InfiniBox, ibox2: InfiniBox, server: SimulatorServer
) -> None:
    pool, remote_pool = ibox1.pools.create(), ibox2.pools.create()
    link = ibox1.links.get(name="to-ibox-2")
    volume = ibox1.volumes.create(pool=pool)
    ibox1.replicas.replicate_entity(volume, link=link, remote_pool=remote_pool)
    with pytest.raises(APICommandFailed) as refused:
        ibox1.replicas.replicate_entity(
            volume, link=link, remote_pool=remote_pool, remote_entity_names=["copy"]
        )
    assert refused.value.error_code == "ENTITY_ALREADY_REPLICATED"
    admin(server, "PUT", "/_sim/config", {"allow_duplicate_replicas": True})
    ibox1.replicas.replicate_entity(volume, link=link, remote_pool=remote_pool, remote_entity_names=["copy2"])
    [counted] = admin(server, "GET", "/_sim/replica-creates")
    assert (counted["system"], counted["entity_id"], counted["posts"]) == ("ibox-1", volume.id, 3)
    assert (counted["statuses"], counted["codes"]) == ({"200": 2, "409": 1}, {"ENTITY_ALREADY_REPLICATED": 1})
    assert len(volume.get_field("replica_ids", from_cache=False)) == 2


def test_a_long_link_outage_as_the_sdk_sees_it(
    ibox1: InfiniBox, ibox2: InfiniBox, server: SimulatorServer
) -> None:
    admin(server, "PUT", "/_sim/config", {"auto_suspend_after_seconds": 3600})
    pool, remote_pool = ibox1.pools.create(), ibox2.pools.create()
    link = ibox1.links.get(name="to-ibox-2")
    replica = ibox1.replicas.replicate_entity(
        ibox1.volumes.create(pool=pool), link=link, remote_pool=remote_pool
    )
    advance(server, INITIAL_SYNC_SECONDS + 0.5)
    admin(server, "PUT", "/_sim/links/ibox-1/to-ibox-2", {"state": "DOWN"})
    assert replica.is_active()
    assert replica.is_stalled()
    assert not replica.is_auto_suspended()
    advance(server, 3600)
    assert replica.is_auto_suspended()
    admin(server, "PUT", "/_sim/links/ibox-1/to-ibox-2", {"state": "UP"})
    assert replica.is_auto_suspended()
    replica.resume()
    assert replica.is_active()
    assert not replica.is_stalled()


async def test_requests_wait_out_their_latency_concurrently(server: SimulatorServer) -> None:
    admin(server, "PUT", "/_sim/latency", {"reads": 300})
    admin(server, "POST", "/_sim/stats/reset")
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=server.url("ibox-1"), auth=AUTH, timeout=10) as client:
        answers = await asyncio.gather(*(client.get("/api/rest/pools") for _ in range(10)))
    assert [a.status_code for a in answers] == [200] * 10
    assert time.monotonic() - started < 2.0  # one after the other would take 3 s
    assert admin(server, "GET", "/_sim/stats")["by_system"]["ibox-1"]["in_flight_high_water"] == 10
