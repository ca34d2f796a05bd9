"""Issue 17 (RBAC): creating PVs and claims is granted only for the features that make them, and
that grant is enough. With the chart's defaults the ServiceAccount can only read claims and PVs;
with rbac.targetClaims and rbac.drills the real operator, running with the account's token, makes
a Replica's target claim and a drill's claim, and removes both."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.shipping.helpers import (
    Helm,
    Identity,
    installed,
    operator_as_chart_account,
    serviceaccount_kubeconfig,
)
from tests.support.arrays import SimArrays
from tests.support.kube import Cluster
from tests.support.operator import OperatorProcess
from tests.support.wait import wait_for

GROUP = "replication.infinibox.io/v1alpha1"


def _account(cluster: Cluster, namespace: str, release: str, path: Path) -> tuple[str, Identity]:
    accounts = cluster.kubectl_json(
        "-n", namespace, "get", "serviceaccounts", "-l", f"app.kubernetes.io/instance={release}"
    )
    (account,) = [item["metadata"]["name"] for item in accounts["items"]]
    return account, Identity(serviceaccount_kubeconfig(cluster, namespace, account, path))


def _apply(cluster: Cluster, *manifests: dict[str, Any]) -> None:
    cluster.kubectl("apply", "-f", "-", input="\n---\n".join(json.dumps(m) for m in manifests))


def _status(cluster: Cluster, namespace: str, kind: str, name: str) -> dict[str, Any]:
    return dict(cluster.kubectl_json("-n", namespace, "get", kind, name).get("status") or {})


def _ready(status: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions") or [])


def _gone(cluster: Cluster, *resource: str) -> bool:
    return "NotFound" in cluster.kubectl("get", *resource, check=False).stderr


@pytest.mark.usefixtures("crds")
def test_by_default_the_account_only_reads_claims_and_volumes(
    cluster: Cluster, kube_helm: Helm, namespace: str, release_name: str, tmp_path: Path
) -> None:
    with installed(kube_helm, cluster, release_name, namespace):
        _, identity = _account(cluster, namespace, release_name, tmp_path / "sa.kubeconfig")
        assert identity.can_i("get", "persistentvolumes")
        assert identity.can_i("get", "persistentvolumeclaims", namespace=namespace)
        for verb in ("create", "delete"):
            assert not identity.can_i(verb, "persistentvolumes")
            assert not identity.can_i(verb, "persistentvolumeclaims", namespace=namespace)


@pytest.mark.usefixtures("crds", "volume_binder")
def test_target_claims_and_drills_run_with_the_charts_serviceaccount(
    cluster: Cluster,
    kube_helm: Helm,
    namespace: str,
    release_name: str,
    tmp_path: Path,
    exclusive_operator: OperatorProcess,
) -> None:
    values = ("--set=rbac.targetClaims=true", "--set=rbac.drills=true")
    with operator_as_chart_account(
        kube_helm, cluster, release_name, namespace, tmp_path / "sa.kubeconfig", *values
    ) as running:
        assert running.identity.can_i("create", "persistentvolumes")
        running.arrays.volume("ibox-1", "sa-db")
        _target_claim_and_drill(cluster, running.arrays, namespace, release_name)
    log = running.log
    assert "Forbidden" not in log
    assert " 403" not in log


def _target_claim_and_drill(cluster: Cluster, arrays: SimArrays, namespace: str, prefix: str) -> None:
    source, target = f"{prefix}-src", f"{prefix}-dst"
    _apply(
        cluster,
        *(
            {
                "apiVersion": GROUP,
                "kind": "InfiniBox",
                "metadata": {"name": name},
                "spec": {
                    "url": arrays.url(system),
                    "pollInterval": "1s",
                    "credentialsSecretRef": {"name": "creds", "namespace": namespace},
                },
            }
            for name, system in ((source, "ibox-1"), (target, "ibox-2"))
        ),
        {
            "apiVersion": GROUP,
            "kind": "Replica",
            "metadata": {"name": "sa-db", "namespace": namespace},
            "spec": {
                "source": {"array": source, "volume": "sa-db"},
                "target": {"array": target, "pool": "pool-1", "persistentVolumeClaim": {"name": "sa-db-dr"}},
                "replicationType": "SYNC",
            },
        },
    )

    def with_claim() -> dict[str, Any] | None:
        status = _status(cluster, namespace, "replica", "sa-db")
        return status if status.get("targetClaim") else None

    status = wait_for(
        with_claim,
        timeout=90,
        what="the target claim made as the chart's ServiceAccount",
    )
    target_pv = status["targetClaim"]["persistentVolume"]
    wait_for(
        lambda: (
            cluster.kubectl_json("-n", namespace, "get", "pvc", "sa-db-dr")["status"].get("phase") == "Bound"
        ),
        timeout=60,
        what="the target claim bound",
    )
    _apply(
        cluster,
        {
            "apiVersion": GROUP,
            "kind": "ReplicaDrill",
            "metadata": {"name": "sa-drill", "namespace": namespace},
            "spec": {"replicaRef": {"name": "sa-db"}},
        },
    )

    def drill_ready() -> dict[str, Any] | None:
        status = _status(cluster, namespace, "replicadrill", "sa-drill")
        return status if _ready(status) else None

    drill = wait_for(
        drill_ready,
        timeout=90,
        what="the drill Ready as the chart's ServiceAccount",
    )
    drill_pv, drill_claim = drill["persistentVolume"], drill["persistentVolumeClaim"]
    wait_for(
        lambda: (
            cluster.kubectl_json("-n", namespace, "get", "pvc", drill_claim)["status"].get("phase") == "Bound"
        ),
        timeout=60,
        what="the drill's claim bound",
    )

    cluster.kubectl("-n", namespace, "delete", "replicadrill", "sa-drill", "--timeout=90s")
    assert _gone(cluster, "pv", drill_pv)
    assert _gone(cluster, "-n", namespace, "pvc", drill_claim)
    assert arrays.call("ibox-2", "GET", "/volumes", name=f"eq:{drill['snapshot']['name']}") == []

    cluster.kubectl("-n", namespace, "delete", "replica", "sa-db", "--timeout=90s")
    wait_for(lambda: _gone(cluster, "pv", target_pv), timeout=30, what="the target PV deleted")
    wait_for(
        lambda: _gone(cluster, "-n", namespace, "pvc", "sa-db-dr"),
        timeout=30,
        what="the target claim deleted",
    )
    for name in (source, target):
        cluster.kubectl("delete", "infiniboxes", name, "--timeout=60s")
