"""A handle on the Kubernetes cluster the tests run against, and a real kubectl."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes

from tests.support.credentials import PASSWORD, USERNAME

KUBECTL = Path(sys.executable).parent / "kubectl"


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
