"""Issue 17 item 2: a ConsistencyGroupReplica of the claims a label selector picks. The operator
makes and owns the group on the source array, replicates it, and keeps its members in line with
the claims (bound by Kubernetes' own PV binder) on both arrays."""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Any

import pytest

from ibox_sim.testing import RunningSimulator
from replica_operator.reconcile import OWNER_KEY, owned_group_name
from tests.integration.operator.conftest import Env, EnvFactory, condition_of, is_true
from tests.integration.operator.test_claims import _apply, _claim, _csi_pv, _storage_class
from tests.support.kube import Cluster
from tests.support.operator import OperatorProcess
from tests.support.wait import wait_for

PLURAL = "consistencygroupreplicas"
LABEL = "app.kubernetes.io/name"


@pytest.fixture
def claims(env: Env, volume_binder: Cluster) -> Env:
    return env


class World:
    """One test's claims, their PVs and the group object; everything made is removed at the end."""

    def __init__(self, env: Env) -> None:
        self.env, self.cluster, self.ns = env, env.objects.cluster, env.namespace
        self.app = env.name("db")
        self.pvs: list[str] = []

    def claim(
        self, suffix: str, *, protocol: str = "iscsi", bound: bool = True, labelled: bool = True
    ) -> str:
        """A claim (labelled for the selector unless told) and, if bound, its volume and CSI PV."""
        name = self.env.name(suffix)
        manifest = _claim(name, self.ns)
        if labelled:
            manifest["metadata"]["labels"] = {LABEL: self.app}
        _apply(self.cluster, manifest)
        if bound:
            self.bind(name, protocol)
        return name

    def bind(self, claim: str, protocol: str = "iscsi") -> dict[str, Any]:
        arrays = self.env.arrays
        entity = arrays.filesystem("ibox-1", claim) if protocol == "nfs" else arrays.volume("ibox-1", claim)
        pv = f"pvc-{claim}"
        self.pvs.append(pv)
        _apply(self.cluster, _csi_pv(pv, f"{entity['id']}$${protocol}", claim, self.ns))
        return entity

    def group_object(self, name: str, **spec: Any) -> str:
        self.env.objects.apply(
            {
                "kind": "ConsistencyGroupReplica",
                "metadata": {"name": name, "namespace": self.ns},
                "spec": {
                    "source": {
                        "array": self.env.source,
                        "persistentVolumeClaimSelector": {"matchLabels": {LABEL: self.app}},
                    },
                    "target": {"array": self.env.target, "pool": "pool-1", **spec.pop("target", {})},
                    "replicationType": "SYNC",
                    **spec,
                },
            }
        )
        return name

    def owned_name(self, name: str) -> str:
        body = self.env.objects.get(PLURAL, name)
        assert body is not None
        return owned_group_name(self.ns, name, body["metadata"]["uid"])

    def cg(self, system: str, name: str) -> dict[str, Any] | None:
        found = self.env.arrays.call(system, "GET", "/cgs", name=f"eq:{name}")
        return dict(found[0]) if found else None

    def members(self, system: str, cg_id: int) -> set[str]:
        return {m["name"] for m in self.env.arrays.call(system, "GET", f"/cgs/{cg_id}/members")}

    def close(self) -> None:
        if self.pvs:
            self.cluster.kubectl("delete", "pv", *self.pvs, "--wait=false", check=False)


def _reason(env: Env, name: str, reason: str, timeout: float = 30) -> dict[str, Any]:
    return env.objects.wait_status(
        PLURAL,
        name,
        lambda s: condition_of(s, "Synced").get("reason") == reason,
        timeout=timeout,
        what=reason,
    )


def _members_are(names: set[str]) -> Callable[[dict[str, Any]], bool]:
    def check(status: dict[str, Any]) -> bool:
        members = status.get("members") or []
        return is_true(status, "Ready") and {m.get("persistentVolumeClaim") for m in members} == names

    return check


def _gone(cluster: Cluster, *resource: str) -> None:
    wait_for(
        lambda: "NotFound" in cluster.kubectl(*resource, check=False).stderr,
        timeout=60,
        what=f"{resource[-1]} deleted",
    )


def test_labelled_claims_make_an_owned_group_that_follows_them_on_both_arrays(claims: Env) -> None:
    world, env = World(claims), claims
    cluster, ns = world.cluster, world.ns
    storage_class = f"{env.prefix}-dr"
    _apply(cluster, _storage_class(storage_class))
    try:
        first, second = world.claim("data-0"), world.claim("data-1")
        world.claim("other", labelled=False)  # same class, not selected
        late = world.claim("data-2", bound=False)
        name = world.group_object(
            env.name("orders"),
            target={"persistentVolumeClaim": {"name": "{member}-dr", "storageClassName": storage_class}},
        )
        waiting = _reason(env, name, "ClaimNotBound")
        assert late in condition_of(waiting, "Synced")["message"]
        assert world.cg("ibox-1", world.owned_name(name)) is None  # nothing made while a claim waits

        world.bind(late)
        status = env.objects.wait_status(PLURAL, name, _members_are({first, second, late}), timeout=60)
        group = world.cg("ibox-1", world.owned_name(name))
        assert group is not None
        assert world.members("ibox-1", group["id"]) == {first, second, late}
        mark = env.arrays.call("ibox-1", "GET", f"/metadata/{group['id']}/{OWNER_KEY}")["value"]
        assert f"k8s-uid={env.objects.get(PLURAL, name)['metadata']['uid']}" in mark  # type: ignore[index]
        remote = env.arrays.replica("ibox-2", status["remoteReplicaId"])
        assert remote is not None
        remote_cg = remote["local_cg_id"]
        assert world.members("ibox-2", remote_cg) == {m["remote"] for m in status["members"]}
        assert {m["local"] for m in status["members"]} == {first, second, late}

        # a new labelled claim joins, on both arrays; it gets its target claim
        joined = world.claim("data-3")
        status = env.objects.wait_status(
            PLURAL, name, _members_are({first, second, late, joined}), timeout=60
        )
        assert world.members("ibox-1", group["id"]) == {first, second, late, joined}
        assert len(world.members("ibox-2", remote_cg)) == 4
        wait_for(
            lambda: len(env.objects.get(PLURAL, name)["status"].get("targetClaims") or []) == 4,  # type: ignore[index]
            timeout=60,
            what="4 target claims",
        )
        by_claim = {ref["name"]: ref for ref in env.objects.get(PLURAL, name)["status"]["targetClaims"]}  # type: ignore[index]
        assert set(by_claim) == {f"{c}-dr" for c in (first, second, late, joined)}
        removed_pv = by_claim[f"{second}-dr"]["persistentVolume"]
        world.pvs.extend(ref["persistentVolume"] for ref in by_claim.values())

        # a deleted claim and an unlabelled one leave, on both arrays; the remote volumes stay
        cluster.kubectl("-n", ns, "delete", "pvc", second, "--wait=false")
        cluster.kubectl("-n", ns, "label", "pvc", joined, f"{LABEL}-")
        env.objects.wait_status(PLURAL, name, _members_are({first, late}), timeout=60)
        assert world.members("ibox-1", group["id"]) == {first, late}
        assert len(world.members("ibox-2", remote_cg)) == 2
        for left in (second, joined):
            (kept,) = env.arrays.call("ibox-2", "GET", "/volumes", name=f"eq:{left}")
            assert kept["cg_id"] is None
        _gone(cluster, "-n", ns, "get", "pvc", f"{second}-dr")  # its target claim goes (Delete)
        _gone(cluster, "get", "pv", removed_pv)

        def told() -> bool:
            events = cluster.kubectl_json("-n", ns, "get", "events")["items"]
            reasons = {e["reason"] for e in events if e["involvedObject"]["name"] == name}
            return {"MemberAdded", "MemberRemoved"} <= reasons

        wait_for(told, timeout=30, what="MemberAdded and MemberRemoved Events")

        # deletionPolicy Delete: the replica goes, then the owned group, never its volumes
        replica_id = status["replicaId"]
        env.objects.delete(PLURAL, name)
        env.objects.wait_gone(PLURAL, name, timeout=60)
        assert env.arrays.replica("ibox-1", replica_id) is None
        assert world.cg("ibox-1", group["name"]) is None
        for member in (first, late):
            (volume,) = env.arrays.call("ibox-1", "GET", "/volumes", name=f"eq:{member}")
            assert volume["cg_id"] is None
        # the target group replication made stays with its volumes, as for a consistencyGroup source
        assert len(world.members("ibox-2", remote_cg)) == 2
    finally:
        world.close()
        cluster.kubectl("delete", "storageclass", storage_class, "--wait=false", check=False)


def test_claims_of_mixed_protocols_are_refused_naming_them(claims: Env) -> None:
    world, env = World(claims), claims
    try:
        block, files = world.claim("blk"), world.claim("files", protocol="nfs")
        name = world.group_object(env.name("mixed"))
        status = _reason(env, name, "MixedProtocols")
        message = condition_of(status, "Synced")["message"]
        assert block in message
        assert files in message
        assert "replicaId" not in status
        assert world.cg("ibox-1", world.owned_name(name)) is None

        def warned() -> bool:
            events = world.cluster.kubectl_json("-n", world.ns, "get", "events")["items"]
            return any(
                (e["type"], e["reason"], e["involvedObject"]["name"]) == ("Warning", "MixedProtocols", name)
                for e in events
            )

        wait_for(warned, timeout=30, what="a MixedProtocols Warning")
    finally:
        world.close()


def test_a_group_of_that_name_not_marked_by_the_object_is_a_conflict_and_left_untouched(claims: Env) -> None:
    world, env = World(claims), claims
    try:
        name = world.group_object(env.name("taken"))
        waiting = _reason(env, name, "NoClaimsSelected")  # an empty selection waits: no empty group
        assert "replicaId" not in waiting
        owned = world.owned_name(name)
        assert world.cg("ibox-1", owned) is None
        foreign = env.arrays.consistency_group("ibox-1", owned, [env.name("theirs")])
        world.claim("data-0")
        status = _reason(env, name, "Conflict")
        assert owned in condition_of(status, "Synced")["message"]
        assert world.members("ibox-1", foreign["id"]) == {env.name("theirs")}
        assert env.arrays.call("ibox-1", "GET", f"/metadata/{foreign['id']}") == []
        assert env.arrays.replicas("ibox-1", local_cg_id=foreign["id"]) == []
        env.objects.delete(PLURAL, name)
        env.objects.wait_gone(PLURAL, name, timeout=60)
        assert world.cg("ibox-1", owned) is not None  # deletion leaves another's group alone
    finally:
        world.close()


def test_orphan_leaves_the_replica_and_the_group(claims: Env) -> None:
    world, env = World(claims), claims
    cluster, ns = world.cluster, world.ns
    try:
        first = world.claim("data-0")
        name = world.group_object(env.name("kept"), deletionPolicy="Orphan")
        status = env.objects.wait_status(PLURAL, name, _members_are({first}), timeout=60)
        owned = world.owned_name(name)
        env.objects.delete(PLURAL, name)
        env.objects.wait_gone(PLURAL, name, timeout=60)
        replica = env.arrays.replica("ibox-1", status["replicaId"])
        assert replica is not None
        group = world.cg("ibox-1", owned)
        assert group is not None
        assert world.members("ibox-1", group["id"]) == {first}

        def orphaned() -> bool:
            events = cluster.kubectl_json("-n", ns, "get", "events")["items"]
            return any(e["reason"] == "Orphaned" and e["involvedObject"]["name"] == name for e in events)

        wait_for(orphaned, timeout=30, what="an Orphaned Event")
        env.arrays.call("ibox-1", "DELETE", f"/replicas/{replica['id']}")  # the test's own clean-up
        env.arrays.call("ibox-1", "DELETE", f"/cgs/{group['id']}")
    finally:
        world.close()


def test_group_changes_whose_answers_are_lost_or_cut_by_a_restart_are_made_once(
    make_env: EnvFactory,
    private_simulator: Callable[..., RunningSimulator],
    volume_binder: Cluster,
    operator: OperatorProcess,
) -> None:
    """The array makes the group, marks it and adds each member, but every answer is lost: each
    pass re-reads the group and its members before acting, so nothing is made twice. Then the
    operator is killed while a member's addition is unanswered, and finishes the job after its
    restart."""
    env = make_env(private_simulator(initial_sync_seconds=1))
    world = World(env)
    lost = {
        "drop_rate": 1.0,
        "methods": ["POST", "PUT"],
        "path_regex": "^/api/rest/(cgs|metadata)",
        "phase": "after",
    }
    try:
        first, second = world.claim("data-0"), world.claim("data-1")
        env.arrays.admin("PUT", "/_sim/faults", lost)
        name = world.group_object(env.name("lossy"))
        owned = world.owned_name(name)

        def both_added() -> bool:
            group = world.cg("ibox-1", owned)
            return group is not None and world.members("ibox-1", group["id"]) == {first, second}

        wait_for(both_added, timeout=60, what="both members added although no answer came back")
        env.arrays.admin("DELETE", "/_sim/faults")
        status = env.objects.wait_status(PLURAL, name, _members_are({first, second}), timeout=60)
        assert len(env.arrays.call("ibox-1", "GET", "/cgs", name=f"eq:{owned}")) == 1
        changes = [
            r
            for r in env.arrays.requests()
            if r["method"] == "POST" and r["path"].startswith("/api/rest/cgs")
        ]
        # each made once, each answer lost (the client saw no status), none refused as a repeat
        assert [(r["path"].rsplit("/", 1)[-1], r["status"], r["array_status"]) for r in changes] == [
            ("cgs", 0, 200),
            ("members", 0, 200),
            ("members", 0, 200),
        ]

        slow = {"latency_ms": 30_000, "methods": ["POST"], "path_regex": "/members$", "phase": "after"}
        env.arrays.admin("PUT", "/_sim/faults", slow)
        third = world.claim("data-2")
        group = world.cg("ibox-1", owned)
        assert group is not None
        wait_for(lambda: third in world.members("ibox-1", group["id"]), timeout=30, what="the addition made")
        operator.kill()
        env.arrays.admin("DELETE", "/_sim/faults")
        operator.start()
        env.objects.wait_status(PLURAL, name, _members_are({first, second, third}), timeout=60)
        remote = env.arrays.replica("ibox-2", status["remoteReplicaId"])
        assert remote is not None
        assert len(world.members("ibox-2", remote["local_cg_id"])) == 3
    finally:
        env.arrays.admin("DELETE", "/_sim/faults")
        world.close()


def test_a_quiet_group_writes_nothing_and_reads_its_members_once_per_poll(
    make_env: EnvFactory, private_simulator: Callable[..., RunningSimulator], volume_binder: Cluster
) -> None:
    """Claims are not watched, so each poll looks at them; when nothing changed that costs reads
    (one per member volume, the group, its mark, its members) and no write of any kind."""
    env = make_env(private_simulator(initial_sync_seconds=0.5))
    world = World(env)
    try:
        names = {world.claim(f"d{n}") for n in range(3)}
        name = world.group_object(env.name("quiet"))
        env.objects.wait_status(PLURAL, name, _members_are(names), timeout=60)
        wait_for(
            lambda: (
                (env.objects.get(PLURAL, name) or {}).get("status", {}).get("syncState") == "SYNCHRONIZED"
            ),
            timeout=30,
            what="SYNCHRONIZED",
        )
        version = env.objects.get(PLURAL, name)["metadata"]["resourceVersion"]  # type: ignore[index]
        mark = env.arrays.requests()[-1]["seq"]

        def passes() -> list[dict[str, Any]] | None:
            seen = [r for r in env.arrays.requests(mark) if r["path"].startswith("/api/rest/metadata/")]
            return env.arrays.requests(mark) if len(seen) >= 4 else None

        window = wait_for(passes, timeout=30, interval=0.5, what="four passes")
        assert [r for r in window if r["method"] != "GET"] == []
        count = collections.Counter(r["path"].split("/")[3] for r in window if r["system"] == "ibox-1")
        marks = count["metadata"]
        # the window's edges may cut one pass
        assert abs(count["volumes"] - 3 * marks) <= 3
        assert abs(count["cgs"] - 2 * marks) <= 2
        assert env.objects.get(PLURAL, name)["metadata"]["resourceVersion"] == version  # type: ignore[index]
    finally:
        world.close()


def test_a_group_of_nfs_claims_holds_filesystems_and_its_target_claims_say_nfs(claims: Env) -> None:
    world, env = World(claims), claims
    cluster, ns = world.cluster, world.ns
    storage_class = f"{env.prefix}-dr"
    nfs_class = _storage_class(storage_class)
    nas = f"{env.prefix}-nas"  # the simulator is shared by the session: a name of its own
    nfs_class["parameters"].update(storage_protocol="nfs", network_space=nas)
    _apply(cluster, nfs_class)
    space = env.arrays.call("ibox-2", "POST", "/network/spaces", {"name": nas, "service": "NAS_SERVICE"})
    env.arrays.call("ibox-2", "POST", f"/network/spaces/{space['id']}/ips", "10.9.0.8")
    try:
        shares = {world.claim("share-0", protocol="nfs"), world.claim("share-1", protocol="nfs")}
        name = world.group_object(
            env.name("files"),
            target={"persistentVolumeClaim": {"name": "{member}-dr", "storageClassName": storage_class}},
            replicationType="ASYNC",
            rpo="2m",
            syncInterval="30s",
        )
        status = env.objects.wait_status(PLURAL, name, _members_are(shares), timeout=60)
        replica = env.arrays.replica("ibox-1", status["replicaId"])
        assert replica is not None
        assert replica["entity_type"] == "CONSISTENCY_GROUP"
        members = env.arrays.call("ibox-1", "GET", f"/cgs/{replica['local_cg_id']}/members")
        assert {m["dataset_type"] for m in members} == {"FILESYSTEM"}
        # An NFS claim mounts an export of the remote filesystem (the array admin's, not ours).
        remote_members = env.arrays.call("ibox-2", "GET", f"/cgs/{replica['remote_entity_id']}/members")
        for member in remote_members:
            export = {"filesystem_id": member["id"], "export_path": f"/{member['name']}"}
            env.arrays.call("ibox-2", "POST", "/exports", export)
        refs = wait_for(
            lambda: (
                len((env.objects.get(PLURAL, name) or {})["status"].get("targetClaims") or []) == 2
                and env.objects.get(PLURAL, name)["status"]["targetClaims"]
            ),  # type: ignore[index]
            timeout=60,
            what="2 target claims",
        )
        world.pvs.extend(ref["persistentVolume"] for ref in refs)
        for ref in refs:
            volume = cluster.kubectl_json("get", "pv", ref["persistentVolume"])
            share = ref["name"].removesuffix("-dr")
            (remote,) = env.arrays.call("ibox-2", "GET", "/filesystems", name=f"eq:{share}")
            assert volume["spec"]["csi"]["volumeHandle"] == f"{remote['id']}$$nfs"
            assert volume["spec"]["claimRef"] == {
                **volume["spec"]["claimRef"],
                "name": ref["name"],
                "namespace": ns,
            }
    finally:
        world.close()
        cluster.kubectl("delete", "storageclass", storage_class, "--wait=false", check=False)
