"""The chart's Deployment as real pods on a real kubelet: helm install, Ready Replica, upgrade, failover.

The node has only loopback networking, so the pods use the host network (chart value
``hostNetwork``) and reach the API server at its loopback address (``apiServer``), with their
ServiceAccount's projected token: no kubeconfig is in the image or the pod. On one host network
two pods of the Deployment cannot hold the same probe and metrics ports at once (the scheduler
keeps the second Pending: "didn't have free ports"), so the release runs one pod, and the
upgrade changes the ports: the new pod starts beside the old one as a standby, and the Lease
passes from the old pod to the new one as the rollout stops the old pod.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from controlplane.cluster import free_port
from controlplane.node import NodeControlPlane
from ibox_sim.testing import RunningSimulator, run_simulator
from replica_image.build import IMAGE_NAME, version
from tests.e2e.shipping.helpers import CHART, Helm, helm_binary, installed
from tests.support.arrays import SimArrays
from tests.support.credentials import PASSWORD
from tests.support.kube import Cluster
from tests.support.wait import wait_for

pytestmark = pytest.mark.timeout(1200)
NAMESPACE = "iro-system"
RELEASE = "iro"
DEPLOYMENT = "iro-infinibox-replica-operator"
LEASE = DEPLOYMENT
POD_TIMEOUT = 120


@pytest.fixture(scope="module")
def simulator() -> Iterator[RunningSimulator]:
    with run_simulator(2, initial_sync_seconds=1.0, password=PASSWORD) as sim:
        yield sim


def _ports() -> list[str]:
    """Free probe and metrics ports of the host network (the pods listen on the node's)."""
    return [f"--set=health.port={free_port()}", f"--set=metrics.port={free_port()}"]


def _values(plane: NodeControlPlane) -> list[str]:
    """What a cluster without pod or service network needs, and the image imported into containerd."""
    return [
        f"--set=image.repository={IMAGE_NAME}",
        f"--set=image.tag={version()}",
        "--set=image.pullPolicy=Never",
        "--set=replicaCount=1",
        "--set=hostNetwork=true",
        "--set=bindAddress=127.0.0.1",
        "--set=apiServer.host=127.0.0.1",
        f"--set=apiServer.port={plane.apiserver_port}",
        "--set=health.readinessProbe.initialDelaySeconds=1",
        "--set=health.readinessProbe.periodSeconds=2",
        "--wait",
        f"--timeout={POD_TIMEOUT}s",
    ]


def _pods(cluster: Cluster) -> list[dict[str, Any]]:
    listed = cluster.kubectl_json("-n", NAMESPACE, "get", "pods", "-l", "app.kubernetes.io/instance=iro")
    return [pod for pod in listed["items"] if not pod["metadata"].get("deletionTimestamp")]


def _ready_pod(cluster: Cluster, *, other_than: str = "") -> dict[str, Any]:
    """The one pod of the release, Running and Ready (its readiness probe passed), not ``other_than``."""

    def probe() -> dict[str, Any]:
        pods = [pod for pod in _pods(cluster) if pod["metadata"]["name"] != other_than]
        ready = [
            pod
            for pod in pods
            if pod["status"].get("phase") == "Running"
            and any(
                c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", [])
            )
        ]
        assert len(ready) == 1, json.dumps([pod["status"] for pod in pods])[-3000:]
        return ready[0]

    return wait_for(probe, timeout=POD_TIMEOUT, interval=1, what="the operator pod Ready")


def _lease_holder(cluster: Cluster) -> str:
    lease = cluster.kubectl_json("-n", NAMESPACE, "get", "lease", LEASE)
    return str(lease["spec"].get("holderIdentity") or "")


def _wait_leader(cluster: Cluster, pod: str) -> None:
    def holds() -> bool:
        holder = _lease_holder(cluster)
        assert holder == pod, f"Lease held by {holder!r}, not {pod}"
        return True

    wait_for(holds, timeout=60, interval=0.5, what=f"{pod} holds the Lease")


def _apply(cluster: Cluster, manifest: dict[str, Any]) -> None:
    cluster.kubectl("apply", "-f", "-", input=json.dumps(manifest))


def _condition(body: dict[str, Any], kind: str) -> str:
    conditions = (body.get("status") or {}).get("conditions") or []
    return next((str(c["status"]) for c in conditions if c["type"] == kind), "")


def _replica_ready(cluster: Cluster, arrays: SimArrays) -> int:
    """InfiniBox pair and a Replica applied with kubectl; Ready through the pod; its id on the array."""
    cluster.credentials_secret(NAMESPACE, "creds")
    for name, system in (("node-src", "ibox-1"), ("node-dst", "ibox-2")):
        spec = {"url": arrays.url(system), "pollInterval": "1s"}
        spec["credentialsSecretRef"] = {"name": "creds", "namespace": NAMESPACE}  # type: ignore[assignment]
        _apply(cluster, _manifest("InfiniBox", {"name": name}, spec))
    arrays.volume("ibox-1", "node-vol")
    spec = {
        "source": {"array": "node-src", "volume": "node-vol"},
        "target": {"array": "node-dst", "pool": "pool-1"},
    }
    _apply(cluster, _manifest("Replica", {"name": "node-vol", "namespace": NAMESPACE}, spec))

    def ready() -> dict[str, Any]:
        body = dict(cluster.kubectl_json("-n", NAMESPACE, "get", "replica", "node-vol"))
        assert _condition(body, "Ready") == "True", body.get("status")
        return body

    body = wait_for(ready, timeout=90, interval=0.5, what="the Replica Ready through the pod")
    return int(body["status"]["replicaId"])


def _manifest(kind: str, metadata: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "replication.infinibox.io/v1alpha1",
        "kind": kind,
        "metadata": metadata,
        "spec": spec,
    }


def _edit_reaches_array(cluster: Cluster, arrays: SimArrays, replica_id: int, replication_type: str) -> None:
    """A spec edit (the replication type) is carried out on the array by whoever leads now."""
    patch = json.dumps({"spec": {"replicationType": replication_type}})
    cluster.kubectl("-n", NAMESPACE, "patch", "replica", "node-vol", "--type=merge", "-p", patch)

    def applied() -> bool:
        replica = arrays.replica("ibox-1", replica_id) or {}
        status = cluster.kubectl_json("-n", NAMESPACE, "get", "replica", "node-vol").get("status")
        assert replica.get("replication_type") == replication_type, (replica, status)
        return True

    wait_for(applied, timeout=60, interval=0.5, what=f"{replication_type} on the array")


def _uses_serviceaccount_token(pod: dict[str, Any]) -> None:
    """In-cluster configuration only: the projected token, the loopback API server, no kubeconfig."""
    spec = pod["spec"]
    assert spec["serviceAccountName"] == DEPLOYMENT
    assert spec["hostNetwork"] is True
    (container,) = spec["containers"]
    mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
    assert "/var/run/secrets/kubernetes.io/serviceaccount" in mounts  # the admission plugin's token
    names = {env["name"] for env in container["env"]}
    assert "KUBECONFIG" not in names
    assert {"KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"} <= names
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert spec["securityContext"]["runAsUser"] == 65532


def test_chart_runs_on_a_real_node_and_hands_over(
    node_plane: NodeControlPlane, node_cluster: Cluster, simulator: RunningSimulator
) -> None:
    helm = Helm(helm_binary(), kubeconfig=node_plane.kubeconfig)
    arrays = SimArrays(simulator)
    values = _values(node_plane)
    try:
        with installed(helm, node_cluster, RELEASE, NAMESPACE, "--create-namespace", *values, *_ports()):
            first = _ready_pod(node_cluster)
            _uses_serviceaccount_token(first)
            _wait_leader(node_cluster, first["metadata"]["name"])
            replica_id = _replica_ready(node_cluster, arrays)

            # helm upgrade with new ports: a new pod beside the old one, then the Lease moves to it.
            upgrade = ["upgrade", RELEASE, str(CHART), f"--namespace={NAMESPACE}", *values, *_ports()]
            helm.run(*upgrade, timeout=POD_TIMEOUT + 30)
            second = _ready_pod(node_cluster, other_than=first["metadata"]["name"])
            assert second["metadata"]["name"] != first["metadata"]["name"]
            _wait_leader(node_cluster, second["metadata"]["name"])
            _edit_reaches_array(node_cluster, arrays, replica_id, "SYNC")

            # Deleting the leader pod: its replacement takes the Lease and carries on.
            node_cluster.kubectl("-n", NAMESPACE, "delete", "pod", second["metadata"]["name"], "--wait=false")
            third = _ready_pod(node_cluster, other_than=second["metadata"]["name"])
            _wait_leader(node_cluster, third["metadata"]["name"])
            _edit_reaches_array(node_cluster, arrays, replica_id, "ASYNC")
            _delete_replica(node_cluster)
    except BaseException:
        print(node_plane.pod_logs(NAMESPACE)[-30000:])
        raise
    finally:
        arrays.close()


def _delete_replica(cluster: Cluster) -> None:
    """Through the operator (its finalizer), before the release and its pod go away."""
    cluster.kubectl("-n", NAMESPACE, "delete", "replica", "node-vol", "--timeout=60s")
    for name in ("node-src", "node-dst"):
        cluster.kubectl("delete", "infiniboxes", name, "--timeout=60s")
