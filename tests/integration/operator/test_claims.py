"""Issue 17: a Replica of a PersistentVolumeClaim, on PVs shaped as infinibox-csi-driver makes them
and claims bound by Kubernetes' own PV binder (kube-controller-manager)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.integration.operator.conftest import Env, condition_of, is_true
from tests.support.kube import Cluster
from tests.support.wait import wait_for

STORAGE_CLASS = "ibox-iscsi"


@pytest.fixture
def claims(env: Env, volume_binder: Cluster) -> Env:
    return env


def _csi_pv(
    name: str, handle: str, claim: str, namespace: str, driver: str = "infinibox-csi-driver"
) -> dict[str, Any]:
    """A PV as the CSI driver's provisioner writes it: volumeHandle, the StorageClass parameters as
    volumeAttributes, the driver's Secret refs, Delete (the StorageClass default), its claim."""
    protocol = handle.rsplit("$$", 1)[-1]
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name, "annotations": {"pv.kubernetes.io/provisioned-by": driver}},
        "spec": {
            "capacity": {"storage": "1Gi"},
            "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Delete",
            "storageClassName": STORAGE_CLASS,
            "claimRef": {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "namespace": namespace,
                "name": claim,
            },
            "csi": {
                "driver": driver,
                "volumeHandle": handle,
                "fsType": "xfs",
                "volumeAttributes": {
                    "pool_name": "pool-1",
                    "network_space": "iscsi1",
                    "storage_protocol": protocol,
                    "storage.kubernetes.io/csiProvisionerIdentity": "1700000000000-8081-infinibox-csi-driver",
                },
                "controllerPublishSecretRef": {"name": "infinibox-creds", "namespace": "infinibox"},
                "nodeStageSecretRef": {"name": "infinibox-creds", "namespace": "infinibox"},
                "nodePublishSecretRef": {"name": "infinibox-creds", "namespace": "infinibox"},
            },
        },
    }


def _claim(name: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}},
            "storageClassName": STORAGE_CLASS,
        },
    }


def _apply(cluster: Cluster, *manifests: dict[str, Any]) -> None:
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(manifests))


def _claim_replica(env: Env, name: str, claim: str) -> None:
    env.objects.apply(
        {
            "kind": "Replica",
            "metadata": {"name": name, "namespace": env.namespace},
            "spec": {
                "source": {"array": env.source, "persistentVolumeClaim": claim},
                "target": {"array": env.target, "pool": "pool-1"},
                "rpo": "2m",
                "syncInterval": "30s",
            },
        }
    )


def _synced_reason(env: Env, name: str, reason: str) -> dict[str, Any]:
    return env.objects.wait_status(
        "replicas", name, lambda s: condition_of(s, "Synced").get("reason") == reason, what=f"Synced {reason}"
    )


def _ready(status: dict[str, Any]) -> bool:
    return is_true(status, "Ready") and status.get("syncState") == "SYNCHRONIZED"


def test_claims_of_every_protocol_resolve_and_an_unbound_claim_waits(claims: Env) -> None:
    env, cluster = claims, claims.objects.cluster
    ns, pvs = env.namespace, []
    cases = {
        "iscsi": env.arrays.volume("ibox-1", env.name("blk")),
        "fc": env.arrays.volume("ibox-1", env.name("fc")),
        "nfs": env.arrays.filesystem("ibox-1", env.name("fs")),
    }
    for protocol, entity in cases.items():
        claim, pv = env.name(f"data-{protocol}"), f"pvc-{env.name(protocol)}"
        pvs.append(pv)
        _apply(cluster, _claim(claim, ns), _csi_pv(pv, f"{entity['id']}$${protocol}", claim, ns))
        _claim_replica(env, claim, claim)
    late = env.name("late")
    _apply(cluster, _claim(late, ns))
    _claim_replica(env, late, late)
    waiting = _synced_reason(env, late, "ClaimNotBound")
    assert late in condition_of(waiting, "Synced")["message"]
    assert "replicaId" not in waiting
    try:
        for protocol, entity in cases.items():
            status = env.objects.wait_status("replicas", env.name(f"data-{protocol}"), _ready)
            assert status["resolvedSource"] == {
                "persistentVolume": f"pvc-{env.name(protocol)}",
                "protocol": protocol,
                "entityId": entity["id"],
                "entity": entity["name"],
            }
            replica = env.arrays.replica("ibox-1", status["replicaId"])
            assert replica is not None
            assert replica["local_entity_id"] == entity["id"]
            assert replica["entity_type"] == ("FILESYSTEM" if protocol == "nfs" else "VOLUME")
        volume = env.arrays.volume("ibox-1", env.name("late"))
        pvs.append(f"pvc-{late}")
        _apply(cluster, _csi_pv(f"pvc-{late}", f"{volume['id']}$$iscsi", late, ns))
        status = env.objects.wait_status("replicas", late, _ready, what="the late claim's replica Ready")
        assert status["resolvedSource"]["entity"] == volume["name"]
    finally:
        cluster.kubectl("delete", "pv", *pvs, "--wait=false", check=False)


@pytest.mark.parametrize(
    ("case", "reason"),
    [("driver", "NotInfiniboxVolume"), ("treeq", "TreeqNotReplicable"), ("unknown", "EntityNotFound")],
)
def test_claims_that_name_nothing_replicable_are_refused(claims: Env, case: str, reason: str) -> None:
    env, cluster, ns = claims, claims.objects.cluster, claims.namespace
    filesystem = env.arrays.filesystem("ibox-1", env.name("fs"))
    handle, driver = {
        "driver": ("vol-0a1b2c", "ebs.csi.aws.com"),
        "treeq": (f"{filesystem['id']}#7$$nfs_treeq", "infinibox-csi-driver"),
        "unknown": ("987654321$$iscsi", "infinibox-csi-driver"),
    }[case]
    claim, pv = env.name("data"), f"pvc-{env.name(case)}"
    _apply(cluster, _claim(claim, ns), _csi_pv(pv, handle, claim, ns, driver=driver))
    try:
        _claim_replica(env, claim, claim)
        status = _synced_reason(env, claim, reason)
        assert condition_of(status, "Synced")["status"] == "False"
        assert claim in condition_of(status, "Synced")["message"]
        assert "replicaId" not in status

        def warned() -> bool:
            events = cluster.kubectl_json("-n", ns, "get", "events")["items"]
            return any(e["reason"] == reason and e["involvedObject"]["name"] == claim for e in events)

        wait_for(warned, timeout=30, what=f"a {reason} Event")
        assert filesystem["id"] not in env.arrays.replica_creates()  # nothing was sent to the array
    finally:
        cluster.kubectl("delete", "pv", pv, "--wait=false", check=False)


def _storage_class(name: str) -> dict[str, Any]:
    """The DR cluster's StorageClass of the driver for the target array, as its docs show one."""
    secret = {"name": "infinibox-dr-creds", "namespace": "infinibox"}
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": name},
        "provisioner": "infinibox-csi-driver",
        "reclaimPolicy": "Delete",
        "parameters": {
            "pool_name": "pool-1",
            "network_space": "iscsi-dr",
            "storage_protocol": "iscsi",
            **{
                f"csi.storage.k8s.io/{part}-secret-{key}": value
                for part in (
                    "provisioner",
                    "controller-publish",
                    "node-stage",
                    "node-publish",
                    "controller-expand",
                )
                for key, value in secret.items()
            },
        },
    }


def test_the_target_claim_is_bound_writable_after_a_switch_and_follows_deletion_policy(claims: Env) -> None:
    env, cluster, ns = claims, claims.objects.cluster, claims.namespace
    storage_class = f"{env.prefix}-dr"
    _apply(cluster, _storage_class(storage_class))
    made: list[tuple[str, str, str]] = []  # (replica, target claim, target PV)
    for policy in ("Delete", "Orphan"):
        claim = env.name(f"db-{policy.lower()}")
        entity = env.arrays.volume("ibox-1", claim)
        _apply(cluster, _claim(claim, ns), _csi_pv(f"pvc-{claim}", f"{entity['id']}$$iscsi", claim, ns))
        target_claim = f"{claim}-dr"
        env.objects.apply(
            {
                "kind": "Replica",
                "metadata": {"name": claim, "namespace": ns},
                "spec": {
                    "source": {"array": env.source, "persistentVolumeClaim": claim},
                    "target": {
                        "array": env.target,
                        "pool": "pool-1",
                        "persistentVolumeClaim": {"name": target_claim, "storageClassName": storage_class},
                    },
                    "replicationType": "SYNC",
                    "deletionPolicy": policy,
                },
            }
        )
        made.append((claim, target_claim, ""))
    try:
        for index, (claim, target_claim, _) in enumerate(made):
            status = env.objects.wait_status("replicas", claim, _ready)
            pv = status["targetClaim"]["persistentVolume"]
            made[index] = (claim, target_claim, pv)
            assert status["targetClaim"] == {"name": target_claim, "namespace": ns, "persistentVolume": pv}
            assert status["writableClaim"] == {
                "name": claim,
                "namespace": ns,
                "persistentVolume": f"pvc-{claim}",
            }
            remote = env.arrays.replica("ibox-2", status["remoteReplicaId"])
            assert remote is not None

            def bound(target_claim: str = target_claim) -> dict[str, Any] | None:
                found = cluster.kubectl_json("-n", ns, "get", "pvc", target_claim)
                return found if found.get("status", {}).get("phase") == "Bound" else None

            wait_for(bound, timeout=60, what=f"{target_claim} bound by the PV controller")
            volume = cluster.kubectl_json("get", "pv", pv)
            assert volume["spec"]["csi"]["volumeHandle"] == f"{remote['local_entity_id']}$$iscsi"
            assert volume["spec"]["csi"]["driver"] == "infinibox-csi-driver"
            assert volume["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
            assert volume["spec"]["csi"]["volumeAttributes"]["network_space"] == "iscsi-dr"
            assert volume["spec"]["csi"]["nodeStageSecretRef"] == {
                "name": "infinibox-dr-creds",
                "namespace": "infinibox",
            }
            assert volume["spec"]["claimRef"]["name"] == target_claim

        first, target_claim, _ = made[0]
        env.objects.patch("replicas", first, {"spec": {"action": {"id": "failover-1", "type": "SwitchRole"}}})
        switched = env.objects.wait_status(
            "replicas", first, lambda s: (s.get("writableClaim") or {}).get("name") == target_claim
        )
        assert switched["currentSource"]["array"] == env.target

        for claim, _, _ in made:
            env.objects.delete("replicas", claim)
            env.objects.wait_gone("replicas", claim)
        for resource in (("get", "pv", made[0][2]), ("-n", ns, "get", "pvc", made[0][1])):
            wait_for(
                lambda resource=resource: "NotFound" in cluster.kubectl(*resource, check=False).stderr,
                timeout=30,
                what=f"deletionPolicy Delete removed {resource[-1]}",
            )
        kept = cluster.kubectl_json("-n", ns, "get", "pvc", made[1][1])
        assert kept["status"]["phase"] == "Bound"  # Orphan: the claim stays for the application
    finally:
        volumes = [f"pvc-{claim}" for claim, _, _ in made] + [pv for _, _, pv in made if pv]
        cluster.kubectl("delete", "pv", *volumes, "--wait=false", check=False)
        cluster.kubectl("delete", "storageclass", storage_class, "--wait=false", check=False)


def test_a_group_gets_one_bound_target_claim_per_member_removed_with_it(claims: Env) -> None:
    env, cluster, ns = claims, claims.objects.cluster, claims.namespace
    group, members = env.name("cg"), [env.name("m1"), env.name("m2")]
    env.arrays.consistency_group("ibox-1", group, members)
    env.objects.apply(
        {
            "kind": "ConsistencyGroupReplica",
            "metadata": {"name": group, "namespace": ns},
            "spec": {
                "source": {"array": env.source, "consistencyGroup": group},
                "target": {
                    "array": env.target,
                    "pool": "pool-1",
                    "persistentVolumeClaim": {"name": "{member}-dr"},
                },
                "replicationType": "SYNC",
            },
        }
    )
    status = env.objects.wait_status(
        "consistencygroupreplicas",
        group,
        lambda s: len(s.get("targetClaims") or []) == 2,
        what="2 target claims",
    )
    by_claim = {ref["name"]: ref for ref in status["targetClaims"]}
    assert set(by_claim) == {f"{member}-dr" for member in members}
    remote_names = {member["local"]: member["remote"] for member in status["members"]}
    pvs = [ref["persistentVolume"] for ref in by_claim.values()]
    try:
        for member in members:
            claim = f"{member}-dr"

            def bound(claim: str = claim) -> bool:
                return (
                    cluster.kubectl_json("-n", ns, "get", "pvc", claim).get("status", {}).get("phase")
                    == "Bound"
                )

            wait_for(bound, timeout=60, what=f"{claim} bound")
            volume = cluster.kubectl_json("get", "pv", by_claim[claim]["persistentVolume"])
            (remote,) = env.arrays.call("ibox-2", "GET", "/volumes", name=f"eq:{remote_names[member]}")
            assert volume["spec"]["csi"]["volumeHandle"] == f"{remote['id']}$$iscsi"
        env.objects.delete("consistencygroupreplicas", group)
        env.objects.wait_gone("consistencygroupreplicas", group)
        for pv in pvs:
            wait_for(
                lambda pv=pv: "NotFound" in cluster.kubectl("get", "pv", pv, check=False).stderr,
                timeout=30,
                what=f"deletionPolicy Delete removed {pv}",
            )
    finally:
        cluster.kubectl("delete", "pv", *pvs, "--wait=false", check=False)


def test_a_local_claim_is_made_under_observe_only_and_writable_once_its_array_is_the_source(
    claims: Env,
) -> None:
    """spec.source.localClaim (issue 18): the DR side's object, naming its own array as source, gets
    a bound claim of its own volume; no array is changed for it; writable after the switch."""
    env, cluster, ns = claims, claims.objects.cluster, claims.namespace
    storage_class = f"{env.prefix}-local"
    _apply(cluster, _storage_class(storage_class))
    primary, observer, local = env.name("primary"), env.name("observer"), env.name("local")
    env.arrays.volume("ibox-1", primary)
    env.objects.apply(
        {
            "kind": "Replica",
            "metadata": {"name": primary, "namespace": ns},
            "spec": {
                "source": {"array": env.source, "volume": primary},
                "target": {"array": env.target, "pool": "pool-1"},
                "replicationType": "SYNC",
                "deletionPolicy": "Orphan",
            },
        }
    )
    status = env.objects.wait_status("replicas", primary, _ready)
    remote = env.arrays.replica("ibox-2", status["remoteReplicaId"])
    assert remote is not None
    log = env.arrays.requests()
    mark = int(log[-1]["seq"]) if log else 0
    env.objects.apply(
        {
            "kind": "Replica",
            "metadata": {"name": observer, "namespace": ns},
            "spec": {
                "source": {
                    "array": env.target,
                    "volume": status["currentTarget"]["entity"],
                    "localClaim": {"name": local, "storageClassName": storage_class},
                },
                "target": {"array": env.source, "mode": "Existing", "name": primary},
                "replicationType": "SYNC",
                "managementPolicy": "ObserveOnly",
            },
        }
    )
    pv = ""
    try:
        seen = env.objects.wait_status(
            "replicas", observer, lambda s: bool(s.get("localClaim")) and s.get("role") == "TARGET"
        )
        pv = seen["localClaim"]["persistentVolume"]
        assert seen["localClaim"] == {"name": local, "namespace": ns, "persistentVolume": pv}
        wait_for(
            lambda: (
                cluster.kubectl_json("-n", ns, "get", "pvc", local).get("status", {}).get("phase") == "Bound"
            ),
            timeout=60,
            what=f"{local} bound by the PV controller",
        )
        volume = cluster.kubectl_json("get", "pv", pv)
        assert volume["spec"]["csi"]["volumeHandle"] == f"{remote['local_entity_id']}$$iscsi"
        assert volume["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
        assert volume["spec"]["csi"]["volumeAttributes"]["network_space"] == "iscsi-dr"
        assert env.objects.get("replicas", observer)["status"].get("writableClaim") is None  # type: ignore[index]
        changed = [
            r for r in env.arrays.requests(mark) if r["method"] != "GET" and "/users/login" not in r["path"]
        ]
        assert changed == [], changed  # ObserveOnly: the claim is a Kubernetes write only

        env.objects.patch("replicas", primary, {"spec": {"action": {"id": "switch-1", "type": "SwitchRole"}}})
        switched = env.objects.wait_status(
            "replicas", observer, lambda s: (s.get("writableClaim") or {}).get("name") == local, timeout=60
        )
        assert switched["role"] == "SOURCE"
        # An ObserveOnly object has no finalizer: deleting it leaves its claim and PV.
        env.objects.delete("replicas", observer)
        env.objects.wait_gone("replicas", observer)
        assert cluster.kubectl_json("-n", ns, "get", "pvc", local)["status"]["phase"] == "Bound"
    finally:
        cluster.kubectl("-n", ns, "delete", "pvc", local, "--wait=false", check=False)
        if pv:
            cluster.kubectl("delete", "pv", pv, "--wait=false", check=False)
        cluster.kubectl("delete", "storageclass", storage_class, "--wait=false", check=False)


def test_an_nfs_target_claim_mounts_an_export_of_the_remote_filesystem_and_waits_for_one(claims: Env) -> None:
    """A filesystem's target claim carries what the driver mounts, <ipAddress>:<volPathd>: an address
    of the StorageClass's network_space and the path of an export of the remote filesystem."""
    env, cluster, ns = claims, claims.objects.cluster, claims.namespace
    storage_class = f"{env.prefix}-nfs"
    nfs_class = _storage_class(storage_class)
    nas = f"{env.prefix}-nas"  # the simulator is shared by the session: a name of its own
    nfs_class["parameters"].update(storage_protocol="nfs", network_space=nas)
    _apply(cluster, nfs_class)
    name, claim = env.name("files"), env.name("files-dr")
    env.arrays.filesystem("ibox-1", name)
    space = env.arrays.call("ibox-2", "POST", "/network/spaces", {"name": nas, "service": "NAS_SERVICE"})
    env.arrays.call("ibox-2", "POST", f"/network/spaces/{space['id']}/ips", "10.9.0.7")
    env.objects.apply(
        {
            "kind": "Replica",
            "metadata": {"name": name, "namespace": ns},
            "spec": {
                "source": {"array": env.source, "filesystem": name},
                "target": {
                    "array": env.target,
                    "pool": "pool-1",
                    "persistentVolumeClaim": {"name": claim, "storageClassName": storage_class},
                },
                "replicationType": "SYNC",
                "deletionPolicy": "Delete",
            },
        }
    )
    pv = f"iro-{env.objects.get('replicas', name)['metadata']['uid']}"  # type: ignore[index]
    try:
        status = env.objects.wait_status("replicas", name, _ready)
        remote = env.arrays.replica("ibox-2", status["remoteReplicaId"])
        assert remote is not None
        filesystem_id = remote["local_entity_id"]

        def warned() -> bool:
            events = cluster.kubectl_json(
                "-n", ns, "get", "events", "--field-selector", f"involvedObject.name={name}"
            )
            return any(e.get("reason") == "ExportNotFound" for e in events.get("items", []))

        wait_for(warned, timeout=60, what="the ExportNotFound warning")
        # Nothing else moves any more: only a pass that is not skipped as quiet can pick the export up.
        env.objects.wait_status("replicas", name, lambda s: s.get("syncState") == "SYNCHRONIZED", timeout=60)
        assert cluster.kubectl("get", "pv", pv, check=False).returncode != 0  # not made without an export
        export = env.arrays.call(
            "ibox-2", "POST", "/exports", {"filesystem_id": filesystem_id, "export_path": "/files"}
        )
        wait_for(
            lambda: cluster.kubectl("get", "pv", pv, check=False).returncode == 0,
            timeout=60,
            what="the target PV once the filesystem is exported",
        )
        csi = cluster.kubectl_json("get", "pv", pv)["spec"]["csi"]
        assert csi["volumeHandle"] == f"{filesystem_id}$$nfs"
        attributes = csi["volumeAttributes"]
        assert (attributes["ipAddress"], attributes["volPathd"]) == ("10.9.0.7", "/files")
        assert attributes["exportID"] == str(export["id"])
    finally:
        env.objects.delete("replicas", name)
        env.objects.wait_gone("replicas", name)
        cluster.kubectl("delete", "pv", pv, "--wait=false", "--ignore-not-found", check=False)
        cluster.kubectl("delete", "storageclass", storage_class, "--wait=false", check=False)
