"""The chart with ``sharding.shards``: one Deployment, PodDisruptionBudget and Lease per shard."""

from __future__ import annotations

from typing import Any

import pytest

from replica_operator import sharding
from tests.e2e.shipping.helpers import CHART, Helm, find, one

SHARDED = '--set-json=sharding.shards=["shard1","shard2"]'
FULL = "iro-infinibox-replica-operator"


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return selector.items() <= labels.items()


def _pod_labels(deployment: dict[str, Any]) -> dict[str, str]:
    return dict(deployment["spec"]["template"]["metadata"]["labels"])


def test_each_shard_gets_a_deployment_a_budget_and_a_lease(helm: Helm) -> None:
    from replica_operator.cli import main

    objects = helm.template(SHARDED)
    deployments = {d["metadata"]["name"]: d for d in find(objects, "Deployment")}
    assert set(deployments) == {FULL, f"{FULL}-shard1", f"{FULL}-shard2"}
    leases = set()
    for name, deployment in deployments.items():
        assert deployment["spec"]["replicas"] == 2, name
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        params = main.commands["run"].make_context("run", list(container["args"])).params
        expected = None if name == FULL else name.removeprefix(f"{FULL}-")
        assert params["shard"] == expected, name
        leases.add(sharding.lease_name(params["leader_election_id"], params["shard"]))
        # Only its own Deployment's selector and budget select a shard's pods.
        labels = _pod_labels(deployment)
        assert [
            d for d in deployments if _selects(deployments[d]["spec"]["selector"]["matchLabels"], labels)
        ] == [name]
        budgets = [
            b["metadata"]["name"]
            for b in find(objects, "PodDisruptionBudget")
            if _selects(b["spec"]["selector"]["matchLabels"], labels)
        ]
        assert budgets == [name]
        service = one(objects, "Service", f"{FULL}-metrics")
        assert _selects(service["spec"]["selector"], labels), "the metrics Service misses a shard's pods"
    role = one(objects, "Role", f"{FULL}-leader-election")
    (named,) = [rule for rule in role["rules"] if rule.get("resourceNames")]
    assert set(named["resourceNames"]) == leases == {FULL, f"{FULL}-shard1", f"{FULL}-shard2"}
    assert sorted(named["verbs"]) == ["get", "update"]


def test_without_shards_the_release_renders_as_before(helm: Helm) -> None:
    objects = helm.template()
    assert [d["metadata"]["name"] for d in find(objects, "Deployment")] == [FULL]
    (container,) = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert not [arg for arg in container["args"] if arg.startswith("--shard")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (['--set-json=sharding.shards=["Shard_1"]'], "at '/sharding/shards/0'"),
        (['--set-json=sharding.shards=["a","a"]'], "at '/sharding/shards'"),
        (["--set=sharding.count=2"], "additional properties 'count' not allowed"),
    ],
)
def test_schema_rejects_bad_shards(helm: Helm, args: list[str], message: str) -> None:
    result = helm.run("template", "iro", str(CHART), *args, check=False)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr


def test_sharding_needs_leader_election(helm: Helm) -> None:
    args = (SHARDED, "--set=leaderElection.enabled=false", "--set=replicaCount=1")
    result = helm.run("template", "iro", str(CHART), *args, check=False)
    assert result.returncode != 0
    assert "sharding needs leaderElection.enabled" in result.stderr, result.stderr
