"""Issue 14 item 9: a configuration the client cannot use is reported, not a crash with stale Ready=True.

The CRD already refuses a URL with userinfo or a bad port (tests/integration/api/test_validation.py);
what it cannot refuse (a CA Secret that is not PEM, a host name idna refuses) reaches the operator,
which must say so on the InfiniBox and on every object that uses it, once per transition.
"""

from __future__ import annotations

import json
from typing import Any

from tests.integration.operator.conftest import Env, condition_of, is_true
from tests.support.operator import OperatorProcess, kube_requests
from tests.support.wait import wait_for

INVALID = "InvalidConfiguration"
CA_SECRET_TEXT = "-----BEGIN CERTIFICATE-----\nnot-a-cert-6b1f\n-----END CERTIFICATE-----\n"


def _events(env: Env, name: str, reason: str) -> list[dict[str, Any]]:
    selector = f"involvedObject.name={name},reason={reason}"
    listed = env.objects.cluster.kubectl("get", "events", "-A", "--field-selector", selector, "-o", "json")
    return list(json.loads(listed.stdout)["items"])


def _secret_gets(operator: OperatorProcess) -> float:
    """Secret GETs the operator made so far, by its own counter (every result)."""
    return kube_requests(operator.metrics(), verb="get", resource="secrets")


def _connected_reason(env: Env, name: str) -> str | None:
    condition = env.objects.condition("infiniboxes", name, "Connected") or {}
    return condition.get("reason")


def _ready_replica(env: Env) -> str:
    volume = env.name("vol")
    env.arrays.volume("ibox-1", volume)
    env.replica(volume, volume=volume)
    env.objects.wait_status("replicas", volume, lambda s: is_true(s, "Ready"), what="Ready=True")
    return volume


def _reports_invalid(status: dict[str, Any]) -> bool:
    ready, synced = condition_of(status, "Ready"), condition_of(status, "Synced")
    return (ready.get("status"), ready.get("reason"), synced.get("status"), synced.get("reason")) == (
        "Unknown",
        INVALID,
        "False",
        INVALID,
    )


def _assert_reported_once(env: Env, operator: OperatorProcess, volume: str, field: str) -> None:
    """Connected=False on the InfiniBox, Unknown/False on the Replica, one Event each over 3 polls."""
    env.objects.wait_status(
        "infiniboxes", env.source, lambda s: condition_of(s, "Connected").get("reason") == INVALID
    )
    connected = env.objects.condition("infiniboxes", env.source, "Connected") or {}
    assert connected["status"] == "False"
    assert field in connected["message"]
    status = env.objects.wait_status("replicas", volume, _reports_invalid, what="Ready=Unknown/Synced=False")
    assert field in condition_of(status, "Synced")["message"]
    # Three more polls of the broken array (each reads its Secret once) change nothing.
    mark = _secret_gets(operator)
    wait_for(lambda: _secret_gets(operator) >= mark + 3, timeout=20, what="three more polls")
    assert len(_events(env, env.source, INVALID)) == 1
    assert len(_events(env, volume, INVALID)) == 1


def test_a_ca_secret_that_is_not_pem_is_reported_and_recovers(env: Env, operator: OperatorProcess) -> None:
    volume = _ready_replica(env)
    env.objects.cluster.kubectl(
        "-n",
        env.namespace,
        "create",
        "secret",
        "generic",
        "bad-ca",
        f"--from-literal=ca.crt={CA_SECRET_TEXT}",
    )
    tls = {"caSecretRef": {"name": "bad-ca", "namespace": env.namespace}}
    env.objects.api.patch_cluster_custom_object(
        "replication.infinibox.io", "v1alpha1", "infiniboxes", env.source, {"spec": {"tls": tls}}
    )
    _assert_reported_once(env, operator, volume, "spec.tls.caSecretRef")
    for name in (env.source, volume):
        for event in _events(env, name, INVALID):
            assert "not-a-cert-6b1f" not in event["message"]

    env.objects.api.patch_cluster_custom_object(
        "replication.infinibox.io", "v1alpha1", "infiniboxes", env.source, {"spec": {"tls": None}}
    )
    env.objects.wait_status("replicas", volume, lambda s: is_true(s, "Ready"), what="Ready=True again")
    assert _connected_reason(env, env.source) == "Connected"
    assert len(_events(env, env.source, "Connected")) == 1


def test_a_host_name_the_client_refuses_is_reported(env: Env, operator: OperatorProcess) -> None:
    volume = _ready_replica(env)
    good = (env.objects.get("infiniboxes", env.source) or {})["spec"]["url"]
    env.objects.api.patch_cluster_custom_object(
        "replication.infinibox.io",
        "v1alpha1",
        "infiniboxes",
        env.source,
        {"spec": {"url": "https://xn--.example"}},  # admitted by the CRD, refused by idna
    )
    _assert_reported_once(env, operator, volume, "spec.url")
    env.objects.api.patch_cluster_custom_object(
        "replication.infinibox.io", "v1alpha1", "infiniboxes", env.source, {"spec": {"url": good}}
    )
    env.objects.wait_status("replicas", volume, lambda s: is_true(s, "Ready"), what="Ready=True again")
