"""The chart's values for clusters without a pod or service network: hostNetwork, bindAddress, apiServer."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.shipping.helpers import CHART, Helm, one


def _pod_spec(objects: list[dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = one(objects, "Deployment")["spec"]["template"]["spec"]
    return spec


def test_defaults_use_the_pod_network_and_the_kubernetes_service(helm: Helm) -> None:
    spec = _pod_spec(helm.template())
    (container,) = spec["containers"]
    assert "hostNetwork" not in spec
    assert "dnsPolicy" not in spec
    assert not [arg for arg in container["args"] if arg.startswith("--bind-address")]
    assert not {env["name"] for env in container["env"]} & {
        "KUBERNETES_SERVICE_HOST",
        "KUBERNETES_SERVICE_PORT",
    }


def test_host_network_values_render_the_node_network_and_the_api_server_address(helm: Helm) -> None:
    spec = _pod_spec(
        helm.template(
            "--set=hostNetwork=true",
            "--set=bindAddress=127.0.0.1",
            "--set=apiServer.host=127.0.0.1",
            "--set=apiServer.port=6443",
        )
    )
    (container,) = spec["containers"]
    assert spec["hostNetwork"] is True
    assert spec["dnsPolicy"] == "ClusterFirstWithHostNet"
    assert "--bind-address=127.0.0.1" in container["args"]
    env = {item["name"]: item.get("value") for item in container["env"]}
    # Strings, as EnvVar requires (a bare 6443 would be rejected by the API server).
    assert env["KUBERNETES_SERVICE_HOST"] == "127.0.0.1"
    assert env["KUBERNETES_SERVICE_PORT"] == "6443"
    assert env["POD_NAME"] is None  # the downward-API variables are still there
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set=hostNetwork=maybe"], "at '/hostNetwork'"),
        (["--set=apiServer.port=0"], "at '/apiServer/port'"),
        (["--set=apiServer.host=https://10.0.0.1"], "at '/apiServer/host'"),
        (["--set=apiServer.url=x"], "additional properties 'url' not allowed"),
    ],
)
def test_schema_rejects_bad_host_network_values(helm: Helm, args: list[str], message: str) -> None:
    result = helm.run("template", "iro", str(CHART), *args, check=False)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr
