"""The control plane is the real thing: version, storage, authentication, RBAC, watches."""

from __future__ import annotations

import base64
import json
import ssl
import threading
import uuid

import httpx
import kubernetes

from tests.support.kube import Cluster
from tests.support.wait import wait_for


def test_server_reports_kubernetes_1_37(cluster: Cluster) -> None:
    version = json.loads(cluster.kubectl("version", "-o", "json").stdout)
    assert version["serverVersion"]["major"] == "1"
    assert version["serverVersion"]["minor"].startswith("37")
    assert version["serverVersion"]["gitVersion"].startswith("v1.37.")


def test_configmap_round_trips(cluster: Cluster, namespace: str) -> None:
    value = uuid.uuid4().hex
    cluster.kubectl("-n", namespace, "create", "configmap", "probe", f"--from-literal=value={value}")
    stored = cluster.kubectl_json("-n", namespace, "get", "configmap", "probe")
    assert stored["data"] == {"value": value}
    assert stored["metadata"]["uid"]


def _server_and_ca(cluster: Cluster) -> tuple[str, ssl.SSLContext]:
    """The API server's URL and a TLS context trusting its CA (from the kubeconfig)."""
    config = cluster.kubectl_json("config", "view", "--raw", "--minify")
    server = config["clusters"][0]["cluster"]["server"]
    ca_data = base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"]).decode()
    return server, ssl.create_default_context(cadata=ca_data)


def test_service_account_token_is_authenticated_and_authorised_by_rbac(
    cluster: Cluster, namespace: str
) -> None:
    cluster.kubectl("-n", namespace, "create", "serviceaccount", "reader")
    token = cluster.kubectl("-n", namespace, "create", "token", "reader").stdout.strip()
    server, verify = _server_and_ca(cluster)
    url = f"{server}/api/v1/namespaces/{namespace}/configmaps"
    with httpx.Client(verify=verify, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
        whoami = client.post(
            f"{server}/apis/authentication.k8s.io/v1/selfsubjectreviews",
            json={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
        )
        assert whoami.status_code == 201, whoami.text
        assert whoami.json()["status"]["userInfo"]["username"] == f"system:serviceaccount:{namespace}:reader"

        refused = client.get(url)
        assert refused.status_code == 403, refused.text
        assert "forbidden" in refused.json()["message"]

        cluster.kubectl(
            "-n", namespace, "create", "role", "read-configmaps", "--verb=list", "--resource=configmaps"
        )
        cluster.kubectl(
            "-n",
            namespace,
            "create",
            "rolebinding",
            "reader-reads",
            "--role=read-configmaps",
            f"--serviceaccount={namespace}:reader",
        )
        allowed = wait_for(
            lambda: (r := client.get(url)).status_code == 200 and r,
            timeout=15,
            what="RBAC grant to take effect",
        )
        assert allowed.json()["kind"] == "ConfigMapList"


def test_invalid_token_is_refused_with_401(cluster: Cluster) -> None:
    server, verify = _server_and_ca(cluster)
    with httpx.Client(verify=verify, headers={"Authorization": "Bearer not-a-token"}, timeout=10) as client:
        assert client.get(f"{server}/api/v1/namespaces").status_code == 401


def test_watch_receives_event_for_change(cluster: Cluster, namespace: str) -> None:
    api = kubernetes.client.CoreV1Api(cluster.api_client())
    listed = api.list_namespaced_config_map(namespace)
    seen: list[tuple[str, str]] = []
    errors: list[BaseException] = []

    def watch() -> None:
        watcher = kubernetes.watch.Watch()
        try:
            for event in watcher.stream(
                api.list_namespaced_config_map,
                namespace,
                resource_version=listed.metadata.resource_version,
                timeout_seconds=20,
            ):
                seen.append((event["type"], event["object"].metadata.name))
                if event["object"].metadata.name == "watched":
                    watcher.stop()
        except BaseException as error:  # surfaced to the test thread below
            errors.append(error)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    api.create_namespaced_config_map(namespace, {"metadata": {"name": "watched"}, "data": {"a": "b"}})
    thread.join(timeout=25)
    assert not errors, errors
    assert ("ADDED", "watched") in seen


def test_admin_identity_is_cluster_admin(cluster: Cluster) -> None:
    allowed = cluster.kubectl("auth", "can-i", "delete", "customresourcedefinitions", check=False)
    assert allowed.stdout.strip() == "yes"
