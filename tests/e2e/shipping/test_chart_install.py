"""helm install / upgrade / uninstall against the real kube-apiserver, and the RBAC proof.

There is no kubelet nor controller-manager here: the Deployments never get pods. Everything else
is real: helm creates the objects through the API server, RBAC is enforced by it, and the
ServiceAccount tokens are signed by it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
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
KOPF_CRDS = ["clusterkopfpeerings.kopf.dev", "kopfpeerings.kopf.dev"]
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


@pytest.fixture
def kopf_crds_cleanup(cluster: Cluster) -> Iterator[None]:
    """The peering CRDs outlive helm uninstall (crds/ semantics): delete them if the test made them."""
    existed = {name for name in KOPF_CRDS if _exists(cluster, "crd", name)}
    yield
    for name in KOPF_CRDS:
        if name not in existed:
            cluster.kubectl("delete", "crd", name, "--ignore-not-found", timeout=120, check=False)


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
    ]
    cluster_scoped = [("clusterrole", fullname), ("clusterrolebinding", fullname)]
    with installed(kube_helm, cluster, release_name, namespace) as install:
        assert "STATUS: deployed" in install.stdout
        assert "kubectl get replicas -A" in install.stdout, "NOTES.txt says what to do next"
        for obj in namespaced + cluster_scoped:
            assert _exists(cluster, *obj), obj
        cluster.kubectl(
            "wait", "--for=condition=Established", "--timeout=60s", *(f"crd/{c}" for c in OUR_CRDS)
        )

        binding = cluster.kubectl_json("get", "clusterrolebinding", fullname)
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": fullname, "namespace": namespace}]
        assert binding["roleRef"]["name"] == fullname
        deployment = cluster.kubectl_json("get", "deployment", fullname, f"--namespace={namespace}")
        assert deployment["spec"]["strategy"]["type"] == "Recreate"
        assert "--log-format=text" in _args(cluster, namespace, fullname)

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
        ("create", "leases.coordination.k8s.io", release_ns),
        ("get", "leases.coordination.k8s.io", release_ns),
        ("patch", "events", apps),
        ("update", "events", apps),
        ("list", "events", apps),
        ("list", "customresourcedefinitions.apiextensions.k8s.io", None),
        ("watch", "customresourcedefinitions.apiextensions.k8s.io", None),
        ("create", "customresourcedefinitions.apiextensions.k8s.io", None),
        ("list", "clusterkopfpeerings.kopf.dev", None),
        ("patch", "clusterkopfpeerings.kopf.dev", None),
        ("create", "rolebindings.rbac.authorization.k8s.io", apps),
        ("impersonate", "serviceaccounts", apps),
        ("get", "nodes", None),
    ]
    for verb, resource, ns in refused:
        assert not sa.can_i(verb, resource, namespace=ns), (verb, resource, ns)
    assert not sa.can_i("patch", REPLICAS, namespace=apps, subresource="scale")
    assert not sa.can_i("get", "secrets", all_namespaces=True)


# --- every option, namespaced, with peering ---------------------------------------------------


def test_values_all_install_watch_namespaces_with_peering(
    cluster: Cluster,
    kube_helm: Helm,
    namespace: str,
    make_namespace: Callable[[str], str],
    release_name: str,
    tmp_path: Path,
    kopf_crds_cleanup: None,
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
    sa_name, peering = f"{release_name}-sa", values["peering"]["name"]

    with installed(kube_helm, cluster, release_name, namespace, f"--values={values_file}"):
        deployments = [f"{release_name}-{i}" for i in range(3)]
        for index, (deployment, priority) in enumerate(zip(deployments, (300, 200, 100), strict=True)):
            args = _args(cluster, namespace, deployment)
            assert f"--priority={priority}" in args, (index, args)
            assert f"--peering={peering}" in args, (index, args)
            assert args[:2] == [f"--namespace={apps_a}", f"--namespace={apps_b}"]
        assert _exists(cluster, "poddisruptionbudget", release_name, f"--namespace={namespace}")
        assert (
            cluster.kubectl_json("get", "service", f"{release_name}-metrics", f"--namespace={namespace}")[
                "spec"
            ]["type"]
            == "NodePort"
        )
        for ns in (apps_a, apps_b):
            assert _exists(cluster, "kopfpeerings.kopf.dev", peering, f"--namespace={ns}")
            assert _exists(cluster, "role", f"{release_name}-watch", f"--namespace={ns}")
        assert _exists(cluster, "role", f"{release_name}-events", f"--namespace={namespace}")
        assert _exists(cluster, "role", f"{release_name}-secrets", f"--namespace={creds}")
        assert not _exists(cluster, "kopfpeerings.kopf.dev", peering, f"--namespace={other}")

        sa = Identity(serviceaccount_kubeconfig(cluster, namespace, sa_name, tmp_path / "sa.kubeconfig"))
        for ns in (apps_a, apps_b):
            for verb in ("get", "list", "watch", "patch"):
                assert sa.can_i(verb, REPLICAS, namespace=ns)
                assert sa.can_i(verb, CGREPLICAS, namespace=ns)
            assert sa.can_i("patch", REPLICAS, namespace=ns, subresource="status")
            assert sa.can_i("create", "events", namespace=ns)
            assert sa.can_i("list", "kopfpeerings.kopf.dev", namespace=ns)
            assert sa.can_i("watch", "kopfpeerings.kopf.dev", namespace=ns)
            assert sa.can_i("patch", f"kopfpeerings.kopf.dev/{peering}", namespace=ns)
            assert not sa.can_i("patch", "kopfpeerings.kopf.dev/someone-elses", namespace=ns)
            assert not sa.can_i("get", "secrets", namespace=ns)
        for ns in (other, namespace, creds):
            assert not sa.can_i("list", REPLICAS, namespace=ns), ns
            assert not sa.can_i("list", "kopfpeerings.kopf.dev", namespace=ns), ns
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
        assert not sa.can_i("list", "clusterkopfpeerings.kopf.dev")
        # The keep-alive kopf writes, for real, and only into our peering object.
        keepalive = {
            "status": {"pod-0": {"priority": 300, "lifetime": 60, "lastseen": "2026-11-25T10:00:00+00:00"}}
        }
        with sa.api_client() as client:
            patched = kubernetes.client.CustomObjectsApi(client).patch_namespaced_custom_object(
                "kopf.dev", "v1", apps_a, "kopfpeerings", peering, keepalive
            )
        assert patched["status"]["pod-0"]["priority"] == 300
        sa.kubectl("get", "kopfpeerings.kopf.dev", f"--namespace={apps_a}")
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
            "--set-json=peering.priorities=[500,400]",
        )
        assert "--priority=500" in _args(cluster, namespace, deployments[0])
        assert "--priority=400" in _args(cluster, namespace, deployments[1])
        wait_for(
            lambda: _gone(cluster, [("deployment", deployments[2], f"--namespace={namespace}")]),
            timeout=60,
            what="the third peer's Deployment to go",
        )
        assert _exists(cluster, "kopfpeerings.kopf.dev", peering, f"--namespace={apps_a}")
    wait_for(
        lambda: _gone(
            cluster,
            [
                ("deployment", deployments[0], f"--namespace={namespace}"),
                ("kopfpeerings.kopf.dev", peering, f"--namespace={apps_a}"),
                ("kopfpeerings.kopf.dev", peering, f"--namespace={apps_b}"),
                ("role", f"{release_name}-watch", f"--namespace={apps_a}"),
                ("role", f"{release_name}-secrets", f"--namespace={creds}"),
                ("clusterrole", release_name),
            ],
        ),
        timeout=60,
        what="the release's objects to go",
    )


def test_cluster_wide_peering_then_back_to_standalone(
    cluster: Cluster,
    kube_helm: Helm,
    namespace: str,
    release_name: str,
    tmp_path: Path,
    kopf_crds_cleanup: None,
) -> None:
    fullname = f"{release_name}-infinibox-replica-operator"
    with installed(kube_helm, cluster, release_name, namespace, "--set=peering.enabled=true") as install:
        assert "2 peers (priorities 200, 100;" in install.stdout, install.stdout
        assert "this is not leader election" in install.stdout
        assert _exists(cluster, "clusterkopfpeerings.kopf.dev", fullname)
        assert _exists(cluster, "deployment", f"{fullname}-0", f"--namespace={namespace}")
        assert "--priority=100" in _args(cluster, namespace, f"{fullname}-1")
        sa = Identity(serviceaccount_kubeconfig(cluster, namespace, fullname, tmp_path / "sa.kubeconfig"))
        sa.kubectl("get", "clusterkopfpeerings.kopf.dev")
        with sa.api_client() as client:
            patched = kubernetes.client.CustomObjectsApi(client).patch_cluster_custom_object(
                "kopf.dev", "v1", "clusterkopfpeerings", fullname, {"status": {"pod-a": {"priority": 200}}}
            )
        assert patched["status"] == {"pod-a": {"priority": 200}}
        assert not sa.can_i("patch", "clusterkopfpeerings.kopf.dev/another-operator")
        assert not sa.can_i("delete", f"clusterkopfpeerings.kopf.dev/{fullname}")
        assert not sa.can_i("list", "namespaces"), "cluster-wide kopf does not observe namespaces"

        kube_helm.run(
            "upgrade", release_name, str(CHART), f"--namespace={namespace}", "--set=peering.enabled=false"
        )
        assert "--standalone" in _args(cluster, namespace, fullname)
        wait_for(
            lambda: _gone(
                cluster,
                [
                    ("clusterkopfpeerings.kopf.dev", fullname),
                    ("deployment", f"{fullname}-0", f"--namespace={namespace}"),
                    ("deployment", f"{fullname}-1", f"--namespace={namespace}"),
                ],
            ),
            timeout=60,
            what="the peers to go",
        )
        assert not sa.can_i("list", "clusterkopfpeerings.kopf.dev")


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
