"""Issue 18: the two-site runbooks on two clusters, two operators and two arrays.

Each test has a pair of its own; the runbook command (``replica-operator dr``) performs every
step by patching the objects on the two sites, and the arrays are asserted after each runbook.
"""

from __future__ import annotations

import time

import httpx
from tests.e2e.dr.world import Sampler, Site, World, claim_of, observing, wait_gone, writable_claim
from tests.integration.operator.conftest import condition_of, is_true
from tests.support.wait import wait_for

ASYNC = {"replicationType": "ASYNC", "rpo": "1m", "syncInterval": "10s"}


def _pair(world: World, name: str) -> tuple[int, int]:
    """(replica id on ibox-1, replica id on ibox-2) once both sites report the pair."""
    a = world.a.objects.wait_status("replicas", name, observing("SOURCE"), timeout=60, what="site A")
    b = world.b.objects.wait_status("replicas", name, observing("TARGET"), timeout=60, what="site B")
    assert (a["replicaId"], a["remoteReplicaId"]) == (b["remoteReplicaId"], b["replicaId"])
    return int(a["replicaId"]), int(b["replicaId"])


def _claims_before_failover(world: World, name: str) -> None:
    """Site B's claim of its own volume exists and is bound, and is not the writable one; site A's
    application claim is."""
    target_id = int(world.arrays.call("ibox-2", "GET", "/volumes", name=f"eq:{name}")[0]["id"])
    wait_for(lambda: claim_of(world.b, name).get("status", {}).get("phase") == "Bound", timeout=60)
    local = world.b.objects.wait_status("replicas", name, lambda s: bool(s.get("localClaim")), timeout=60)
    pv = world.b.cluster.kubectl_json("get", "pv", local["localClaim"]["persistentVolume"])
    assert pv["spec"]["csi"]["volumeHandle"] == f"{target_id}$$iscsi"
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert claim_of(world.b, name)["spec"]["volumeName"] == pv["metadata"]["name"]
    assert writable_claim(world.b, name) is None, world.b.status(name)
    wait_for(lambda: writable_claim(world.a, name) == name, timeout=60, what="A's claim writable")


def _writable_on(world: World, site: Site, name: str) -> None:
    """``site``'s claim is the writable one; the other site reports none."""
    other = world.b if site is world.a else world.a
    assert writable_claim(site, name) == name, site.status(name)
    wait_for(lambda: writable_claim(other, name) is None, timeout=60, what=f"site {other.name} not writable")


def test_site_b_observes_the_pair_from_the_target_side(world: World) -> None:
    name = "observed"
    world.replica(name, **ASYNC)
    on_a, on_b = _pair(world, name)
    b = world.b.status(name)
    assert b["currentSource"] == {"array": "ibox-a", "entity": name}
    assert (b["state"], b["syncState"]) == ("ACTIVE", "SYNCHRONIZED"), b
    assert is_true(b, "Synced"), b  # the ObserveOnly spec matches the array: nothing Drifted
    metrics = world.b.operator.metrics()
    lag = [line for line in metrics.splitlines() if line.startswith("replica_operator_replica_lag_seconds{")]
    assert any(f'name="{name}"' in line for line in lag), lag
    assert world.on_array("ibox-2", on_b)["role"] == "TARGET"
    assert world.on_array("ibox-1", on_a)["role"] == "SOURCE"
    shown = world.dr("status", name).stdout
    lines = {line.split()[0]: line.split() for line in shown.splitlines()[1:]}
    assert lines["A"][1:4] == ["ibox-a", "Full", "SOURCE"], shown
    assert lines["B"][1:4] == ["ibox-b", "ObserveOnly", "TARGET"], shown
    for site in (world.a, world.b):
        wait_gone(site, name)


def test_planned_failover_to_b_and_failback_to_a(world: World) -> None:
    name = "planned"
    world.replica(name, claims=True, **ASYNC)
    on_a, on_b = _pair(world, name)
    _claims_before_failover(world, name)
    mark = world.mark()

    out = world.dr("failover", name, "--to", "B").stdout
    assert f"claim app/{name} is writable on site B" in out, out
    _writable_on(world, world.b, name)
    shown = world.dr("status", name).stdout
    claims = {line.split()[0]: line.split()[-1] for line in shown.splitlines()[1:]}
    assert claims == {"A": "-", "B": name}, shown
    steps = [line for line in out.splitlines() if line.startswith("site ")]
    assert [s.split(":")[1].split()[0] for s in steps] == [
        "spec.action",
        "replicationType",
        "spec.action",
        "managementPolicy",
        "take",
    ], out
    assert world.on_array("ibox-2", on_b)["role"] == "SOURCE"
    assert world.on_array("ibox-1", on_a)["role"] == "TARGET"
    b = world.b.objects.wait_status("replicas", name, observing("SOURCE"), timeout=60, what="B manages")
    assert condition_of(b, "Synced")["status"] == "True"
    # B applied its own spec: the pair is ASYNC again, with site B's rpo.
    wait_for(lambda: world.on_array("ibox-2", on_b)["replication_type"] == "ASYNC", timeout=60)
    a = world.a.objects.wait_status("replicas", name, observing("TARGET"), timeout=60, what="A observes")
    assert a["currentSource"] == {"array": "ibox-b", "entity": name}
    assert world.a.objects.get("replicas", name)["spec"]["managementPolicy"] == "ObserveOnly"  # type: ignore[index]
    # Both marks are site B's object's now; one switch, no replica created or deleted.
    owner = world.b.objects.get("replicas", name)["metadata"]["uid"]  # type: ignore[index]
    for system, replica_id in (("ibox-1", on_a), ("ibox-2", on_b)):
        assert owner in world.on_array(system, replica_id)["description"]
    assert len(world.mutations(mark, "switch_role")) == 1
    assert [
        r
        for r in world.mutations(mark, "/replicas")
        if r["method"] in ("POST", "DELETE") and r["path"].rstrip("/").endswith("/replicas")
    ] == []

    # The same command again: every step is already done, nothing is sent to the arrays.
    again = world.mark()
    world.dr("failover", name, "--to", "B")
    assert world.mutations(again, "switch_role") == []

    back = world.dr("failback", name).stdout
    assert f"claim app/{name} is writable on site A" in back, back
    _writable_on(world, world.a, name)
    world.a.objects.wait_status("replicas", name, observing("SOURCE"), timeout=60, what="A manages again")
    world.b.objects.wait_status("replicas", name, observing("TARGET"), timeout=60, what="B observes again")
    assert world.on_array("ibox-1", on_a)["role"] == "SOURCE"
    wait_for(lambda: world.on_array("ibox-1", on_a)["replication_type"] == "ASYNC", timeout=60)
    assert len(world.mutations(mark, "switch_role")) == 2
    world.remove(name)


def test_unplanned_failover_with_site_a_lost_then_site_a_returns(world: World) -> None:
    name = "unplanned"
    world.replica(name, claims=True, **ASYNC)
    on_a, on_b = _pair(world, name)
    _claims_before_failover(world, name)
    lost_at = world.lose_site_a()
    mark = world.mark()
    try:
        out = world.dr("failover", name, "--to", "B", "--unplanned").stdout
        writable = time.monotonic() - lost_at
        assert world.on_array("ibox-2", on_b)["role"] == "SOURCE"  # writable on B
        assert f"claim app/{name} is writable on site B" in out, out
        assert writable_claim(world.b, name) == name, world.b.status(name)
        assert claim_of(world.b, name)["status"]["phase"] == "Bound"
        print(f"\nsite A lost -> claim writable on B: {writable:.1f} s\n{out}")
        changes = world.mutations(mark, "change_role")
        assert [(r["system"], r["status"]) for r in changes] == [("ibox-2", 200)], changes
        b = world.b.status(name)
        assert b["role"] == "SOURCE"
        assert b["currentSource"] == {"array": "ibox-b", "entity": name}
    finally:
        world.restore_site_a()
    # Site A is back with its stale Full object: both arrays claim SOURCE. Reported on both sides,
    # never "fixed": no role call is sent by either operator.
    back = world.mark()
    world.b.objects.wait_status(
        "replicas", name, lambda s: condition_of(s, "Ready").get("reason") == "RoleConflict", timeout=60
    )
    assert world.on_array("ibox-1", on_a)["role"] == "SOURCE"
    returned = world.dr("return", name, "--site", "A", step_timeout=15, check=False)
    assert returned.returncode != 0, returned
    assert "TARGET again: not done within 15 s" in returned.stderr, returned.stderr
    world.a.objects.wait_status(
        "replicas", name, lambda s: condition_of(s, "Ready").get("reason") == "RoleConflict", timeout=60
    )
    assert world.mutations(back, "role") == []
    # The array administrator demotes the stale SOURCE on ibox-1 (docs/disaster-recovery.md);
    # the pair replicates from B to A again, from where it was: no initial sync, no new replica.
    world.arrays.call("ibox-1", "POST", f"/replicas/{on_a}/change_role")
    world.dr("return", name, "--site", "A")
    world.a.objects.wait_status("replicas", name, observing("TARGET"), timeout=60, what="A observes")
    replica = world.on_array("ibox-2", on_b)
    assert (replica["role"], replica["state"]) == ("SOURCE", "ACTIVE")
    assert replica["sync_state"] != "INITIALIZING"
    assert [
        r for r in world.arrays.requests(back) if r["method"] == "POST" and r["path"].endswith("/replicas")
    ] == []
    world.dr("failback", name)
    world.a.objects.wait_status("replicas", name, observing("SOURCE"), timeout=60, what="A manages again")
    assert world.on_array("ibox-1", on_a)["role"] == "SOURCE"
    _writable_on(world, world.a, name)
    world.remove(name)


def test_a_drill_on_site_b_tests_a_writable_snapshot_while_the_pair_keeps_replicating(world: World) -> None:
    name = "drilled"
    world.replica(name, **ASYNC)
    on_a, on_b = _pair(world, name)
    target_id = int(world.arrays.call("ibox-2", "GET", "/volumes", name=f"eq:{name}")[0]["id"])
    mark = world.mark()
    with Sampler(world, on_a) as sampler:
        started = time.monotonic()
        out = world.dr("drill", name, "--site", "B").stdout
        start_seconds = time.monotonic() - started
        drill = world.b.objects.get("replicadrills", f"{name}-drill")
        assert drill is not None
        status = drill["status"]
        snapshot = status["snapshot"]
        assert (snapshot["array"], snapshot["parent"]) == ("ibox-b", name), snapshot
        on_array = world.arrays.call("ibox-2", "GET", f"/volumes/{snapshot['id']}")
        assert (on_array["parent_id"], on_array["write_protected"]) == (target_id, False)
        claim = world.b.cluster.kubectl_json("-n", "app", "get", "pvc", status["persistentVolumeClaim"])
        volume = world.b.cluster.kubectl_json("get", "pv", status["persistentVolume"])
        assert claim["spec"]["volumeName"] == volume["metadata"]["name"]
        assert volume["spec"]["csi"] == {
            "driver": "infinibox-csi-driver",
            "volumeHandle": f"{snapshot['id']}$$iscsi",
        }
        assert volume["spec"]["claimRef"]["name"] == claim["metadata"]["name"], out
        wait_for(  # bound by Kubernetes' own PV controller
            lambda: (
                world.b.cluster.kubectl_json("-n", "app", "get", "pvc", claim["metadata"]["name"])
                .get("status", {})
                .get("phase")
                == "Bound"
            ),
            timeout=60,
            what="the drill's claim Bound",
        )
        # Site B's operator restarts: the drill is resumed and finds its snapshot, makes nothing twice.
        world.b.operator.kill()
        offset = len(world.b.operator.log())
        world.b.operator.start()
        wait_for(
            lambda: "Handler 'start_drill' succeeded" in world.b.operator.log()[offset:],
            timeout=60,
            what="the drill resumed",
        )
        # The test workload writes to the snapshot; the replica's own target stays protected.
        wrote = world.arrays.admin("POST", f"/_sim/volumes/ibox-2/{snapshot['id']}/write")
        assert wrote["writes"] == 1
        refused = httpx.post(
            f"{world.arrays.url('ibox-2')}/_sim/volumes/ibox-2/{target_id}/write", timeout=10
        )
        assert (refused.status_code, refused.json()["error"]["code"]) == (409, "WRITE_PROTECTED")

        started = time.monotonic()
        world.dr("drill", name, "--site", "B", "--end")
        end_seconds = time.monotonic() - started
    print(f"\ndrill start {start_seconds:.1f} s, end {end_seconds:.1f} s")
    gone = world.arrays.api("ibox-2").get(f"/volumes/{snapshot['id']}")
    assert gone.status_code == 404
    assert world.b.cluster.kubectl("get", "pv", status["persistentVolume"], check=False).returncode != 0
    assert (
        world.b.cluster.kubectl("-n", "app", "get", "pvc", claim["metadata"]["name"], check=False).returncode
        != 0
    )
    # The drill's only array calls: one snapshot made, the same snapshot deleted. Nothing else changed.
    changes = [
        (r["system"], r["method"], r["path"])
        for r in world.arrays.requests(mark)
        if r["method"] != "GET" and not r["path"].endswith("/users/login")
    ]
    assert changes == [
        ("ibox-2", "POST", "/api/rest/volumes"),
        ("ibox-2", "DELETE", f"/api/rest/volumes/{snapshot['id']}"),
    ], changes
    # Replicating throughout, as the array said every half second, and in RPO at the end.
    assert sampler.seen, "no sample taken"
    assert {state for state, _ in sampler.seen} == {"ACTIVE"}, sampler.seen
    assert "INITIALIZING" not in {sync for _, sync in sampler.seen}
    world.b.objects.wait_status("replicas", name, observing("TARGET"), timeout=30)
    assert world.on_array("ibox-2", on_b)["role"] == "TARGET"
    for site in (world.a, world.b):
        wait_gone(site, name)


def test_a_drill_of_a_group_snapshots_the_target_group_and_claims_every_member(world: World) -> None:
    name, members = "cgdrill", ["cgdrill-m1", "cgdrill-m2"]
    plural = "consistencygroupreplicas"
    b = world.group(name, members, replicationType="SYNC")
    on_a = int(world.a.objects.get(plural, name)["status"]["replicaId"])  # type: ignore[index]
    assert b["currentTarget"]["array"] == "ibox-b", b  # the drill snapshots site B's own group
    group = world.arrays.call("ibox-2", "GET", "/cgs", name=f"eq:{b['currentTarget']['entity']}")[0]
    targets = {m["id"]: m for m in world.arrays.call("ibox-2", "GET", f"/cgs/{group['id']}/members")}
    assert len(targets) == 2
    mark = world.mark()
    with Sampler(world, on_a) as sampler:
        started = time.monotonic()
        out = world.dr("--kind=ConsistencyGroupReplica", "drill", name, "--site", "B").stdout
        start_seconds = time.monotonic() - started
        status = world.b.objects.get("replicadrills", f"{name}-drill")["status"]  # type: ignore[index]
        assert is_true(status, "Ready"), status
        assert status["members"][0]["persistentVolumeClaim"] in out, out
        snapshot = status["snapshot"]
        sg = world.arrays.call("ibox-2", "GET", f"/cgs/{snapshot['id']}")
        assert (sg["parent_id"], snapshot["array"]) == (group["id"], "ibox-b"), (sg, snapshot)
        snaps = {m["id"]: m for m in world.arrays.call("ibox-2", "GET", f"/cgs/{sg['id']}/members")}
        assert {s["parent_id"] for s in snaps.values()} == set(targets)
        assert len(status["members"]) == 2
        for member in status["members"]:
            assert member["phase"] == "Bound", member  # Ready only once every claim is bound
            assert targets[snaps[member["snapshotId"]]["parent_id"]]["name"] == member["parent"]
            claim = world.b.cluster.kubectl_json("-n", "app", "get", "pvc", member["persistentVolumeClaim"])
            volume = world.b.cluster.kubectl_json("get", "pv", member["persistentVolume"])
            assert claim["status"]["phase"] == "Bound"
            assert claim["spec"]["volumeName"] == volume["metadata"]["name"]
            assert volume["spec"]["csi"]["volumeHandle"] == f"{member['snapshotId']}$$iscsi"
        # Site B's operator restarts: the drill finds its snapshot group by name, makes nothing twice.
        world.b.operator.kill()
        offset = len(world.b.operator.log())
        world.b.operator.start()
        wait_for(
            lambda: "Handler 'start_drill' succeeded" in world.b.operator.log()[offset:],
            timeout=60,
            what="the group drill resumed",
        )
        # The test workload writes to a member's snapshot; the group's own members stay protected.
        some = status["members"][0]
        wrote = world.arrays.admin("POST", f"/_sim/volumes/ibox-2/{some['snapshotId']}/write")
        assert wrote["writes"] == 1
        target_member = snaps[some["snapshotId"]]["parent_id"]
        refused = httpx.post(
            f"{world.arrays.url('ibox-2')}/_sim/volumes/ibox-2/{target_member}/write", timeout=10
        )
        assert (refused.status_code, refused.json()["error"]["code"]) == (409, "WRITE_PROTECTED")

        started = time.monotonic()
        world.b.objects.delete("replicadrills", f"{name}-drill")
        wait_for(
            lambda: world.b.objects.get("replicadrills", f"{name}-drill") is None,
            timeout=90,
            what="drill gone",
        )
        end_seconds = time.monotonic() - started
    print(f"\ngroup drill start {start_seconds:.1f} s, end {end_seconds:.1f} s")
    assert world.arrays.api("ibox-2").get(f"/cgs/{sg['id']}").status_code == 404
    for snap_id in snaps:
        assert world.arrays.api("ibox-2").get(f"/volumes/{snap_id}").status_code == 404
    for member in status["members"]:
        assert world.b.cluster.kubectl("get", "pv", member["persistentVolume"], check=False).returncode != 0
        claim = member["persistentVolumeClaim"]
        assert world.b.cluster.kubectl("-n", "app", "get", "pvc", claim, check=False).returncode != 0
    # The drill's only array changes: the snapshot group made, and deleted with its members.
    changes = [
        (r["system"], r["method"], r["path"])
        for r in world.arrays.requests(mark)
        if r["method"] != "GET" and not r["path"].endswith("/users/login")
    ]
    assert changes == [
        ("ibox-2", "POST", "/api/rest/cgs"),
        ("ibox-2", "DELETE", f"/api/rest/cgs/{sg['id']}"),
    ], changes
    assert sampler.seen, "no sample taken"
    assert {state for state, _ in sampler.seen} == {"ACTIVE"}, sampler.seen
    assert {m["id"] for m in world.arrays.call("ibox-2", "GET", f"/cgs/{group['id']}/members")} == set(
        targets
    )
    for site in (world.a, world.b):
        wait_gone(site, name, plural)


def test_a_drill_of_a_filesystem_exports_a_writable_snapshot_as_an_nfs_claim(world: World) -> None:
    name = "fsdrill"
    world.filesystem_replica(name, **ASYNC)
    on_a, _ = _pair(world, name)
    world.nas_space("ibox-2", "nas-b", "10.2.0.5")
    target_id = int(world.arrays.call("ibox-2", "GET", "/filesystems", name=f"eq:{name}")[0]["id"])
    mark = world.mark()
    drill = {
        "apiVersion": "replication.infinibox.io/v1alpha1",
        "kind": "ReplicaDrill",
        "metadata": {"name": f"{name}-drill", "namespace": "app"},
        "spec": {"replicaRef": {"name": name}, "claim": {"networkSpace": "nas-b"}},
    }
    with Sampler(world, on_a) as sampler:
        world.b.objects.apply(drill)
        status = world.b.objects.wait_status(
            "replicadrills", f"{name}-drill", lambda s: is_true(s, "Ready"), timeout=90, what="drill Ready"
        )
        snapshot, export = status["snapshot"], status["export"]
        on_array = world.arrays.call("ibox-2", "GET", f"/filesystems/{snapshot['id']}")
        assert (on_array["parent_id"], on_array["write_protected"]) == (target_id, False)
        exported = world.arrays.call("ibox-2", "GET", f"/exports/{export['id']}")
        assert (exported["filesystem_id"], exported["export_path"]) == (snapshot["id"], export["path"])
        volume = world.b.cluster.kubectl_json("get", "pv", status["persistentVolume"])
        assert volume["spec"]["csi"]["volumeHandle"] == f"{snapshot['id']}$$nfs"
        attributes = volume["spec"]["csi"]["volumeAttributes"]
        assert (attributes["ipAddress"], attributes["volPathd"]) == ("10.2.0.5", export["path"])
        assert attributes["exportID"] == str(export["id"])
        wait_for(
            lambda: (
                claim_of(world.b, status["persistentVolumeClaim"]).get("status", {}).get("phase") == "Bound"
            ),
            timeout=60,
            what="the drill's NFS claim Bound",
        )
        # A host writes to the snapshot over NFS; the replica's own target filesystem stays protected.
        wrote = world.arrays.admin("POST", f"/_sim/filesystems/ibox-2/{snapshot['id']}/write")
        assert wrote["writes"] == 1
        refused = httpx.post(
            f"{world.arrays.url('ibox-2')}/_sim/filesystems/ibox-2/{target_id}/write", timeout=10
        )
        assert (refused.status_code, refused.json()["error"]["code"]) == (409, "WRITE_PROTECTED")
        world.dr("drill", name, "--site", "B", "--end")
    assert world.arrays.api("ibox-2").get(f"/filesystems/{snapshot['id']}").status_code == 404
    assert world.arrays.api("ibox-2").get(f"/exports/{export['id']}").status_code == 404
    assert world.b.cluster.kubectl("get", "pv", status["persistentVolume"], check=False).returncode != 0
    changes = [
        (r["system"], r["method"], r["path"])
        for r in world.arrays.requests(mark)
        if r["method"] != "GET" and not r["path"].endswith("/users/login")
    ]
    assert changes == [
        ("ibox-2", "POST", "/api/rest/filesystems"),
        ("ibox-2", "POST", "/api/rest/exports"),
        ("ibox-2", "DELETE", f"/api/rest/exports/{export['id']}"),
        ("ibox-2", "DELETE", f"/api/rest/filesystems/{snapshot['id']}"),
    ], changes
    assert sampler.seen, "no sample taken"
    assert {state for state, _ in sampler.seen} == {"ACTIVE"}, sampler.seen
    for site in (world.a, world.b):
        wait_gone(site, name)
