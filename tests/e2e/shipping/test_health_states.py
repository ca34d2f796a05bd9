"""kstatus and Argo CD health of Replicas read back from the real API server, state by state.

Each Replica is created with kubectl and given, through the status subresource, the status the
operator writes in that state (Ready/Synced plus the kstatus conditions Reconciling and Stalled,
with observedGeneration); deletion and an unobserved edit are made for real. The objects are then
read with ``kubectl get -o json`` and judged by the health helper: cli-utils' kstatus, and
replication.lua in gopher-lua as Argo CD runs it (installed from deploy/argocd/argocd-cm.yaml).
The table is the one in docs/health.md.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.kube import Cluster
from tests.support.operator import OperatorProcess
from tests.unit.shipping.argocd_health import cases, installed
from tests.unit.shipping.health_tool import Health, Verdict

FINALIZER = "replication.infinibox.io/finalizer"

# state -> (testdata object whose spec and status it uses, kstatus, Argo CD health)
EXPECTED: dict[str, tuple[str, Health, Health]] = {
    "initializing": (
        "initializing",
        Health("InProgress", "replica 1042 is copying the initial data to the target"),
        Health("Progressing", "Initial synchronization in progress (42%)"),
    ),
    "type-change-deferred": (
        "type-change-deferred",
        Health("InProgress", "the change to SYNC waits for the initial sync (INITIALIZING) to finish"),
        Health(
            "Progressing",
            "Change to SYNC deferred: The array cannot change ASYNC to SYNC while the replica is "
            "INITIALIZING; the change is applied when the initial sync ends",
        ),
    ),
    "ready": (
        "healthy",
        Health("Current", "Resource is Ready"),
        Health("Healthy", "ASYNC replica 1042 is ACTIVE and SYNCHRONIZED"),
    ),
    "suspended": (
        "suspended",
        Health("Current", "Resource is Ready"),
        Health("Suspended", "Replication is suspended (spec.suspended is true)"),
    ),
    "entity-missing": (
        "not-found",
        Health("Failed", "Volume db-vol-1 does not exist on ibox-1"),
        Health("Degraded", "NotFound: Volume db-vol-1 does not exist on ibox-1"),
    ),
    "conflict": (
        "conflict",
        Health(
            "Failed",
            "Replica 977 of volume db-vol-1 on link to-ibox-2 belongs to databases/other-replica "
            "(uid 0d6e...)",
        ),
        Health(
            "Degraded",
            "Conflict: Replica 977 of volume db-vol-1 on link to-ibox-2 belongs to databases/other-replica "
            "(uid 0d6e...)",
        ),
    ),
    "array-unreachable": (
        "array-unreachable",
        Health("InProgress", "Last known state: ACTIVE"),
        Health("Degraded", "ArrayUnreachable: ibox-1 (https://ibox-1.example.com): connection refused"),
    ),
    "deleting": (
        "healthy",
        Health("Terminating", "Resource scheduled for deletion"),
        Health("Progressing", "Pending deletion"),
    ),
    "not-yet-observed": (
        "healthy",
        Health("InProgress", "Replica generation is 2, but latest observed generation is 1"),
        Health("Progressing", "Waiting for the operator to observe generation 2 (status is of 1)"),
    ),
}


def _testdata(name: str) -> dict[str, Any]:
    return next(case for case in cases("Replica") if case.input_path == f"testdata/{name}.yaml").load()


def _observed_at(status: dict[str, Any], generation: int) -> dict[str, Any]:
    """The status as the operator writes it after observing ``generation``."""
    status = copy.deepcopy(status)
    status["observedGeneration"] = generation
    for condition in status.get("conditions", []):
        condition["observedGeneration"] = generation
    return status


def _deleting(status: dict[str, Any]) -> dict[str, Any]:
    """The last pass before the finalizer goes: Synced False Deleting, as reconcile/status writes it."""
    for condition in status["conditions"]:
        if condition["type"] == "Synced":
            condition.update(status="False", reason="Deleting", message="the replica is being deleted")
    return status


class States:
    """Creates one Replica per state in a namespace of its own and drives it there with kubectl."""

    def __init__(self, cluster: Cluster, namespace: str) -> None:
        self.cluster, self.namespace = cluster, namespace

    def create(self, state: str) -> str:
        source = _testdata(EXPECTED[state][0])
        name = f"{state}-{uuid.uuid4().hex[:6]}"
        metadata: dict[str, Any] = {"name": name, "namespace": self.namespace, "finalizers": [FINALIZER]}
        obj = {"apiVersion": source["apiVersion"], "kind": "Replica", "metadata": metadata}
        created = self._apply({**obj, "spec": source["spec"]})
        status = _observed_at(source["status"], created["metadata"]["generation"])
        if state == "deleting":
            status = _deleting(status)
        self.kubectl("patch", "replica", name, "--subresource=status", "--type=merge", "-p", _patch(status))
        if state == "deleting":
            self.kubectl("delete", "replica", name, "--wait=false")
        if state == "not-yet-observed":
            self.kubectl("patch", "replica", name, "--type=merge", "-p", json.dumps({"spec": {"rpo": "10m"}}))
        return name

    def _apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        out = self.kubectl("create", "-o", "json", "-f", "-", input=json.dumps(obj)).stdout
        created: dict[str, Any] = json.loads(out)
        return created

    def kubectl(self, *args: str, input: str | None = None) -> Any:
        return self.cluster.kubectl("-n", self.namespace, *args, input=input)

    def release(self, name: str) -> None:
        """Let the object go: no operator runs to remove the finalizer."""
        self.kubectl("patch", "replica", name, "--type=merge", "-p", '{"metadata": {"finalizers": null}}')
        self.kubectl("delete", "replica", name, "--ignore-not-found", "--wait=false")


def _patch(status: dict[str, Any]) -> str:
    return json.dumps({"status": status})


@pytest.fixture(scope="module")
def verdicts(
    cluster: Cluster, crds: list[str], operator_process: OperatorProcess
) -> Iterator[dict[str, tuple[dict[str, Any], Verdict]]]:
    """Every state's object as the API server returns it, with the helper's verdict on it."""
    operator_process.stop()  # no operator: it would write its own status over the hand-written one
    namespace = f"t-health-{uuid.uuid4().hex[:8]}"
    cluster.kubectl("create", "namespace", namespace)
    states = States(cluster, namespace)
    names = {state: states.create(state) for state in EXPECTED}
    try:
        listed = cluster.kubectl_json("-n", namespace, "get", "replicas")
        read = {item["metadata"]["name"]: item for item in listed["items"]}
        objects = [read[name] for name in names.values()]
        judged = installed(objects)
        yield {state: (obj, verdict) for state, obj, verdict in zip(names, objects, judged, strict=True)}
    finally:
        for name in names.values():
            states.release(name)
        cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


@pytest.mark.parametrize("state", list(EXPECTED))
def test_kstatus_and_argo_cd_health_of_each_state(
    verdicts: dict[str, tuple[dict[str, Any], Verdict]], state: str
) -> None:
    obj, verdict = verdicts[state]
    _, kstatus, argocd = EXPECTED[state]
    assert verdict.lua_error is None
    assert (verdict.kstatus, verdict.argocd) == (kstatus, argocd)
    assert (verdict.namespace, verdict.name) == (obj["metadata"]["namespace"], obj["metadata"]["name"])


def test_the_states_are_what_the_api_server_stored(
    verdicts: dict[str, tuple[dict[str, Any], Verdict]],
) -> None:
    """The verdicts are about real server state: deletion and the unobserved edit took effect."""
    deleting, _ = verdicts["deleting"]
    assert deleting["metadata"].get("deletionTimestamp")
    edited, _ = verdicts["not-yet-observed"]
    assert (edited["metadata"]["generation"], edited["status"]["observedGeneration"]) == (2, 1)
    for state, (obj, _) in verdicts.items():
        conditions = {c["type"]: c for c in obj["status"]["conditions"]}
        assert {"Ready", "Synced", "Reconciling", "Stalled"} <= set(conditions), state
        assert all(
            c["observedGeneration"] == obj["status"]["observedGeneration"] for c in conditions.values()
        )


def test_argo_cd_agrees_with_kstatus_on_stalled_and_reconciling(
    verdicts: dict[str, tuple[dict[str, Any], Verdict]],
) -> None:
    """Stalled=True: Failed and Degraded (Flux stops waiting on a missing volume, issue 16);
    Reconciling=True: InProgress and Progressing. Both hold on every state that sets them."""
    stalled, reconciling = set(), set()
    for state, (obj, verdict) in verdicts.items():
        conditions = {c["type"]: c["status"] for c in obj["status"]["conditions"]}
        pair = (verdict.kstatus.status, verdict.argocd.status if verdict.argocd else None)
        if conditions["Stalled"] == "True":
            stalled.add(state)
            assert pair == ("Failed", "Degraded"), state
        if conditions["Reconciling"] == "True":
            reconciling.add(state)
            assert pair == ("InProgress", "Progressing"), state
    assert stalled == {"entity-missing", "conflict"}
    assert reconciling == {"initializing", "type-change-deferred"}
