"""The replication workflow driven by the vendor SDK (infinisdk) against the simulator over HTTP."""

from __future__ import annotations

import pytest
from infinisdk import InfiniBox
from infinisdk.core.exceptions import APICommandFailed

from ibox_sim.server import SimulatorServer
from tests.integration.sim.conftest import INITIAL_SYNC_SECONDS, admin, advance


def _setup(ibox1: InfiniBox, ibox2: InfiniBox):  # type: ignore[no-untyped-def]
    pool = ibox1.pools.create()
    remote_pool = ibox2.pools.create()
    link = ibox1.links.get(name="to-ibox-2")
    return pool, remote_pool, link


def test_login_reads_the_system(ibox1: InfiniBox, server: SimulatorServer) -> None:
    assert ibox1.get_name() == "ibox-1"
    assert ibox1.get_serial() == server.system("ibox-1").serial
    assert ibox1.compat.has_sync_replication()
    assert ibox1.compat.has_auth_sessions()
    assert ibox1.is_active()


def test_links_point_at_each_other(ibox1: InfiniBox, ibox2: InfiniBox) -> None:
    link = ibox1.links.get(name="to-ibox-2")
    assert link.is_up()
    assert link.get_remote_system_name() == "ibox-2"
    assert link.get_remote_system_serial_number() == ibox2.get_serial()
    remote = ibox2.links.get_by_id(link.get_remote_link_id())
    assert remote.get_name() == "to-ibox-1"
    assert remote.get_remote_link_id() == link.id
    ibox1.register_related_system(ibox2)
    assert link.get_linked_system() is ibox2


def test_async_volume_replica_full_cycle(ibox1: InfiniBox, ibox2: InfiniBox, server: SimulatorServer) -> None:
    pool, remote_pool, link = _setup(ibox1, ibox2)
    volume = ibox1.volumes.create(pool=pool)
    replica = ibox1.replicas.replicate_entity(volume, link=link, remote_pool=remote_pool)

    assert replica.is_type_async()
    assert replica.is_source()
    assert replica.get_sync_state(from_cache=False) == "INITIALIZING"
    assert replica.is_initial_replication()
    assert volume.is_rmr_source(from_cache=False)

    with pytest.raises(APICommandFailed) as refused:
        replica.change_type_to_sync()
    assert refused.value.status_code == 409
    assert refused.value.error_code == "REPLICA_IS_INITIALIZING"
    assert replica.is_type_async()

    advance(server, INITIAL_SYNC_SECONDS + 0.5)
    assert not replica.is_initial_replication()
    assert replica.get_sync_state(from_cache=False) in ("SYNCHRONIZED", "SYNC_IN_PROGRESS")
    assert replica.get_last_synchronized(from_cache=False) is not None

    replica.change_type_to_sync()
    assert replica.is_type_sync()
    replica.change_type_to_async(params={"rpo_value": 60_000, "sync_interval": 20_000})
    assert replica.is_type_async()
    assert replica.get_rpo().total_seconds() == 60
    assert replica.get_sync_interval().total_seconds() == 20

    remote = ibox2.replicas.get_by_id(replica.get_remote_replica_id())
    assert remote.is_target()
    assert remote.get_remote_replica_id() == replica.id
    assert remote.get_field("state") is None
    remote_volume = ibox2.volumes.get_by_id(remote.get_entity_pairs()[0]["local_entity_id"])
    assert remote_volume.is_rmr_target(from_cache=False)
    assert remote_volume.get_size() == volume.get_size()

    ibox1.register_related_system(ibox2)
    assert replica.get_remote_replica() == remote
    assert replica.get_remote_entity_pairs()[0]["local_entity_id"] == remote_volume.id

    replica.delete()
    assert ibox1.replicas.safe_get(id=replica.id) is None
    assert ibox2.replicas.safe_get(id=remote.id) is None
    assert not volume.is_rmr_source(from_cache=False)
    assert not remote_volume.is_rmr_target(from_cache=False)


def test_sync_replica_and_switch_role(ibox1: InfiniBox, ibox2: InfiniBox, server: SimulatorServer) -> None:
    pool, remote_pool, link = _setup(ibox1, ibox2)
    volume = ibox1.volumes.create(pool=pool)
    replica = ibox1.replicas.replicate_entity(
        volume, link=link, remote_pool=remote_pool, replication_type="SYNC"
    )
    assert replica.is_type_sync()
    with pytest.raises(APICommandFailed) as refused:
        replica.switch_role()
    assert refused.value.error_code == "REPLICA_IS_INITIALIZING"

    admin(server, "POST", f"/_sim/replicas/ibox-1/{replica.id}/complete-initialization")
    assert replica.is_synchronized()

    replica.switch_role()
    assert replica.is_target()
    remote = ibox2.replicas.get_by_id(replica.get_remote_replica_id())
    assert remote.is_source()
    assert remote.is_active()


def test_consistency_group_replica(ibox1: InfiniBox, ibox2: InfiniBox) -> None:
    pool, remote_pool, link = _setup(ibox1, ibox2)
    cg = ibox1.cons_groups.create(pool=pool)
    members = [ibox1.volumes.create(pool=pool) for _ in range(2)]
    for member in members:
        cg.add_member(member)
    assert cg.get_members().count() == 2

    replica = ibox1.replicas.replicate_cons_group(cg, link=link, remote_pool=remote_pool)
    assert replica.is_consistency_group()
    assert replica.get_local_cg() == cg
    assert len(replica.get_entity_pairs()) == 2
    assert cg.is_replicated(from_cache=False)
    assert [r.id for r in cg.get_replicas()] == [replica.id]

    remote_cg = ibox2.cons_groups.get_by_id(replica.get_remote_cg_id())
    assert remote_cg.get_members().count() == 2
    remote = ibox2.replicas.get_by_id(replica.get_remote_replica_id())
    assert remote.is_target()
    assert remote.get_local_cg_id() == remote_cg.id

    third = ibox1.volumes.create(pool=pool)
    cg.add_member(third)
    assert len(ibox1.replicas.get_by_id(replica.id).get_entity_pairs()) == 3
    assert remote_cg.get_members().count() == 3


def test_filesystem_replica(ibox1: InfiniBox, ibox2: InfiniBox) -> None:
    pool, remote_pool, link = _setup(ibox1, ibox2)
    fs = ibox1.filesystems.create(pool=pool)
    replica = ibox1.replicas.replicate_entity(fs, link=link, remote_pool=remote_pool)
    assert replica.is_filesystem()
    assert replica.get_local_filesystem() == fs
    assert fs.is_rmr_source(from_cache=False)
    sync = ibox1.replicas.replicate_entity(
        ibox1.filesystems.create(pool=pool), link=link, remote_pool=remote_pool, replication_type="SYNC"
    )
    assert sync.is_type_sync()


def test_sync_filesystems_can_be_refused_like_older_arrays(
    server: SimulatorServer, ibox1: InfiniBox, ibox2: InfiniBox
) -> None:
    pool, remote_pool, link = _setup(ibox1, ibox2)
    with server.sim.lock:
        server.sim.update_config({"sync_filesystems": False})
    with pytest.raises(APICommandFailed) as refused:
        ibox1.replicas.replicate_entity(
            ibox1.filesystems.create(pool=pool), link=link, remote_pool=remote_pool, replication_type="SYNC"
        )
    assert refused.value.status_code == 400
    assert "ASYNC only" in refused.value.message


def test_existing_target(ibox1: InfiniBox, ibox2: InfiniBox) -> None:
    pool, remote_pool, link = _setup(ibox1, ibox2)
    volume = ibox1.volumes.create(pool=pool)
    target = ibox2.volumes.create(pool=remote_pool, size=volume.get_size())
    replica = ibox1.replicas.replicate_entity(volume, link=link, remote_entity=target)
    pair = replica.get_entity_pairs()[0]
    assert pair["remote_entity_id"] == target.id
    assert pair["remote_base_action"] == "NO_BASE_DATA"
    assert target.is_rmr_target(from_cache=False)

    wrong_size = ibox2.volumes.create(pool=remote_pool, size=2 * volume.get_size())
    with pytest.raises(APICommandFailed) as refused:
        ibox1.replicas.replicate_entity(ibox1.volumes.create(pool=pool), link=link, remote_entity=wrong_size)
    assert (refused.value.status_code, refused.value.error_code) == (409, "SIZE_MISMATCH")


def test_base_snapshots_and_take_snap(ibox1: InfiniBox, ibox2: InfiniBox) -> None:
    pool, remote_pool, link = _setup(ibox1, ibox2)
    volume = ibox1.volumes.create(pool=pool)
    target = ibox2.volumes.create(pool=remote_pool, size=volume.get_size())
    local_snap, remote_snap = volume.create_snapshot(), target.create_snapshot()
    based = ibox1.replicas.replicate_entity_use_base(
        volume, link=link, local_snapshot=local_snap, remote_snapshot=remote_snap
    )
    pair = based.get_entity_pairs()[0]
    assert (pair["local_base_action"], pair["remote_base_action"]) == ("BASE", "BASE")
    assert (pair["local_base_entity_id"], pair["remote_base_entity_id"]) == (local_snap.id, remote_snap.id)

    other = ibox1.volumes.create(pool=pool)
    other_target = ibox2.volumes.create(pool=remote_pool, size=other.get_size())
    taken = ibox1.replicas.replicate_entity_take_snap(other, link=link, remote_entity=other_target)
    pair = taken.get_entity_pairs()[0]
    assert pair["remote_base_action"] == "TAKE_SNAP"
    base = ibox1.volumes.get_by_id(pair["local_base_entity_id"])
    assert base.get_parent() == other


def test_suspend_resume_and_sync(ibox1: InfiniBox, ibox2: InfiniBox, server: SimulatorServer) -> None:
    pool, remote_pool, link = _setup(ibox1, ibox2)
    replica = ibox1.replicas.replicate_entity(
        ibox1.volumes.create(pool=pool), link=link, remote_pool=remote_pool
    )
    replica.suspend()
    assert replica.is_user_suspended()
    with pytest.raises(APICommandFailed) as refused:
        replica.suspend()
    assert refused.value.error_code == "REPLICA_IS_SUSPENDED"
    replica.resume()
    assert replica.is_active()

    advance(server, INITIAL_SYNC_SECONDS + 0.5)
    replica.sync()
    assert replica.is_replicating()
    assert replica.get_sync_state(from_cache=False) == "SYNC_IN_PROGRESS"


def test_change_role_failover(ibox1: InfiniBox, ibox2: InfiniBox, server: SimulatorServer) -> None:
    pool, remote_pool, link = _setup(ibox1, ibox2)
    replica = ibox1.replicas.replicate_entity(
        ibox1.volumes.create(pool=pool), link=link, remote_pool=remote_pool
    )
    advance(server, INITIAL_SYNC_SECONDS + 0.5)
    remote = ibox2.replicas.get_by_id(replica.get_remote_replica_id())

    with pytest.raises(APICommandFailed) as refused:
        remote.change_role()
    assert refused.value.error_code == "REPLICA_NOT_SUSPENDED"

    replica.suspend()
    replica.change_role()
    remote.change_role()
    assert replica.is_target()
    assert remote.is_source()
    assert remote.is_user_suspended()
    remote.resume()
    assert remote.is_active()


def test_every_field_the_sdk_knows_is_served(ibox1: InfiniBox, ibox2: InfiniBox) -> None:
    """Full objects carry every field infinisdk declares for this system version and feature set."""
    pool, remote_pool, link = _setup(ibox1, ibox2)
    volume = ibox1.volumes.create(pool=pool)
    cg = ibox1.cons_groups.create(pool=pool)
    replica = ibox1.replicas.replicate_entity(volume, link=link, remote_pool=remote_pool)
    objects = {
        ibox1.volumes: f"volumes/{volume.id}",
        ibox1.filesystems: f"filesystems/{ibox1.filesystems.create(pool=pool).id}",
        ibox1.cons_groups: f"cgs/{cg.id}",
        ibox1.pools: f"pools/{pool.id}",
        ibox1.links: f"links/{link.id}",
        ibox1.replicas: f"replicas/{replica.id}",
        ibox1.network_spaces: f"network/spaces/{link.get_local_replication_network_space().id}",
    }
    for binder, path in objects.items():
        served = set(ibox1.api.get(path).get_result())
        declared = {
            field.api_name
            for field in binder.object_type.fields
            if ibox1.compat.is_feature_supported(field.feature_name)
        }
        assert declared - served == set(), binder.object_type.__name__


def test_expose_last_consistent_snapshot_on_the_target(
    ibox1: InfiniBox, ibox2: InfiniBox, server: SimulatorServer
) -> None:
    pool, remote_pool, link = _setup(ibox1, ibox2)
    replica = ibox1.replicas.replicate_entity(
        ibox1.volumes.create(pool=pool), link=link, remote_pool=remote_pool
    )
    remote = ibox2.replicas.get_by_id(replica.get_remote_replica_id())
    with pytest.raises(APICommandFailed) as early:
        remote.expose_last_consistent_snapshot()
    assert early.value.error_code == "REPLICA_IS_INITIALIZING"
    advance(server, INITIAL_SYNC_SECONDS + 1)
    snapshot = remote.expose_last_consistent_snapshot()
    assert snapshot is not None
    assert snapshot.system is ibox2
    assert snapshot.get_parent() == remote.get_local_entity()
