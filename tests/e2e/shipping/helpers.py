"""Reusable steps of the shipping tests: the real helm, and acting as the chart's ServiceAccount.

``serviceaccount_kubeconfig`` is what part 2 of the RBAC proof (running the real operator with
the chart's identity through a whole Replica scenario) needs: it writes a kubeconfig holding a real
ServiceAccount token, so a kubectl, a kubernetes client or the operator itself act with exactly the
rights the chart grants and nothing more.
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes
import yaml

from ibox_sim.testing import run_simulator
from tests.conftest import ROOT
from tests.support.arrays import SimArrays
from tests.support.credentials import PASSWORD
from tests.support.kube import KUBECTL, Cluster
from tests.support.operator import LEASE_ID_VARIABLE, OperatorProcess

CHART = ROOT / "charts" / "infinibox-replica-operator"
SHIPPING = Path(__file__).resolve().parent
VALUES_ALL = SHIPPING / "values-all.yaml"
CHART_NAME = "infinibox-replica-operator"


def helm_binary() -> Path:
    """The helm the project builds and caches (v3.22.0), or $HELM_BIN."""
    from controlplane.binaries import ensure_helm

    return ensure_helm()


@dataclass(frozen=True)
class Helm:
    """The real helm CLI, bound to one cluster (or to none, for lint and template)."""

    binary: Path
    kubeconfig: Path | None = None

    def run(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        argv = [str(self.binary), *args]
        if self.kubeconfig is not None:
            argv.append(f"--kubeconfig={self.kubeconfig}")
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise AssertionError(
                f"helm {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        return result

    def template(
        self, *args: str, release: str = "iro", namespace: str = "iro-system"
    ) -> list[dict[str, Any]]:
        """``helm template`` of the chart: the rendered objects, in order."""
        out = self.run("template", release, str(CHART), f"--namespace={namespace}", *args).stdout
        return [doc for doc in yaml.safe_load_all(out) if doc]


def find(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]


def one(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = find(objects, kind, name)
    assert len(found) == 1, (
        f"expected one {kind} {name or ''}, found {[o['metadata']['name'] for o in found]}"
    )
    return found[0]


def serviceaccount_token(cluster: Cluster, namespace: str, name: str, duration: str = "1h") -> str:
    """A real, signed token of the ServiceAccount (TokenRequest API, as the kubelet would mount)."""
    token = cluster.kubectl("create", "token", name, f"--namespace={namespace}", f"--duration={duration}")
    return token.stdout.strip()


def serviceaccount_kubeconfig(cluster: Cluster, namespace: str, name: str, path: Path) -> Path:
    """Write a kubeconfig that authenticates as ``system:serviceaccount:<namespace>:<name>``.

    Server and CA come from the cluster's admin kubeconfig; the client certificate does not.
    """
    admin = yaml.safe_load(cluster.kubeconfig.read_text())
    context = next(c for c in admin["contexts"] if c["name"] == admin["current-context"])["context"]
    server = next(c for c in admin["clusters"] if c["name"] == context["cluster"])["cluster"]
    cluster_entry: dict[str, Any] = {"server": server["server"]}
    if "certificate-authority-data" in server:
        cluster_entry["certificate-authority-data"] = server["certificate-authority-data"]
    elif "certificate-authority" in server:
        ca = Path(server["certificate-authority"]).read_bytes()
        cluster_entry["certificate-authority-data"] = base64.b64encode(ca).decode()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "cluster", "cluster": cluster_entry}],
        "users": [{"name": name, "user": {"token": serviceaccount_token(cluster, namespace, name)}}],
        "contexts": [{"name": "sa", "context": {"cluster": "cluster", "user": name, "namespace": namespace}}],
        "current-context": "sa",
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
    return path


@dataclass(frozen=True)
class Identity:
    """kubectl acting with a kubeconfig that is not the admin's (e.g. the chart's ServiceAccount)."""

    kubeconfig: Path

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(KUBECTL), f"--kubeconfig={self.kubeconfig}", *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    def can_i(
        self,
        verb: str,
        resource: str,
        *,
        namespace: str | None = None,
        all_namespaces: bool = False,
        subresource: str | None = None,
    ) -> bool:
        """``kubectl auth can-i`` as this identity (a SelfSubjectAccessReview, answered by RBAC)."""
        args = ["auth", "can-i", verb, resource]
        if subresource is not None:
            args.append(f"--subresource={subresource}")
        if all_namespaces:
            args.append("--all-namespaces")
        elif namespace is not None:
            args.append(f"--namespace={namespace}")
        result = self.kubectl(*args, check=False)
        answer = result.stdout.strip()
        assert answer in ("yes", "no"), f"can-i {verb} {resource}: {result.stdout!r} {result.stderr!r}"
        return answer == "yes"

    def api_client(self) -> kubernetes.client.ApiClient:
        """A kubernetes client with this identity: requests go out exactly as written (no GET first)."""
        configuration = kubernetes.client.Configuration()
        kubernetes.config.load_kube_config(
            config_file=str(self.kubeconfig), client_configuration=configuration
        )
        return kubernetes.client.ApiClient(configuration)

    def whoami(self) -> str:
        review = json.loads(self.kubectl("auth", "whoami", "-o", "json").stdout)
        return str(review["status"]["userInfo"]["username"])


@contextmanager
def installed(
    helm: Helm, cluster: Cluster, release: str, namespace: str, *args: str
) -> Iterator[subprocess.CompletedProcess[str]]:
    """``helm install`` for the length of a ``with``; always ``helm uninstall`` afterwards."""
    result = helm.run("install", release, str(CHART), f"--namespace={namespace}", *args)
    try:
        yield result
    finally:
        helm.run("uninstall", release, f"--namespace={namespace}", check=False)


@dataclass
class ChartOperator:
    """The real operator running with the chart's ServiceAccount token, and its two arrays."""

    account: str
    identity: Identity
    arrays: SimArrays
    log: str = ""  # the operator's whole log, once it stopped


@contextmanager
def operator_as_chart_account(
    helm: Helm, cluster: Cluster, release: str, namespace: str, path: Path, *values: str
) -> Iterator[ChartOperator]:
    """Install the chart (Secrets readable in ``namespace``), start a two-array simulator and the
    operator as the chart's ServiceAccount, leader election on the chart's Lease; stop all after."""
    with installed(helm, cluster, release, namespace, f"--set=secretNamespaces={{{namespace}}}", *values):
        accounts = cluster.kubectl_json(
            "-n", namespace, "get", "serviceaccounts", "-l", f"app.kubernetes.io/instance={release}"
        )
        (account,) = [item["metadata"]["name"] for item in accounts["items"]]
        identity = Identity(serviceaccount_kubeconfig(cluster, namespace, account, path))
        cluster.credentials_secret(namespace, "creds")
        with run_simulator(2, initial_sync_seconds=1, password=PASSWORD) as simulator:
            running = ChartOperator(account, identity, SimArrays(simulator))
            election = {"POD_NAMESPACE": namespace, LEASE_ID_VARIABLE: account}
            operator = OperatorProcess(identity.kubeconfig, env=election).start()
            try:
                yield running
                running.log = operator.log()
            finally:
                operator.close()
                running.arrays.close()
