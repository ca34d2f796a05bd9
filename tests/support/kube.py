"""A handle on the Kubernetes cluster the tests run against, and a real kubectl."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes
from prometheus_client.parser import text_string_to_metric_families

from tests.support.credentials import PASSWORD, USERNAME

KUBECTL = Path(sys.executable).parent / "kubectl"
WRITE_VERBS = frozenset({"POST", "PUT", "PATCH", "DELETE", "APPLY", "DELETECOLLECTION"})


@dataclass(frozen=True)
class Cluster:
    """The API server under test: its kubeconfig, a kubectl bound to it, and API clients."""

    kubeconfig: Path
    control_plane: Any = None  # controlplane.ControlPlane when the tests started it themselves

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run the real kubectl against this cluster; raise with its stderr when ``check`` fails."""
        result = subprocess.run(
            [str(KUBECTL), f"--kubeconfig={self.kubeconfig}", *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    def credentials_secret(
        self, namespace: str, name: str, *, username: str = USERNAME, password: str = PASSWORD
    ) -> None:
        """The Secret an InfiniBox object points to (keys ``username`` and ``password``)."""
        self.kubectl(
            "-n",
            namespace,
            "create",
            "secret",
            "generic",
            name,
            f"--from-literal=username={username}",
            f"--from-literal=password={password}",
        )

    def kubectl_json(self, *args: str) -> Any:
        return json.loads(self.kubectl(*args, "-o", "json").stdout)

    def api_client(self) -> kubernetes.client.ApiClient:
        configuration = kubernetes.client.Configuration()
        kubernetes.config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=str(self.kubeconfig), client_configuration=configuration
        )
        return kubernetes.client.ApiClient(configuration)

    def api_requests(self) -> Counter[tuple[str, str, str]]:
        """The API server's own ``apiserver_request_total``, summed by (verb, resource, subresource)."""
        totals: Counter[tuple[str, str, str]] = Counter()
        for family in text_string_to_metric_families(self.kubectl("get", "--raw", "/metrics").stdout):
            for sample in family.samples:
                if sample.name == "apiserver_request_total":
                    labels = sample.labels
                    totals[
                        (labels.get("verb", ""), labels.get("resource", ""), labels.get("subresource", ""))
                    ] += int(sample.value)
        return totals


def writes_between(
    before: Counter[tuple[str, str, str]], after: Counter[tuple[str, str, str]]
) -> dict[str, int]:
    """Write requests (POST/PUT/PATCH/DELETE/APPLY) between two scrapes, by ``VERB resource[/sub]``."""
    found: dict[str, int] = {}
    for key in after:
        verb, resource, subresource = key
        delta = after[key] - before.get(key, 0)
        if verb in WRITE_VERBS and delta > 0:
            name = f"{verb} {resource}{'/' + subresource if subresource else ''}"
            found[name] = found.get(name, 0) + delta
    return dict(sorted(found.items(), key=lambda item: -item[1]))
