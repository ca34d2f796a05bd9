"""helm install / upgrade / uninstall against the real kube-apiserver, and the RBAC proof.

There is no kubelet nor controller-manager here: the Deployments never get pods. Everything else
is real: helm creates the objects through the API server, RBAC is enforced by it, and the
ServiceAccount tokens are signed by it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes
import pytest
import yaml

from tests.conftest import ROOT
from tests.e2e.shipping.helpers import (
    CHART,
    VALUES_ALL,
    Helm,
    Identity,
    installed,
    serviceaccount_kubeconfig,
)
from tests.support.kube import Cluster
from tests.support.wait import wait_for

GROUP = "replication.infinibox.io"
OUR_CRDS = [f"{plural}.{GROUP}" for plural in ("infiniboxes", "replicas", "consistencygroupreplicas")]
LEASES = "leases.coordination.k8s.io"
REPLICAS = f"replicas.{GROUP}"
INFINIBOXES = f"infiniboxes.{GROUP}"
CGREPLICAS = f"consistencygroupreplicas.{GROUP}"


def _exists(cluster: Cluster, *args: str) -> bool:
    return cluster.kubectl("get", *args, "--ignore-not-found", "-o", "name", check=False).stdout.strip() != ""


def _gone(cluster: Cluster, objects: list[tuple[str, ...]]) -> bool:
    remaining = [o for o in objects if _exists(cluster, *o)]
    assert not remaining, f"still there: {remaining}"
    return True


def _args(cluster: Cluster, namespace: str, deployment: str) -> list[str]:
    obj = cluster.kubectl_json("get", "deployment", deployment, f"--namespace={namespace}")
    (container,) = obj["spec"]["template"]["spec"]["containers"]
    return list(container["args"])


def _replica(name: str, namespace: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": f"{GROUP}/v1alpha1",
            "kind": "Replica",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "source": {"array": "ibox-1", "volume": "db-vol-1"},
                "target": {"array": "ibox-2", "mode": "Create", "pool": "pool-1"},
            },
        }
    )


def _event(namespace: str, involved: dict[str, Any]) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": "replica-operator-", "namespace": namespace},
            "involvedObject": involved,
            "reason": "Created",
            "message": "replica created on ibox-1",
            "type": "Normal",
            "source": {"component": "infinibox-replica-operator"},
        }
    )


def _served(cluster: Cluster, resource: str) -> bool:
    return cluster.kubectl("get", resource, "-A", check=False).returncode == 0


# --- install, upgrade, uninstall --------------------------------------------------------------


def test_install_upgrade_uninstall(
    cluster: Cluster, kube_helm: Helm, namespace: str, release_name: str
) -> None:
    fullname = f"{release_name}-infinibox-replica-operator"
    namespaced = [
        ("serviceaccount", fullname, f"--namespace={namespace}"),
        ("deployment", fullname, f"--namespace={namespace}"),
        ("service", f"{fullname}-metrics", f"--namespace={namespace}"),
        ("role", f"{fullname}-secrets", f"--namespace={namespace}"),
        ("rolebinding", f"{fullname}-secrets", f"--namespace={namespace}"),
        ("role", f"{fullname}-leader-election", f"--namespace={namespace}"),
        ("rolebinding", f"{fullname}-leader-election", f"--namespace={namespace}"),
        ("poddisruptionbudget", fullname, f"--namespace={namespace}"),
    ]
    cluster_scoped = [("clusterrole", fullname), ("clusterrolebinding", fullname)]
    with installed(kube_helm, cluster, release_name, namespace) as install:
        assert "STATUS: deployed" in install.stdout
        assert "kubectl get replicas -A" in install.stdout, "NOTES.txt says what to do next"
        assert f"leader election on Lease {namespace}/{fullname}, 2 pod(s)" in install.stdout
        for obj in namespaced + cluster_scoped:
            assert _exists(cluster, *obj), obj
        cluster.kubectl(
            "wait", "--for=condition=Established", "--timeout=60s", *(f"crd/{c}" for c in OUR_CRDS)
        )

        binding = cluster.kubectl_json("get", "clusterrolebinding", fullname)
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": fullname, "namespace": namespace}]
        assert binding["roleRef"]["name"] == fullname
        deployment = cluster.kubectl_json("get", "deployment", fullname, f"--namespace={namespace}")
        assert deployment["spec"]["replicas"] == 2
        assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
        assert "--log-format=text" in _args(cluster, namespace, fullname)
        assert f"--leader-election-id={fullname}" in _args(cluster, namespace, fullname)

        upgrade = kube_helm.run(
            "upgrade",
            release_name,
            str(CHART),
            f"--namespace={namespace}",
            "--reuse-values",
            "--set=log.format=json",
            "--set=log.level=debug",
        )
        assert "STATUS: deployed" in upgrade.stdout
        args = _args(cluster, namespace, fullname)
        assert "--log-format=json" in args
        assert "--debug" in args
        assert "--log-format=text" not in args
        history = json.loads(
            kube_helm.run("history", release_name, f"--namespace={namespace}", "-o", "json").stdout
        )
        assert [h["revision"] for h in history] == [1, 2]
        assert history[-1]["status"] == "deployed"
    wait_for(
        lambda: _gone(cluster, namespaced + cluster_scoped), timeout=60, what="the release's objects to go"
    )
    assert kube_helm.run("status", release_name, f"--namespace={namespace}", check=False).returncode != 0
    # Helm never deletes what it installed from crds/: the CRDs (and any custom resources) stay.
    for crd in OUR_CRDS:
        assert _exists(cluster, "crd", crd), crd


# --- RBAC proof, all namespaces ---------------------------------------------------------------


def test_rbac_proof_cluster_wide(
    cluster: Cluster,
    kube_helm: Helm,
    namespace: str,
    make_namespace: Callable[[str], str],
    release_name: str,
    tmp_path: Path,
) -> None:
    """As the chart's ServiceAccount: every call the operator makes works, everything else is refused."""
    fullname = f"{release_name}-infinibox-replica-operator"
    apps, creds = make_namespace("apps"), make_namespace("creds")
    for ns in (creds, apps):
        cluster.credentials_secret(ns, "ibox-credentials", password="secret")
    with installed(kube_helm, cluster, release_name, namespace, f'--set-json=secretNamespaces=["{creds}"]'):
        for crd in OUR_CRDS:
            wait_for(lambda crd=crd: _served(cluster, crd), timeout=30, what=f"{crd} served")
        sa = Identity(serviceaccount_kubeconfig(cluster, namespace, fullname, tmp_path / "sa.kubeconfig"))
        assert sa.whoami() == f"system:serviceaccount:{namespace}:{fullname}"

        ibox = f"ibox-{uuid.uuid4().hex[:8]}"
        cluster.kubectl("create", "-f", "-", input=_replica("db-vol-1", apps))
        cluster.kubectl(
            "create",
            "-f",
            "-",
            input=yaml.safe_dump(
                {
                    "apiVersion": f"{GROUP}/v1alpha1",
                    "kind": "InfiniBox",
                    "metadata": {"name": ibox},
                    "spec": {
                        "url": "https://ibox-1.example.com",
                        "credentialsSecretRef": {"name": "ibox-credentials", "namespace": creds},
                    },
                }
            ),
        )
        try:
            _operator_calls_work(sa, apps, creds, ibox)
            _everything_else_is_refused(sa, cluster, namespace, apps, creds, ibox)
            # What can-i says, the API server enforces on real requests too.
            can = {
                ("list", REPLICAS, None, True),
                ("watch", REPLICAS, None, True),
                ("get", REPLICAS, apps, False),
                ("patch", REPLICAS, apps, False),
                ("list", CGREPLICAS, None, True),
                ("watch", CGREPLICAS, None, True),
                ("patch", CGREPLICAS, apps, False),
                ("list", INFINIBOXES, None, False),
                ("watch", INFINIBOXES, None, False),
                ("patch", INFINIBOXES, None, False),
                ("create", "events", apps, False),
                ("create", "events", namespace, False),
                ("create", "events", "default", False),
                ("get", "secrets", creds, False),
                ("create", LEASES, namespace, False),
                ("get", f"{LEASES}/{fullname}", namespace, False),
                ("update", f"{LEASES}/{fullname}", namespace, False),
            }
            for verb, resource, ns, everywhere in sorted(can, key=str):
                assert sa.can_i(verb, resource, namespace=ns, all_namespaces=everywhere), (verb, resource, ns)
            for resource in (REPLICAS, CGREPLICAS, INFINIBOXES):
                for verb in ("get", "patch"):
                    assert sa.can_i(verb, resource, namespace=apps, subresource="status"), (verb, resource)
                assert not sa.can_i("update", resource, namespace=apps, subresource="status"), resource
        finally:
            cluster.kubectl(
                "patch",
                REPLICAS,
                "db-vol-1",
                f"--namespace={apps}",
                "--type=merge",
                "-p",
                '{"metadata":{"finalizers":null}}',
                check=False,
            )
            cluster.kubectl(
                "delete", REPLICAS, "db-vol-1", f"--namespace={apps}", "--ignore-not-found", check=False
            )
            cluster.kubectl("delete", INFINIBOXES, ibox, "--ignore-not-found", check=False)


def _operator_calls_work(sa: Identity, apps: str, creds: str, ibox: str) -> None:
    # kopf's initial listing of every watched kind, cluster-wide.
    assert "db-vol-1" in sa.kubectl("get", REPLICAS, "--all-namespaces", "-o", "name").stdout
    sa.kubectl("get", CGREPLICAS, "--all-namespaces")
    assert ibox in sa.kubectl("get", INFINIBOXES, "-o", "name").stdout
    # kopf's metadata patches: finalizer and its annotations.
    sa.kubectl(
        "patch",
        REPLICAS,
        "db-vol-1",
        f"--namespace={apps}",
        "--type=merge",
        "-p",
        json.dumps(
            {
                "metadata": {
                    "finalizers": ["replication.infinibox.io/finalizer"],
                    "annotations": {"replication.infinibox.io/last-handled-configuration": "{}"},
                }
            }
        ),
    )
    # Status patches of the bulk poller and the InfiniBox daemon.
    sa.kubectl(
        "patch",
        REPLICAS,
        "db-vol-1",
        f"--namespace={apps}",
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps({"status": {"observedGeneration": 1, "state": "ACTIVE", "syncState": "INITIALIZING"}}),
    )
    replica = json.loads(sa.kubectl("get", REPLICAS, "db-vol-1", f"--namespace={apps}", "-o", "json").stdout)
    assert replica["status"]["state"] == "ACTIVE"
    assert replica["metadata"]["finalizers"] == ["replication.infinibox.io/finalizer"]
    sa.kubectl(
        "patch",
        INFINIBOXES,
        ibox,
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps({"status": {"systemName": "ibox-1", "serial": 1234}}),
    )
    sa.kubectl("get", INFINIBOXES, ibox, "--subresource=status")
    # kopf.event: a core v1 Event next to the object.
    involved = {
        "apiVersion": f"{GROUP}/v1alpha1",
        "kind": "Replica",
        "name": "db-vol-1",
        "namespace": apps,
        "uid": replica["metadata"]["uid"],
    }
    sa.kubectl("create", "-f", "-", input=_event(apps, involved))
    # The InfiniBox handlers read the credentials Secret by name.
    secret = json.loads(
        sa.kubectl("get", "secret", "ibox-credentials", f"--namespace={creds}", "-o", "json").stdout
    )
    assert set(secret["data"]) == {"username", "password"}


def _everything_else_is_refused(
    sa: Identity, cluster: Cluster, release_ns: str, apps: str, creds: str, ibox: str
) -> None:
    def forbidden(*args: str, input: str | None = None) -> None:
        result = sa.kubectl(*args, input=input, check=False)
        assert result.returncode != 0, args
        assert "forbidden" in result.stderr.lower(), (args, result.stderr)

    forbidden("get", "secret", "ibox-credentials", f"--namespace={apps}")  # not a secretNamespace
    forbidden(
        "get", "secret", "ibox-credentials", f"--namespace={release_ns}"
    )  # replaced by secretNamespaces
    forbidden("get", "secrets", f"--namespace={creds}")  # list
    forbidden("get", "secrets", "--all-namespaces")
    forbidden("delete", REPLICAS, "db-vol-1", f"--namespace={apps}")
    forbidden("delete", INFINIBOXES, ibox)
    forbidden("create", "-f", "-", input=_replica("another", apps))
    forbidden("create", "configmap", "x", f"--namespace={apps}")
    forbidden("get", "pods", f"--namespace={apps}")
    forbidden("get", "namespaces")
    forbidden("get", "events", f"--namespace={apps}")
    forbidden(
        "create",
        "rolebinding",
        "x",
        "--clusterrole=cluster-admin",
        f"--serviceaccount={release_ns}:x",
        f"--namespace={apps}",
    )
    refused = [
        ("update", REPLICAS, apps),
        ("delete", REPLICAS, apps),
        ("create", REPLICAS, apps),
        ("deletecollection", REPLICAS, apps),
        ("update", CGREPLICAS, apps),
        ("delete", CGREPLICAS, apps),
        ("create", INFINIBOXES, None),
        ("update", INFINIBOXES, None),
        ("delete", INFINIBOXES, None),
        ("list", "secrets", creds),
        ("watch", "secrets", creds),
        ("create", "secrets", creds),
        ("update", "secrets", creds),
        ("get", "secrets", apps),
        ("get", "secrets", release_ns),
        ("create", "pods", apps),
        ("get", "configmaps", apps),
        ("list", "namespaces", None),
        ("list", LEASES, release_ns),
        ("watch", LEASES, release_ns),
        ("patch", LEASES, release_ns),
        ("delete", LEASES, release_ns),
        ("get", f"{LEASES}/someone-elses", release_ns),
        ("update", f"{LEASES}/someone-elses", release_ns),
        ("create", LEASES, apps),
        ("get", LEASES, apps),
        ("patch", "events", apps),
        ("update", "events", apps),
        ("list", "events", apps),
        ("list", "customresourcedefinitions.apiextensions.k8s.io", None),
        ("watch", "customresourcedefinitions.apiextensions.k8s.io", None),
        ("create", "customresourcedefinitions.apiextensions.k8s.io", None),
        ("create", "rolebindings.rbac.authorization.k8s.io", apps),
        ("impersonate", "serviceaccounts", apps),
        ("get", "nodes", None),
    ]
    for verb, resource, ns in refused:
        assert not sa.can_i(verb, resource, namespace=ns), (verb, resource, ns)
    assert not sa.can_i("patch", REPLICAS, namespace=apps, subresource="scale")
    assert not sa.can_i("get", "secrets", all_namespaces=True)


# --- every option, namespaced, with leader election ---------------------------------------------


def test_values_all_install_watch_namespaces_with_leader_election(
    cluster: Cluster,
    kube_helm: Helm,
    namespace: str,
    make_namespace: Callable[[str], str],
    release_name: str,
    tmp_path: Path,
) -> None:
    apps_a, apps_b, creds, other = (make_namespace(p) for p in ("apps-a", "apps-b", "creds", "other"))
    values = yaml.safe_load(VALUES_ALL.read_text())
    values |= {
        "fullnameOverride": release_name,
        "watchNamespaces": [apps_a, apps_b],
        "secretNamespaces": [creds],
    }
    values["serviceAccount"]["name"] = f"{release_name}-sa"
    values["metrics"]["serviceMonitor"]["enabled"] = False  # no prometheus-operator CRD in this cluster
    values_file = tmp_path / "values.yaml"
    values_file.write_text(yaml.safe_dump(values))
    sa_name, lease = f"{release_name}-sa", values["leaderElection"]["id"]

    with installed(kube_helm, cluster, release_name, namespace, f"--values={values_file}"):
        deployment = cluster.kubectl_json("get", "deployment", release_name, f"--namespace={namespace}")
        assert deployment["spec"]["replicas"] == 3
        args = _args(cluster, namespace, release_name)
        assert f"--leader-election-id={lease}" in args
        assert f"--leader-election-namespace={namespace}" in args
        assert args[:2] == [f"--namespace={apps_a}", f"--namespace={apps_b}"]
        budget = cluster.kubectl_json("get", "poddisruptionbudget", release_name, f"--namespace={namespace}")
        assert budget["spec"]["minAvailable"] == "50%"
        assert (
            cluster.kubectl_json("get", "service", f"{release_name}-metrics", f"--namespace={namespace}")[
                "spec"
            ]["type"]
            == "NodePort"
        )
        for ns in (apps_a, apps_b):
            assert _exists(cluster, "role", f"{release_name}-watch", f"--namespace={ns}")
        assert _exists(cluster, "role", f"{release_name}-events", f"--namespace={namespace}")
        assert _exists(cluster, "role", f"{release_name}-leader-election", f"--namespace={namespace}")
        assert _exists(cluster, "role", f"{release_name}-secrets", f"--namespace={creds}")

        sa = Identity(serviceaccount_kubeconfig(cluster, namespace, sa_name, tmp_path / "sa.kubeconfig"))
        for ns in (apps_a, apps_b):
            for verb in ("get", "list", "watch", "patch"):
                assert sa.can_i(verb, REPLICAS, namespace=ns)
                assert sa.can_i(verb, CGREPLICAS, namespace=ns)
            assert sa.can_i("patch", REPLICAS, namespace=ns, subresource="status")
            assert sa.can_i("create", "events", namespace=ns)
            assert not sa.can_i("get", "secrets", namespace=ns)
            assert not sa.can_i("create", LEASES, namespace=ns)
        for ns in (other, namespace, creds):
            assert not sa.can_i("list", REPLICAS, namespace=ns), ns
        assert not sa.can_i("list", REPLICAS, all_namespaces=True)
        assert not sa.can_i("create", "events", namespace=other)
        # Events about InfiniBox objects go to the release namespace (the pod's), nowhere else.
        assert sa.can_i("create", "events", namespace=namespace)
        assert not sa.can_i("create", "events", namespace="default")
        assert sa.can_i("list", INFINIBOXES)
        assert sa.can_i("patch", INFINIBOXES, subresource="status")
        assert not sa.can_i("list", "namespaces"), "kopf's scanning is off: --namespace names are exact"
        assert not sa.can_i("list", "customresourcedefinitions.apiextensions.k8s.io")
        assert sa.can_i("get", "secrets", namespace=creds)
        assert not sa.can_i("list", "secrets", namespace=creds)
        _lease_calls_work_for_the_named_lease_only(sa, namespace, lease)
        sa.kubectl("get", REPLICAS, f"--namespace={apps_b}")
        denied = sa.kubectl("get", REPLICAS, f"--namespace={other}", check=False)
        assert denied.returncode != 0
        assert "forbidden" in denied.stderr.lower()

        kube_helm.run(
            "upgrade",
            release_name,
            str(CHART),
            f"--namespace={namespace}",
            f"--values={values_file}",
            "--set=leaderElection.enabled=false",
            "--set=replicaCount=1",
        )
        assert "--no-leader-elect" in _args(cluster, namespace, release_name)
        wait_for(
            lambda: _gone(
                cluster,
                [
                    ("role", f"{release_name}-leader-election", f"--namespace={namespace}"),
                    ("poddisruptionbudget", release_name, f"--namespace={namespace}"),
                ],
            ),
            timeout=60,
            what="the Lease rights and the budget to go with leader election",
        )
        assert not sa.can_i("get", f"{LEASES}/{lease}", namespace=namespace)
    wait_for(
        lambda: _gone(
            cluster,
            [
                ("deployment", release_name, f"--namespace={namespace}"),
                ("role", f"{release_name}-watch", f"--namespace={apps_a}"),
                ("role", f"{release_name}-secrets", f"--namespace={creds}"),
                ("clusterrole", release_name),
            ],
        ),
        timeout=60,
        what="the release's objects to go",
    )


def _lease_calls_work_for_the_named_lease_only(sa: Identity, namespace: str, lease: str) -> None:
    """What the elector sends, for real, as the chart's ServiceAccount: create, get, update."""
    body = kubernetes.client.V1Lease(
        metadata=kubernetes.client.V1ObjectMeta(name=lease, namespace=namespace),
        spec=kubernetes.client.V1LeaseSpec(holder_identity="pod-0", lease_duration_seconds=20),
    )
    with sa.api_client() as client:
        leases = kubernetes.client.CoordinationV1Api(client)
        leases.create_namespaced_lease(namespace, body)
        current = leases.read_namespaced_lease(lease, namespace)
        assert current.spec is not None
        current.spec.holder_identity = "pod-1"
        replaced = leases.replace_namespaced_lease(lease, namespace, current)
        assert replaced.spec is not None
        assert replaced.spec.holder_identity == "pod-1"
        other = kubernetes.client.V1Lease(metadata=kubernetes.client.V1ObjectMeta(name="someone-elses"))
        leases.create_namespaced_lease(namespace, other)  # create cannot be limited to a name...
        with pytest.raises(kubernetes.client.ApiException) as denied:
            leases.read_namespaced_lease("someone-elses", namespace)  # ...but nothing else works on it
        assert denied.value.status == 403
        with pytest.raises(kubernetes.client.ApiException) as denied:
            leases.list_namespaced_lease(namespace)
        assert denied.value.status == 403


# --- plain kubectl, as docs/install.md says ---------------------------------------------------


def test_kubectl_apply_of_the_rendered_chart(
    cluster: Cluster, helm: Helm, namespace: str, release_name: str, tmp_path: Path
) -> None:
    fullname = f"{release_name}-infinibox-replica-operator"
    cluster.kubectl("apply", "--server-side", "-f", str(ROOT / "crds"))
    manifest = tmp_path / "infinibox-replica-operator.yaml"
    manifest.write_text(helm.run("template", release_name, str(CHART), f"--namespace={namespace}").stdout)
    applied = cluster.kubectl("apply", f"--namespace={namespace}", "-f", str(manifest))
    assert f"deployment.apps/{fullname} created" in applied.stdout
    assert _exists(cluster, "clusterrole", fullname)
    assert _exists(cluster, "role", f"{fullname}-secrets", f"--namespace={namespace}")
    cluster.kubectl("delete", f"--namespace={namespace}", "-f", str(manifest), "--wait=false")
    wait_for(
        lambda: _gone(
            cluster, [("deployment", fullname, f"--namespace={namespace}"), ("clusterrole", fullname)]
        ),
        timeout=60,
        what="the applied objects to go",
    )
