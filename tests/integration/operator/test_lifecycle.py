"""Issue 6: each target mode and type, status true to the arrays, Events, and deletion policies."""

from __future__ import annotations

from tests.integration.operator.conftest import Env, condition_of, is_true
from tests.support.operator import OperatorProcess


def _ready(status: dict[str, object]) -> bool:
    return is_true(status, "Ready") and status.get("syncState") == "SYNCHRONIZED"


def test_async_volume_in_create_mode_goes_from_initializing_to_synchronized(env: Env) -> None:
    volume = env.name("vol")
    env.arrays.volume("ibox-1", volume)
    env.replica(volume, volume=volume, rpo="2m", syncInterval="30s")

    initializing = env.objects.wait_status("replicas", volume, lambda s: s.get("syncState") == "INITIALIZING")
    assert condition_of(initializing, "Ready")["reason"] == "Initializing"
    assert initializing["replicationType"] == "ASYNC"
    status = env.objects.wait_status("replicas", volume, _ready, what="Ready=True and SYNCHRONIZED")
    assert status["state"] == "ACTIVE"
    assert status["role"] == "SOURCE"
    assert status["rpo"] == "2m"
    assert status["syncInterval"] == "30s"
    assert is_true(status, "Synced")
    assert is_true(status, "Replicating")
    assert is_true(status, "RPOCompliant")
    assert status["currentSource"] == {"array": env.source, "entity": volume}
    assert status["currentTarget"]["array"] == env.target

    source = env.arrays.replica("ibox-1", status["replicaId"])
    assert source is not None
    assert source["replication_type"] == "ASYNC"
    assert source["rpo_value"] == 120_000
    assert source["sync_interval"] == 30_000
    assert f"k8s-uid={env.objects.get('replicas', volume)['metadata']['uid']}" in source["description"]
    target = env.arrays.replica("ibox-2", status["remoteReplicaId"])
    assert target is not None
    assert target["role"] == "TARGET"

    columns = env.objects.cluster.kubectl("-n", env.namespace, "get", "replicas").stdout.splitlines()
    assert columns[0].split() == ["NAME", "SOURCE", "TARGET", "TYPE", "STATE", "SYNC", "READY", "AGE"]
    assert columns[1].split()[1:7] == [env.source, env.target, "ASYNC", "ACTIVE", "SYNCHRONIZED", "True"]
    events = env.objects.cluster.kubectl("-n", env.namespace, "get", "events", "-o", "json").stdout
    assert '"reason": "Created"' in events
    assert '"reason": "Ready"' in events


def test_sync_filesystem_replica(env: Env) -> None:
    filesystem = env.name("fs")
    env.arrays.filesystem("ibox-1", filesystem)
    env.replica(filesystem, filesystem=filesystem, replicationType="SYNC")
    status = env.objects.wait_status("replicas", filesystem, _ready)
    assert status["replicationType"] == "SYNC"
    assert "rpo" not in status
    replica = env.arrays.replica("ibox-1", status["replicaId"])
    assert replica is not None
    assert (replica["entity_type"], replica["replication_type"]) == ("FILESYSTEM", "SYNC")
    assert condition_of(status, "RPOCompliant")["reason"] == "Synchronous"


def test_existing_target_mode(env: Env) -> None:
    volume, remote = env.name("vol"), env.name("vol-dr")
    env.arrays.volume("ibox-1", volume)
    existing = env.arrays.volume("ibox-2", remote)
    env.objects.apply(
        {
            "kind": "Replica",
            "metadata": {"name": volume, "namespace": env.namespace},
            "spec": {
                "source": {"array": env.source, "volume": volume},
                "target": {"array": env.target, "mode": "Existing", "name": remote},
            },
        }
    )
    status = env.objects.wait_status("replicas", volume, _ready)
    target = env.arrays.replica("ibox-2", status["remoteReplicaId"])
    assert target is not None
    assert target["local_entity_id"] == existing["id"]
    assert status["currentTarget"] == {"array": env.target, "entity": remote}


def test_base_snapshot_mode(env: Env) -> None:
    volume, remote = env.name("vol"), env.name("vol-dr")
    local = env.arrays.volume("ibox-1", volume)
    remote_volume = env.arrays.volume("ibox-2", remote)
    env.arrays.snapshot("ibox-1", local["id"], f"{volume}-base")
    env.arrays.snapshot("ibox-2", remote_volume["id"], f"{remote}-base")
    env.objects.apply(
        {
            "kind": "Replica",
            "metadata": {"name": volume, "namespace": env.namespace},
            "spec": {
                "source": {"array": env.source, "volume": volume},
                "target": {
                    "array": env.target,
                    "mode": "BaseSnapshot",
                    "baseSnapshot": {"local": f"{volume}-base", "remote": f"{remote}-base"},
                },
            },
        }
    )
    status = env.objects.wait_status("replicas", volume, _ready)
    source = env.arrays.replica("ibox-1", status["replicaId"])
    assert source is not None
    pair = source["entity_pairs"][0]
    assert (pair["local_base_action"], pair["remote_base_action"]) == ("BASE", "BASE")
    assert pair["remote_entity_id"] == remote_volume["id"]


def test_consistency_group_replica_reports_its_members(env: Env) -> None:
    group = env.name("cg")
    members = [env.name("m1"), env.name("m2")]
    env.arrays.consistency_group("ibox-1", group, members)
    env.objects.apply(
        {
            "kind": "ConsistencyGroupReplica",
            "metadata": {"name": group, "namespace": env.namespace},
            "spec": {
                "source": {"array": env.source, "consistencyGroup": group},
                "target": {"array": env.target, "pool": "pool-1"},
                "rpo": "1m",
            },
        }
    )
    status = env.objects.wait_status("consistencygroupreplicas", group, _ready)
    assert sorted(member["local"] for member in status["members"]) == sorted(members)
    assert all(member.get("remote") for member in status["members"])
    replica = env.arrays.replica("ibox-1", status["replicaId"])
    assert replica is not None
    assert replica["entity_type"] == "CONSISTENCY_GROUP"
    assert len(replica["entity_pairs"]) == 2


def test_suspend_and_resume(env: Env) -> None:
    volume = env.name("vol")
    env.arrays.volume("ibox-1", volume)
    env.replica(volume, volume=volume)
    status = env.objects.wait_status("replicas", volume, _ready)
    env.objects.patch("replicas", volume, {"spec": {"suspended": True}})
    status = env.objects.wait_status("replicas", volume, lambda s: s.get("state") == "SUSPENDED")
    assert condition_of(status, "Ready")["reason"] == "Suspended"
    assert is_true(status, "Ready")  # suspended as asked is not a failure
    assert not is_true(status, "Replicating")
    assert env.arrays.replica("ibox-1", status["replicaId"])["state"] == "SUSPENDED"  # type: ignore[index]
    env.objects.patch("replicas", volume, {"spec": {"suspended": False}})
    env.objects.wait_status(
        "replicas", volume, lambda s: s.get("state") == "ACTIVE" and is_true(s, "Replicating")
    )
    assert env.arrays.replica("ibox-1", status["replicaId"])["state"] == "ACTIVE"  # type: ignore[index]


def test_rpo_and_interval_updates_reach_the_array(env: Env) -> None:
    volume = env.name("vol")
    env.arrays.volume("ibox-1", volume)
    env.replica(volume, volume=volume, rpo="5m", syncInterval="1m")
    status = env.objects.wait_status("replicas", volume, _ready)
    env.objects.patch("replicas", volume, {"spec": {"rpo": "10m", "syncInterval": "2m"}})
    env.objects.wait_status(
        "replicas", volume, lambda s: s.get("rpo") == "10m" and s.get("syncInterval") == "2m"
    )
    replica = env.arrays.replica("ibox-1", status["replicaId"])
    assert replica is not None
    assert (replica["rpo_value"], replica["sync_interval"]) == (600_000, 120_000)


def test_a_shorter_rpo_without_interval_brings_the_interval_down(env: Env) -> None:
    """Created from rpo 5m the interval is 4m; rpo 2m alone would leave interval > rpo, which the
    simulator refuses (PUT /replicas: "must not exceed rpo_value"): the interval follows the rpo."""
    volume = env.name("vol")
    env.arrays.volume("ibox-1", volume)
    env.replica(volume, volume=volume, rpo="5m")
    status = env.objects.wait_status("replicas", volume, _ready)
    assert status["syncInterval"] == "4m"
    path = f"/replicas/{status['replicaId']}"
    answer = env.arrays._send("ibox-1", "PUT", path, {"rpo_value": 120_000}, {"approved": "true"})
    assert answer.status_code == 400, answer.text  # the array's rule the operator must respect
    env.objects.patch("replicas", volume, {"spec": {"rpo": "2m"}})
    status = env.objects.wait_status(
        "replicas",
        volume,
        lambda s: s.get("rpo") == "2m" and condition_of(s, "Synced").get("status") == "True",
    )
    assert status["syncInterval"] == "2m"
    replica = env.arrays.replica("ibox-1", status["replicaId"])
    assert replica is not None
    assert (replica["rpo_value"], replica["sync_interval"]) == (120_000, 120_000)


def test_delete_policy_removes_the_replica_on_both_arrays(env: Env) -> None:
    volume = env.name("vol")
    env.arrays.volume("ibox-1", volume)
    env.replica(volume, volume=volume)
    status = env.objects.wait_status("replicas", volume, lambda s: s.get("replicaId") is not None)
    assert (
        "replication.infinibox.io/finalizer" in env.objects.get("replicas", volume)["metadata"]["finalizers"]
    )  # type: ignore[index]
    target = env.arrays.replica("ibox-2", status["remoteReplicaId"])
    assert target is not None
    env.objects.delete("replicas", volume)
    env.objects.wait_gone("replicas", volume)
    assert env.arrays.replica("ibox-1", status["replicaId"]) is None
    assert env.arrays.replica("ibox-2", status["remoteReplicaId"]) is None
    # The data stays on both sides: the source volume and the target volume the replica created.
    assert env.arrays.call("ibox-1", "GET", "/volumes", name=f"eq:{volume}")
    assert env.arrays.call("ibox-2", "GET", f"/volumes/{target['local_entity_id']}")["name"] == volume


def test_orphan_policy_leaves_the_replica_running(env: Env) -> None:
    """Orphan objects carry the finalizer too (issue 14): a deletion made while no operator runs,
    or right after a flip to Orphan, is still seen and the replica left is named in an Event."""
    volume = env.name("vol")
    env.arrays.volume("ibox-1", volume)
    env.replica(volume, volume=volume, deletionPolicy="Orphan")
    status = env.objects.wait_status("replicas", volume, lambda s: s.get("replicaId") is not None)
    assert "replication.infinibox.io/finalizer" in (
        env.objects.get("replicas", volume)["metadata"].get("finalizers") or []  # type: ignore[index]
    )
    env.objects.delete("replicas", volume)
    env.objects.wait_gone("replicas", volume)
    replica = env.arrays.replica("ibox-1", status["replicaId"])
    assert replica is not None
    assert replica["state"] == "ACTIVE"


def test_orphan_objects_deleted_while_no_operator_runs_or_just_flipped_are_reported(
    env: Env, operator: OperatorProcess
) -> None:
    """Issue 14, found by the chaos suite: an Orphan object deleted while the operator was down,
    and one flipped from Orphan to Delete and deleted before the operator saw the flip, went
    without a word (no finalizer): their replicas stayed marked by a gone object, no Orphaned
    Event. Now both wait for the operator, which names each replica it leaves (or deletes it)."""
    names = [env.name("down"), env.name("flip")]
    ids = {}
    for name in names:
        env.arrays.volume("ibox-1", name)
        env.replica(name, volume=name, deletionPolicy="Orphan")
        ids[name] = env.objects.wait_status("replicas", name, lambda s: s.get("replicaId") is not None)[
            "replicaId"
        ]
    operator.kill()
    env.objects.patch("replicas", names[1], {"spec": {"deletionPolicy": "Delete"}})
    for name in names:
        env.objects.delete("replicas", name)
    assert all(env.objects.get("replicas", name) is not None for name in names)  # held for the operator
    operator.start()
    for name in names:
        env.objects.wait_gone("replicas", name, timeout=60)
    events = env.objects.cluster.kubectl_json("-n", env.namespace, "get", "events")["items"]
    orphaned = {e["involvedObject"]["name"]: e["message"] for e in events if e["reason"] == "Orphaned"}
    assert f"replica {ids[names[0]]} " in orphaned[names[0]]
    assert env.arrays.replica("ibox-1", ids[names[0]]) is not None  # Orphan: left, and said so
    # The flip was seen before the deletion was handled: Delete removes the replica.
    assert env.arrays.replica("ibox-1", ids[names[1]]) is None


def test_missing_volume_is_reported_and_recovers_when_it_appears(env: Env) -> None:
    volume = env.name("late")
    env.replica(volume, volume=volume)
    status = env.objects.wait_status(
        "replicas", volume, lambda s: condition_of(s, "Synced").get("reason") == "EntityNotFound"
    )
    assert volume in condition_of(status, "Synced")["message"]
    assert condition_of(status, "Ready")["status"] == "False"
    env.arrays.volume("ibox-1", volume)
    env.objects.wait_status("replicas", volume, _ready, timeout=60)
