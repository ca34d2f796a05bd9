"""Issue 17's target claims under an adversary: a spec that names the application's own claim, a
kill between making the claim and making its PV, and a deletion while no operator runs. The operator
deletes only the claims it made, finishes a half-made pair without a second claim or PV, and carries
out a deletion it did not see happen (PV, claim and both replicas) when it comes back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml

from replica_operator.reconcile.volumes import TARGET_LABEL
from tests.integration.operator.conftest import Env, ProxiedOperator, is_true
from tests.integration.operator.test_claims import _apply, _claim, _csi_pv, _storage_class, claims
from tests.support.admission import deny_requests
from tests.support.kube import Cluster
from tests.support.operator import OperatorProcess
from tests.support.wait import wait_for

__all__ = ["claims"]  # the fixture, used by name


def _bound(cluster: Cluster, namespace: str, claim: str) -> dict[str, Any] | None:
    found = cluster.kubectl_json("-n", namespace, "get", "pvc", claim)
    return found if found.get("status", {}).get("phase") == "Bound" else None


def _event(cluster: Cluster, namespace: str, reason: str, about: str) -> dict[str, Any] | None:
    """The first Event of ``reason`` posted on the object named ``about``, if any yet."""
    events = cluster.kubectl_json("-n", namespace, "get", "events")["items"]
    found = [e for e in events if e["reason"] == reason and e["involvedObject"]["name"] == about]
    return found[0] if found else None


def _replica_with_target_claim(env: Env, name: str, target_claim: str, storage_class: str) -> None:
    """A SYNC Replica of volume ``name`` with a target claim and deletionPolicy Delete."""
    env.replica(
        name,
        volume=name,
        target={"persistentVolumeClaim": {"name": target_claim, "storageClassName": storage_class}},
        replicationType="SYNC",
        deletionPolicy="Delete",
    )


def _gone(cluster: Cluster, *resource: str) -> bool:
    return "NotFound" in cluster.kubectl("get", *resource, check=False).stderr


def test_a_target_claim_naming_the_applications_claim_is_refused_and_never_deleted(claims: Env) -> None:
    """A hostile or mistaken spec names an existing claim as its target claim, with deletionPolicy
    Delete. Before: the 409 on create was taken as "made", and deleting the Replica deleted the
    application's claim (its PV's reclaim policy Delete would then remove the data)."""
    env, cluster, ns = claims, claims.objects.cluster, claims.namespace
    app_claim, volume = env.name("app-data"), env.name("vol")
    app_volume = env.arrays.volume("ibox-1", app_claim)
    env.arrays.volume("ibox-1", volume)
    app_pv = f"pvc-{app_claim}"
    _apply(cluster, _claim(app_claim, ns), _csi_pv(app_pv, f"{app_volume['id']}$$iscsi", app_claim, ns))
    try:
        before = wait_for(
            lambda: _bound(cluster, ns, app_claim), timeout=60, what="the application's claim bound"
        )
        env.replica(
            volume,
            volume=volume,
            target={"persistentVolumeClaim": {"name": app_claim}},
            deletionPolicy="Delete",
        )
        event = wait_for(
            lambda: _event(cluster, ns, "ClaimConflict", volume), timeout=60, what="a ClaimConflict Event"
        )
        assert app_claim in event["message"]
        assert event["type"] == "Warning"
        status = env.objects.wait_status("replicas", volume, lambda s: is_true(s, "Ready"))
        assert "targetClaim" not in status  # replication goes on; no claim is reported as made
        made = env.objects.get("replicas", volume)
        assert made is not None
        assert _gone(cluster, "pv", f"iro-{made['metadata']['uid']}")  # nothing could bind to the app's claim

        env.objects.delete("replicas", volume)
        env.objects.wait_gone("replicas", volume, timeout=60)
        after = _bound(cluster, ns, app_claim)
        assert after is not None, "the application's claim was deleted"
        assert after["metadata"]["uid"] == before["metadata"]["uid"]
        assert after["spec"]["volumeName"] == app_pv
    finally:
        cluster.kubectl("-n", ns, "delete", "pvc", app_claim, "--wait=false", check=False)
        cluster.kubectl("delete", "pv", app_pv, "--wait=false", check=False)


def test_a_replica_deleted_while_no_operator_runs_loses_its_target_claim_and_replicas(
    claims: Env, operator: OperatorProcess
) -> None:
    env, cluster, ns = claims, claims.objects.cluster, claims.namespace
    storage_class = f"{env.prefix}-dr"
    _apply(cluster, _storage_class(storage_class))
    name = env.name("down")
    target_claim = f"{name}-dr"
    volume = env.arrays.volume("ibox-1", name)
    try:
        _replica_with_target_claim(env, name, target_claim, storage_class)
        status = env.objects.wait_status(
            "replicas", name, lambda s: is_true(s, "Ready") and s.get("targetClaim") is not None
        )
        pv = status["targetClaim"]["persistentVolume"]
        wait_for(lambda: _bound(cluster, ns, target_claim), timeout=60, what=f"{target_claim} bound")
        ids = (status["replicaId"], status["remoteReplicaId"])

        operator.kill()
        env.objects.delete("replicas", name)
        assert env.objects.get("replicas", name) is not None  # held by the finalizer for the operator
        assert _bound(cluster, ns, target_claim) is not None  # nothing acted meanwhile
        operator.start()

        env.objects.wait_gone("replicas", name, timeout=90)
        wait_for(lambda: _gone(cluster, "pv", pv), timeout=30, what=f"PV {pv} deleted")
        wait_for(
            lambda: _gone(cluster, "-n", ns, "pvc", target_claim), timeout=30, what="target claim deleted"
        )
        assert env.arrays.replica("ibox-1", ids[0]) is None
        assert env.arrays.replica("ibox-2", ids[1]) is None
        assert (
            env.arrays.call("ibox-1", "GET", f"/volumes/{volume['id']}")["id"] == volume["id"]
        )  # data stays
    finally:
        cluster.kubectl("delete", "storageclass", storage_class, "--wait=false", check=False)


def test_a_target_claim_in_another_namespace_needs_the_operators_leave(
    claims: Env, proxied_operator: ProxiedOperator
) -> None:
    """A tenant who may create Replicas in its namespace must not have claims made, with the
    operator's rights, in a namespace it cannot write: only --target-claim-namespace opens one."""
    env, cluster, ns = claims, claims.objects.cluster, claims.namespace
    other = f"{env.prefix}-dr"
    cluster.kubectl("create", "namespace", other)
    name = env.name("far")
    env.arrays.volume("ibox-1", name)
    try:
        env.replica(
            name,
            volume=name,
            target={"persistentVolumeClaim": {"name": name, "namespace": other}},
            replicationType="SYNC",
        )
        event = wait_for(
            lambda: _event(cluster, ns, "ClaimNamespaceNotAllowed", name),
            timeout=60,
            what="a ClaimNamespaceNotAllowed Event",
        )
        assert other in event["message"]
        env.objects.wait_status("replicas", name, lambda s: is_true(s, "Ready"))  # replication goes on
        assert _gone(cluster, "-n", other, "pvc", name)

        proxied_operator("--target-claim-namespace", other)
        wait_for(
            lambda: _bound(cluster, other, name), timeout=90, what=f"the claim made and bound in {other}"
        )
        status = env.objects.wait_status("replicas", name, lambda s: s.get("targetClaim") is not None)
        assert status["targetClaim"]["namespace"] == other
        env.objects.delete("replicas", name)
        env.objects.wait_gone("replicas", name, timeout=60)
        wait_for(lambda: _gone(cluster, "-n", other, "pvc", name), timeout=30, what="the far claim deleted")
    finally:
        cluster.kubectl("delete", "namespace", other, "--wait=false", check=False)


def _refuse_target_volumes(cluster: Cluster, name: str) -> Callable[[], None]:
    """A ValidatingAdmissionPolicy refusing every PV that carries the operator's target label, so a
    pass gets as far as the target claim and no further; returns its removal."""
    rule = {
        "apiGroups": [""],
        "apiVersions": ["v1"],
        "operations": ["CREATE"],
        "resources": ["persistentvolumes"],
    }
    labelled = f"has(object.metadata.labels) && '{TARGET_LABEL}' in object.metadata.labels"
    remove = deny_requests(cluster, name, rule, f"!({labelled})", "target PVs are refused by the test")
    probe = {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": f"{name}-probe", "labels": {TARGET_LABEL: "probe"}},
        "spec": {
            "capacity": {"storage": "1Gi"},
            "accessModes": ["ReadWriteOnce"],
            "hostPath": {"path": "/x"},
        },
    }

    def refused() -> bool:
        tried = cluster.kubectl(
            "create", "--dry-run=server", "-f", "-", input=yaml.safe_dump(probe), check=False
        )
        return "refused by the test" in tried.stderr

    wait_for(refused, timeout=30, what="the admission policy to refuse target PVs")
    return remove


def _labelled(cluster: Cluster, uid: str, kind: str, *namespace: str) -> list[dict[str, Any]]:
    """The ``kind`` objects the operator made for the object of ``uid`` (``-n ns`` for claims)."""
    return list(cluster.kubectl_json(*namespace, "get", kind, "-l", f"{TARGET_LABEL}={uid}")["items"])


def test_a_kill_between_the_target_claim_and_its_pv_ends_with_one_of_each_bound(
    claims: Env, operator: OperatorProcess
) -> None:
    """The worst moment for target claims: the claim is made, its PV is not (refused here by an
    admission policy) and the operator is SIGKILLed. After the restart the same claim (same uid) is
    bound to one PV made for it: no second claim, no second PV, no PV bound to nobody."""
    env, cluster, ns = claims, claims.objects.cluster, claims.namespace
    storage_class = f"{env.prefix}-dr"
    _apply(cluster, _storage_class(storage_class))
    name = env.name("gap")
    target_claim = f"{name}-dr"
    env.arrays.volume("ibox-1", name)
    remove = _refuse_target_volumes(cluster, f"refuse-pv-{ns}")
    try:
        _replica_with_target_claim(env, name, target_claim, storage_class)
        event = wait_for(
            lambda: _event(cluster, ns, "TargetClaimFailed", name),
            timeout=60,
            what="a TargetClaimFailed Event",
        )
        assert "refused by the test" in event["message"]
        operator.kill()
    finally:
        remove()
    uid = str((env.objects.get("replicas", name) or {})["metadata"]["uid"])
    [claim] = _labelled(cluster, uid, "pvc", "-n", ns)
    assert claim["metadata"]["name"] == target_claim
    assert claim["status"]["phase"] == "Pending"  # the gap: a claim with no PV
    assert _labelled(cluster, uid, "pv") == []

    operator.start()
    try:
        bound = wait_for(lambda: _bound(cluster, ns, target_claim), timeout=90, what=f"{target_claim} bound")
        assert bound["metadata"]["uid"] == claim["metadata"]["uid"]  # the same claim, not a new one
        [pv] = _labelled(cluster, uid, "pv")
        assert pv["spec"]["claimRef"]["uid"] == claim["metadata"]["uid"]
        assert bound["spec"]["volumeName"] == pv["metadata"]["name"]
        assert [c["metadata"]["name"] for c in _labelled(cluster, uid, "pvc", "-n", ns)] == [target_claim]
        status = env.objects.wait_status("replicas", name, lambda s: s.get("targetClaim") is not None)
        assert status["targetClaim"]["persistentVolume"] == pv["metadata"]["name"]
        env.objects.delete("replicas", name)
        env.objects.wait_gone("replicas", name, timeout=60)
        wait_for(lambda: _labelled(cluster, uid, "pv") == [], timeout=30, what="the target PV deleted")
    finally:
        cluster.kubectl("delete", "storageclass", storage_class, "--wait=false", check=False)
