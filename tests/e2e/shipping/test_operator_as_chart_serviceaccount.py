"""Issue 7: the chart's RBAC is enough. The real operator runs with a token of the chart's own
ServiceAccount (no admin rights at all) through a whole Replica life: create, status, a type
change, delete; then a Replica of a claim and a group of the claims a selector picks (issue 17)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.shipping.helpers import Helm, operator_as_chart_account
from tests.support.arrays import SimArrays
from tests.support.kube import Cluster
from tests.support.operator import OperatorProcess
from tests.support.wait import wait_for


def _condition(body: dict[str, object], kind: str) -> dict[str, object]:
    for condition in (body.get("status") or {}).get("conditions") or []:  # type: ignore[attr-defined]
        if condition["type"] == kind:
            return dict(condition)
    return {}


@pytest.mark.usefixtures("crds", "volume_binder")
def test_operator_runs_a_replica_lifecycle_with_the_charts_serviceaccount(
    cluster: Cluster,
    kube_helm: Helm,
    namespace: str,
    release_name: str,
    tmp_path: Path,
    exclusive_operator: OperatorProcess,
) -> None:
    with operator_as_chart_account(
        kube_helm, cluster, release_name, namespace, tmp_path / "sa.kubeconfig"
    ) as running:
        identity = running.identity
        assert identity.whoami() == f"system:serviceaccount:{namespace}:{running.account}"
        assert not identity.can_i("create", "replicas.replication.infinibox.io", namespace=namespace)
        running.arrays.volume("ibox-1", "sa-vol")
        _lifecycle(cluster, running.arrays, namespace, release_name)
    log = running.log
    assert "Forbidden" not in log
    assert " 403" not in log
    assert "acquired the lease" in log


def _lifecycle(cluster: Cluster, arrays: SimArrays, namespace: str, prefix: str) -> None:
    source, target = f"{prefix}-src", f"{prefix}-dst"
    for name, system in ((source, "ibox-1"), (target, "ibox-2")):
        cluster.kubectl(
            "apply",
            "-f",
            "-",
            input=json.dumps(
                {
                    "apiVersion": "replication.infinibox.io/v1alpha1",
                    "kind": "InfiniBox",
                    "metadata": {"name": name},
                    "spec": {
                        "url": arrays.url(system),
                        "pollInterval": "1s",
                        "credentialsSecretRef": {"name": "creds", "namespace": namespace},
                    },
                }
            ),
        )
    cluster.kubectl(
        "apply",
        "-f",
        "-",
        input=json.dumps(
            {
                "apiVersion": "replication.infinibox.io/v1alpha1",
                "kind": "Replica",
                "metadata": {"name": "sa-vol", "namespace": namespace},
                "spec": {
                    "source": {"array": source, "volume": "sa-vol"},
                    "target": {"array": target, "pool": "pool-1"},
                },
            }
        ),
    )

    def replica() -> dict[str, object]:
        return dict(cluster.kubectl_json("-n", namespace, "get", "replica", "sa-vol"))

    def ready() -> dict[str, object] | None:
        body = replica()
        synchronized = (body.get("status") or {}).get("syncState") == "SYNCHRONIZED"  # type: ignore[union-attr]
        return body if synchronized and _condition(body, "Ready").get("status") == "True" else None

    body = wait_for(ready, timeout=60, interval=0.5, what="Ready as the chart's ServiceAccount")
    replica_id = body["status"]["replicaId"]  # type: ignore[index]
    assert _condition(dict(cluster.kubectl_json("get", "ibox", source)), "Connected")["status"] == "True"

    cluster.kubectl(
        "-n",
        namespace,
        "patch",
        "replica",
        "sa-vol",
        "--type=merge",
        "-p",
        '{"spec": {"replicationType": "SYNC"}}',
    )
    wait_for(
        lambda: (replica().get("status") or {}).get("replicationType") == "SYNC",  # type: ignore[union-attr]
        timeout=30,
        interval=0.5,
        what="the type change",
    )
    assert arrays.replica("ibox-1", replica_id)["replication_type"] == "SYNC"  # type: ignore[index]
    events = cluster.kubectl_json("-n", namespace, "get", "events")["items"]
    assert {"Created", "TypeChanged"} <= {event["reason"] for event in events}

    cluster.kubectl("-n", namespace, "delete", "replica", "sa-vol", "--timeout=60s")
    assert arrays.replica("ibox-1", replica_id) is None
    _claim_replica(cluster, arrays, namespace, source, target)
    for name in (source, target):
        cluster.kubectl("delete", "infiniboxes", name, "--timeout=60s")


def _claim_replica(cluster: Cluster, arrays: SimArrays, namespace: str, source: str, target: str) -> None:
    """A Replica of a claim: the chart's get on claims and PersistentVolumes is enough to resolve it."""
    claim, pv = "sa-data", f"pvc-{namespace}-sa"
    manifests = [
        *_bound_claim(arrays, namespace, claim, pv, "sa-claimed"),
        {
            "apiVersion": "replication.infinibox.io/v1alpha1",
            "kind": "Replica",
            "metadata": {"name": claim, "namespace": namespace},
            "spec": {
                "source": {"array": source, "persistentVolumeClaim": claim},
                "target": {"array": target, "pool": "pool-1"},
            },
        },
    ]
    cluster.kubectl("apply", "-f", "-", input="\n---\n".join(json.dumps(m) for m in manifests))
    try:

        def resolved() -> object:
            body = cluster.kubectl_json("-n", namespace, "get", "replica", claim)
            return ((body.get("status") or {}).get("resolvedSource") or {}).get(
                "entity"
            ) == "sa-claimed" and ((body.get("status") or {}).get("replicaId"))

        replica_id = wait_for(resolved, timeout=60, interval=0.5, what="the claim resolved and replicated")
        cluster.kubectl("-n", namespace, "delete", "replica", claim, "--timeout=60s")
        assert arrays.replica("ibox-1", int(str(replica_id))) is None
    finally:
        cluster.kubectl("delete", "pv", pv, "--wait=false", check=False)
    _claim_group(cluster, arrays, namespace, source, target)


def _bound_claim(
    arrays: SimArrays,
    namespace: str,
    claim: str,
    pv: str,
    volume_name: str,
    labels: dict[str, str] | None = None,
) -> list[dict[str, object]]:
    """A volume on ibox-1 and the CSI PV and claim for it, as the driver's provisioner makes them."""
    volume = arrays.volume("ibox-1", volume_name)
    return [
        {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": pv},
            "spec": {
                "capacity": {"storage": "1Gi"},
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": "ibox",
                "claimRef": {"kind": "PersistentVolumeClaim", "namespace": namespace, "name": claim},
                "csi": {"driver": "infinibox-csi-driver", "volumeHandle": f"{volume['id']}$$iscsi"},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": claim, "namespace": namespace, "labels": labels or {}},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
                "storageClassName": "ibox",
            },
        },
    ]


def _claim_group(cluster: Cluster, arrays: SimArrays, namespace: str, source: str, target: str) -> None:
    """A group of the claims a selector picks: the chart's list on claims is enough to find them,
    and the operator makes, replicates and deletes its own consistency group."""
    claim, pv = "sa-grouped", f"pvc-{namespace}-sa-g"
    made = _bound_claim(arrays, namespace, claim, pv, "sa-grouped", {"sa-group": "yes"})
    group = {
        "apiVersion": "replication.infinibox.io/v1alpha1",
        "kind": "ConsistencyGroupReplica",
        "metadata": {"name": "sa-group", "namespace": namespace},
        "spec": {
            "source": {
                "array": source,
                "persistentVolumeClaimSelector": {"matchLabels": {"sa-group": "yes"}},
            },
            "target": {"array": target, "pool": "pool-1"},
        },
    }
    cluster.kubectl("apply", "-f", "-", input="\n---\n".join(json.dumps(m) for m in (*made, group)))
    try:
        _group_lifecycle(cluster, arrays, namespace, claim)
    finally:
        cluster.kubectl("delete", "pv", pv, "--wait=false", check=False)


def _group_lifecycle(cluster: Cluster, arrays: SimArrays, namespace: str, claim: str) -> None:
    """The group made and replicated, then deleted with its owned consistency group."""

    def replicated() -> object:
        status = cluster.kubectl_json("-n", namespace, "get", "consistencygroupreplica", "sa-group").get(
            "status"
        )
        members = [m.get("persistentVolumeClaim") for m in (status or {}).get("members") or []]
        if members != [claim] or not (status or {}).get("replicaId"):
            raise AssertionError(f"status: {status}")
        return (status or {}).get("replicaId")

    replica_id = wait_for(replicated, timeout=60, interval=0.5, what="the selected claim's group replicated")
    replica = arrays.replica("ibox-1", int(str(replica_id)))
    assert replica is not None
    (owned,) = arrays.call("ibox-1", "GET", f"/cgs/{replica['local_entity_id']}/members")
    assert owned["name"] == "sa-grouped"
    cluster.kubectl("-n", namespace, "delete", "consistencygroupreplica", "sa-group", "--timeout=60s")
    assert arrays.replica("ibox-1", int(str(replica_id))) is None
    assert arrays.call("ibox-1", "GET", "/cgs", name=f"eq:{replica['local_cg_name']}") == []
