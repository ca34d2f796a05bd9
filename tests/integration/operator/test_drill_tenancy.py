"""A hostile tenant and ReplicaDrill: an ObserveOnly Replica may report another namespace's replica,
but a drill of it would hand that namespace's data, as a writable snapshot in a claim, to the
tenant. Before: the drill took the snapshot and made the claim. Now: refused, nothing made."""

from __future__ import annotations

from typing import Any

from tests.integration.operator.conftest import Env, Objects, condition_of, is_true
from tests.integration.operator.test_claims import claims
from tests.integration.operator.test_ownership import _foreign, other_namespace

__all__ = ["claims", "other_namespace"]  # fixtures, used by name


def _drill(objects: Objects, name: str, replica: str) -> None:
    objects.apply(
        {
            "kind": "ReplicaDrill",
            "metadata": {"name": name, "namespace": objects.namespace},
            "spec": {"replicaRef": {"name": replica}},
        }
    )


def _snapshots(env: Env) -> list[dict[str, Any]]:
    volumes = env.arrays.call("ibox-2", "GET", "/volumes", page_size=1000)
    return [v for v in volumes if v.get("type") == "SNAPSHOT" and str(v.get("name", "")).startswith("drill-")]


def test_a_drill_never_exposes_another_namespaces_replica(claims: Env, other_namespace: Objects) -> None:
    env, cluster = claims, claims.objects.cluster
    volume = env.name("db")
    env.arrays.volume("ibox-1", volume)
    env.replica(volume, volume=volume, replicationType="SYNC")
    owned = env.objects.wait_status("replicas", volume, lambda s: is_true(s, "Ready"), timeout=60)

    spy = env.name("spy")
    _foreign(env, other_namespace, spy, volume, managementPolicy="ObserveOnly", replicationType="SYNC")
    other_namespace.wait_status(
        "replicas", spy, lambda s: s.get("replicaId") == owned["replicaId"] and bool(s.get("currentTarget"))
    )
    before = len(_snapshots(env))
    _drill(other_namespace, spy, spy)
    try:
        refused = other_namespace.wait_status(
            "replicadrills", spy, lambda s: condition_of(s, "Ready").get("reason") == "NotOwned", timeout=60
        )
        assert f"{env.namespace}/{volume}" in condition_of(refused, "Ready")["message"]
        assert condition_of(refused, "Stalled")["status"] == "True"
        assert "snapshot" not in refused
        assert len(_snapshots(env)) == before  # no snapshot of the other namespace's data
        claims_there = cluster.kubectl_json("-n", other_namespace.namespace, "get", "pvc")["items"]
        assert claims_there == []

        # The owner's own namespace may drill it: the refusal is about tenancy, not drills.
        _drill(env.objects, volume, volume)
        ready = env.objects.wait_status("replicadrills", volume, lambda s: is_true(s, "Ready"), timeout=90)
        assert ready["snapshot"]["parent"] == volume
        env.objects.delete("replicadrills", volume)
        env.objects.wait_gone("replicadrills", volume, timeout=60)
    finally:
        other_namespace.delete("replicadrills", spy)
        other_namespace.wait_gone("replicadrills", spy, timeout=60)
