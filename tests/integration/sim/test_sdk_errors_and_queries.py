"""Errors, queries and sessions as the vendor SDK meets them."""

from __future__ import annotations

import pytest
from capacity import GB  # type: ignore[import-untyped]
from infinisdk import InfiniBox
from infinisdk.core.exceptions import APICommandFailed

from ibox_sim.server import SimulatorServer
from tests.integration.sim.conftest import admin, advance, connect


def _logins(server: SimulatorServer, since: int) -> int:
    log = admin(server, "GET", f"/_sim/requests?since={since}")
    return sum(1 for entry in log if entry["path"] == "/api/rest/users/login" and entry["status"] == 200)


def _last_seq(server: SimulatorServer) -> int:
    log = admin(server, "GET", "/_sim/requests")
    return int(log[-1]["seq"]) if log else 0


def test_missing_objects_are_404(ibox1: InfiniBox) -> None:
    for collection, code in (
        (ibox1.volumes, "VOLUME_NOT_FOUND"),
        (ibox1.pools, "POOL_NOT_FOUND"),
        (ibox1.cons_groups, "CG_NOT_FOUND"),
        (ibox1.replicas, "REPLICA_NOT_FOUND"),
        (ibox1.links, "LINK_NOT_FOUND"),
    ):
        with pytest.raises(APICommandFailed) as missing:
            collection.get_by_id_lazy(424242).get_field("id", from_cache=False)
        assert (missing.value.status_code, missing.value.error_code) == (404, code)
        assert not collection.get_by_id_lazy(424242).is_in_system()


def test_replicating_twice_is_a_conflict(ibox1: InfiniBox, ibox2: InfiniBox) -> None:
    pool, remote_pool = ibox1.pools.create(), ibox2.pools.create()
    link = ibox1.links.get(name="to-ibox-2")
    volume = ibox1.volumes.create(pool=pool)
    ibox1.replicas.replicate_entity(volume, link=link, remote_pool=remote_pool)
    with pytest.raises(APICommandFailed) as twice:
        ibox1.replicas.replicate_entity(volume, link=link, remote_pool=remote_pool)
    assert (twice.value.status_code, twice.value.error_code) == (409, "ENTITY_ALREADY_REPLICATED")
    with pytest.raises(APICommandFailed) as replicated:
        volume.delete()
    assert replicated.value.status_code == 409
    assert ibox1.replicas.count() == 1
    assert ibox2.replicas.count() == 1


def test_bad_requests_are_400(ibox1: InfiniBox) -> None:
    link = ibox1.links.get(name="to-ibox-2")
    with pytest.raises(APICommandFailed) as bad:
        ibox1.api.post("replicas", data={"link_id": link.id, "entity_pairs": "not-a-list"})
    assert (bad.value.status_code, bad.value.error_code) == (400, "INVALID_VALUE")
    with pytest.raises(APICommandFailed) as unknown:
        ibox1.api.get("volumes?evilmonkey=true")
    assert (unknown.value.status_code, unknown.value.error_code) == (400, "UNKNOWN_PARAMETER")
    with pytest.raises(APICommandFailed) as missing_link:
        ibox1.api.post("replicas", data={"link_id": 999, "entity_pairs": []})
    assert (missing_link.value.status_code, missing_link.value.error_code) == (404, "LINK_NOT_FOUND")


def test_target_side_calls_are_refused(ibox1: InfiniBox, ibox2: InfiniBox, server: SimulatorServer) -> None:
    replica = ibox1.replicas.replicate_entity(
        ibox1.volumes.create(pool=ibox1.pools.create()),
        link=ibox1.links.get(name="to-ibox-2"),
        remote_pool=ibox2.pools.create(),
    )
    advance(server, 10)
    remote = ibox2.replicas.get_by_id(replica.get_remote_replica_id())
    with pytest.raises(APICommandFailed) as refused:
        ibox2.api.post(f"replicas/{remote.id}/suspend")
    assert refused.value.error_code == "OPERATION_NOT_ALLOWED_ON_TARGET"
    with pytest.raises(APICommandFailed) as refused_delete:
        remote.delete()
    assert refused_delete.value.error_code == "OPERATION_NOT_ALLOWED_ON_TARGET"
    remote.delete(force_on_target=True)
    assert ibox2.replicas.count() == 0
    assert replica.is_auto_suspended()  # its peer is gone
    assert replica.get_state_reason() == "REMOTE_REPLICA_MISSING"
    replica.delete()
    assert ibox1.replicas.count() == 0


def test_delete_retaining_the_staging_area(
    ibox1: InfiniBox, ibox2: InfiniBox, server: SimulatorServer
) -> None:
    volume = ibox1.volumes.create(pool=ibox1.pools.create())
    replica = ibox1.replicas.replicate_entity(
        volume, link=ibox1.links.get(name="to-ibox-2"), remote_pool=ibox2.pools.create()
    )
    ibox1.register_related_system(ibox2)
    advance(server, 10)
    local, remote = replica.delete(retain_staging_area=True)
    assert local is not None
    assert local.get_parent() == volume
    assert remote is not None
    assert remote.system is ibox2


def test_queries_through_the_sdk(ibox1: InfiniBox) -> None:
    pool = ibox1.pools.create()
    volumes = [ibox1.volumes.create(pool=pool, name=f"q-{n}", size=(n + 1) * GB) for n in range(6)]
    assert ibox1.volumes.get(name="q-3") == volumes[3]
    assert ibox1.volumes.safe_get(name="nope") is None
    assert ibox1.volumes.get_by_id(volumes[0].id) == volumes[0]
    big = ibox1.volumes.find(ibox1.volumes.fields.size >= 4 * GB).to_list()
    assert big == volumes[3:]
    assert ibox1.volumes.find(ibox1.volumes.fields.name.like("q-")).count() == 6
    assert ibox1.volumes.find(cg_id=None).count() == 6
    assert ibox1.volumes.find(rmr_source=False).count() == 6  # sent as the text False
    page = ibox1.volumes.find().sort(-ibox1.volumes.fields.size).page(2).page_size(2).to_list()
    assert page == [volumes[3], volumes[2]]
    light = ibox1.volumes.find(name="q-1").only_fields(["size"]).to_list()
    assert light == [volumes[1]]
    assert light[0].get_size(from_cache=True) == 2 * GB


def test_many_objects_page_through(ibox1: InfiniBox, server: SimulatorServer) -> None:
    pool = ibox1.pools.create()
    with server.sim.lock:  # fast set-up straight in the model, then announced as a change
        system = server.sim.world.systems["ibox-1"]
        from ibox_sim.context import Ctx
        from ibox_sim.objects import create_dataset

        ctx = Ctx(server.sim.world, system, server.clock.now())
        for n in range(120):
            create_dataset(ctx, "VOLUME", {"name": f"bulk-{n}", "size": 10**9, "pool_id": pool.id})
        server.sim.changed()
    names = [v.get_name(from_cache=True) for v in ibox1.volumes.find(pool_id=pool.id)]
    assert names == [f"bulk-{n}" for n in range(120)]


def test_wrong_password_is_refused(server: SimulatorServer) -> None:
    with pytest.raises(APICommandFailed) as refused:
        connect(server, "ibox-1", auth=("admin", "wrong"))
    assert refused.value.status_code == 401


def test_sdk_logs_in_again_after_sessions_expire(ibox1: InfiniBox, server: SimulatorServer) -> None:
    seq = _last_seq(server)
    assert ibox1.pools.count() == 1
    assert _logins(server, seq) == 0

    admin(server, "DELETE", "/_sim/sessions")
    assert ibox1.pools.count() == 1  # 401, login, retry
    assert _logins(server, seq) == 1

    admin(server, "PUT", "/_sim/config", {"session_ttl_seconds": 120})
    advance(server, 121)
    assert ibox1.get_name() == "ibox-1"
    assert ibox1.pools.count() == 1
    assert _logins(server, seq) == 2
