"""kstatus and Argo CD health of objects the real operator drove into each state (issue 16, item 5).

Unlike test_health_states.py (status written by hand), here ``replica-operator run`` (a
subprocess) works against the real API server and two ``ibox-sim`` instances over HTTP: one with
an initial sync that never ends by itself (initializing, a deferred type change; the others are
completed through the simulator's admin API), and one whose source array is then cut off. The
"just edited" state is made by stopping the operator, editing the spec and reading before it
runs again. Every object is read back with ``kubectl get -o json`` and judged by the health helper
(cli-utils' kstatus, and our Lua in gopher-lua as Argo CD runs it); the answers are the table in
docs/health.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ibox_sim.testing import RunningSimulator
from tests.integration.operator import conftest as operator_suite
from tests.integration.operator.conftest import Env, EnvFactory, condition_of, is_true
from tests.support.kube import Cluster
from tests.support.operator import OperatorProcess
from tests.support.wait import wait_for
from tests.unit.shipping.argocd_health import installed
from tests.unit.shipping.health_tool import Verdict

# The operator suite's fixtures: its operator, and worlds of two InfiniBoxes on a simulator.
operator = operator_suite.operator
make_env = operator_suite.make_env
private_simulator = operator_suite.private_simulator

HOLD = "kstatus.test.infinibox.io/hold"
"""A finalizer of the test's own: the object stays in deletion after the operator let it go."""
NEVER_ENDS = 3600.0
Status = dict[str, Any]


@dataclass(frozen=True)
class Expect:
    """One row of docs/health.md: each tool's status and how its message starts."""

    kstatus: str
    kstatus_message: str
    argocd: str
    argocd_message: str

    def matches(self, verdict: Verdict) -> bool:
        argocd = verdict.argocd
        return (
            verdict.lua_error is None
            and argocd is not None
            and (verdict.kstatus.status, argocd.status) == (self.kstatus, self.argocd)
            and verdict.kstatus.message.startswith(self.kstatus_message)
            and argocd.message.startswith(self.argocd_message)
        )


REPLICA_STATES = {
    "initializing": Expect("InProgress", "replica ", "Progressing", "Initial synchronization in progress ("),
    "type-change-deferred": Expect(
        "InProgress",
        "the change to SYNC waits for the initial sync to finish",
        "Progressing",
        "Change to SYNC deferred: the change to SYNC waits for the initial sync (INITIALIZING)",
    ),
    "ready": Expect("Current", "Resource is Ready", "Healthy", "ASYNC replica "),
    "suspended": Expect(
        "Current", "Resource is Ready", "Suspended", "Replication is suspended (spec.suspended is true)"
    ),
    "entity-missing": Expect("Failed", "volume ", "Degraded", "EntityNotFound: volume "),
    "conflict": Expect("Failed", "volume ", "Degraded", "Conflict: volume "),
    "array-unreachable": Expect(
        "InProgress", "last known state is shown; ", "Degraded", "ArrayUnreachable: "
    ),
    "deleting": Expect("Terminating", "Resource scheduled for deletion", "Progressing", "Pending deletion"),
    "not-yet-observed": Expect(
        "InProgress",
        "Replica generation is 2, but latest observed generation is 1",
        "Progressing",
        "Waiting for the operator to observe generation 2 (status is of 1)",
    ),
}


def _reason(kind: str, reason: str) -> Callable[[Status], bool]:
    return lambda status: condition_of(status, kind).get("reason") == reason


def _synchronized(status: Status) -> bool:
    return is_true(status, "Ready") and status.get("syncState") == "SYNCHRONIZED"


class DrivenReplicas:
    """One Replica per state: ``slow`` never finishes an initial sync by itself, ``lossy`` loses ibox-1."""

    def __init__(self, slow: Env, lossy: Env) -> None:
        self.slow, self.lossy = slow, lossy
        self.names = {state: slow.name(state) for state in REPLICA_STATES}
        self.names["array-unreachable"] = lossy.name("array-unreachable")

    def env(self, state: str) -> Env:
        return self.lossy if state == "array-unreachable" else self.slow

    def wait(self, state: str, check: Callable[[Status], bool], timeout: float = 30) -> Status:
        return self.env(state).objects.wait_status(
            "replicas", self.names[state], check, timeout=timeout, what=state
        )

    def create(self) -> None:
        """Every object at once, so the operator works on them side by side."""
        for state, name in self.names.items():
            env = self.env(state)
            if state == "conflict":
                self._replica_by_hand(name)
            elif state != "entity-missing":
                env.arrays.volume("ibox-1", name)
            if state == "deleting":
                self._held_replica(name)
            else:
                env.replica(name, volume=name)

    def drive(self) -> None:
        """Into each state but the two made while the operator is stopped (see ``freeze``)."""
        self.create()
        for state in ("ready", "suspended", "not-yet-observed"):
            self._complete_initial_sync(state)
        self.wait(
            "initializing", lambda s: s.get("syncState") == "INITIALIZING" and is_true(s, "Reconciling")
        )
        self.wait("type-change-deferred", lambda s: s.get("syncState") == "INITIALIZING")
        self._patch("type-change-deferred", {"replicationType": "SYNC"})
        self.wait("type-change-deferred", lambda s: s.get("pendingReplicationType") == "SYNC")
        self.wait("suspended", _synchronized)
        self._patch("suspended", {"suspended": True})
        self.wait("suspended", lambda s: s.get("state") == "SUSPENDED" and is_true(s, "Ready"))
        self.wait("ready", _synchronized)
        self.wait("not-yet-observed", _synchronized)
        self.wait("entity-missing", _reason("Stalled", "EntityNotFound"))
        self.wait("conflict", _reason("Stalled", "Conflict"))
        self.wait("deleting", lambda s: s.get("replicaId") is not None)
        self.slow.objects.delete("replicas", self.names["deleting"])
        self._wait_released("deleting")
        self.wait("array-unreachable", _synchronized)
        self.lossy.arrays.admin("PUT", "/_sim/faults", {"drop_rate": 1.0, "systems": ["ibox-1"]})
        self.wait("array-unreachable", _reason("Synced", "ArrayUnreachable"), timeout=60)

    def freeze(self, operator: OperatorProcess, cluster: Cluster) -> dict[str, dict[str, Any]]:
        """Stop the operator, edit one spec, and read every object as the API server has it."""
        operator.stop()
        try:
            self._patch("not-yet-observed", {"rpo": "10m"})
            listed = cluster.kubectl_json("-n", self.slow.namespace, "get", "replicas")
        finally:
            operator.start()
        read = {item["metadata"]["name"]: item for item in listed["items"]}
        return {state: read[name] for state, name in self.names.items()}

    def release(self) -> None:
        """Heal the lost array and let the held object go (cleanup deletes the rest through the operator)."""
        self.lossy.arrays.admin("DELETE", "/_sim/faults")
        name = self.names["deleting"]
        if self.slow.objects.get("replicas", name) is not None:
            self.slow.objects.patch("replicas", name, {"metadata": {"finalizers": None}})

    # -- the steps ---------------------------------------------------------------------------------
    def _patch(self, state: str, spec: dict[str, Any]) -> None:
        self.env(state).objects.patch("replicas", self.names[state], {"spec": spec})

    def _complete_initial_sync(self, state: str) -> None:
        replica_id = self.wait(state, lambda s: s.get("replicaId") is not None)["replicaId"]
        self.slow.arrays.admin("POST", f"/_sim/replicas/ibox-1/{replica_id}/complete-initialization")

    def _held_replica(self, name: str) -> None:
        self.slow.objects.apply(
            {
                "kind": "Replica",
                "metadata": {"name": name, "namespace": self.slow.namespace, "finalizers": [HOLD]},
                "spec": {
                    "source": {"array": self.slow.source, "volume": name},
                    "target": {"array": self.slow.target, "pool": "pool-1"},
                },
            }
        )

    def _wait_released(self, state: str) -> None:
        """The operator did its part of the deletion: only the test's finalizer is left."""

        def released() -> bool:
            body = self.slow.objects.get("replicas", self.names[state]) or {}
            finalizers: list[str] = body.get("metadata", {}).get("finalizers") or []
            return finalizers == [HOLD]

        wait_for(released, timeout=30, interval=0.25, what="the operator to remove its finalizer")

    def _replica_by_hand(self, name: str) -> None:
        """A replica of the volume that no Kubernetes object owns: adopting it would be taking it over."""
        arrays = self.slow.arrays
        local = arrays.volume("ibox-1", name)
        link = arrays.call("ibox-1", "GET", "/links", name="eq:to-ibox-2")[0]
        pair = {"local_entity_id": local["id"], "remote_base_action": "CREATE", "remote_entity_id": None}
        body = {
            "link_id": link["id"],
            "entity_type": "VOLUME",
            "remote_pool_id": arrays.pool_id("ibox-2"),
            "description": "made by hand",
            "entity_pairs": [pair],
        }
        arrays.call("ibox-1", "POST", "/replicas", body)


def _answers(verdicts: dict[str, Verdict]) -> dict[str, tuple[str, str, str, str]]:
    """What the helper said, in the shape of a table row (for a readable assertion diff)."""
    return {
        state: (
            v.kstatus.status,
            v.kstatus.message,
            v.argocd.status if v.argocd else "",
            v.argocd.message if v.argocd else str(v.lua_error),
        )
        for state, v in verdicts.items()
    }


def test_objects_the_operator_drove_get_the_tables_kstatus_and_argo_cd_health(
    make_env: EnvFactory,
    private_simulator: Callable[..., RunningSimulator],
    operator: OperatorProcess,
    cluster: Cluster,
) -> None:
    slow = make_env(private_simulator(initial_sync_seconds=NEVER_ENDS))
    lossy = make_env(private_simulator(initial_sync_seconds=1))
    replicas = DrivenReplicas(slow, lossy)
    try:
        replicas.drive()
        objects = replicas.freeze(operator, cluster)
    finally:
        replicas.release()
    verdicts = dict(zip(objects, installed(list(objects.values())), strict=True))
    wrong = {s: a for s, a in _answers(verdicts).items() if not REPLICA_STATES[s].matches(verdicts[s])}
    assert wrong == {}, json.dumps(_answers(verdicts), indent=1)
    assert objects["deleting"]["metadata"]["deletionTimestamp"]
    edited = objects["not-yet-observed"]
    assert (edited["metadata"]["generation"], edited["status"]["observedGeneration"]) == (2, 1)


def test_the_operator_writes_the_kstatus_conditions_with_their_generation(
    make_env: EnvFactory, private_simulator: Callable[..., RunningSimulator]
) -> None:
    """Reconciling and Stalled beside Ready and Synced, never both True, each of the status's generation."""
    env = make_env(private_simulator(initial_sync_seconds=NEVER_ENDS))
    name = env.name("gen")
    env.arrays.volume("ibox-1", name)
    env.replica(name, volume=name)
    env.objects.wait_status("replicas", name, _reason("Reconciling", "Initializing"))
    env.objects.patch("replicas", name, {"spec": {"replicationType": "SYNC"}})
    status = env.objects.wait_status("replicas", name, _reason("Reconciling", "TypeChangeDeferred"))
    conditions = {c["type"]: c for c in status["conditions"]}
    assert {"Ready", "Synced", "Reconciling", "Stalled"} <= set(conditions)
    assert conditions["Stalled"]["status"] == "False"
    assert status["observedGeneration"] == 2
    assert {c["observedGeneration"] for c in conditions.values()} == {2}


ARRAY_STATES = {
    "connected": Expect("Current", "Resource is current", "Healthy", "logged in to "),
    "unauthorized": Expect(
        "Failed", "the array refused the credentials", "Degraded", "Unauthorized: the array refused"
    ),
    "secret-missing": Expect("Failed", "Secret ", "Degraded", "SecretNotFound: Secret "),
    "unreachable": Expect("InProgress", "reconnecting: ", "Degraded", "ArrayUnreachable: "),
}
CLOSED_PORT_URL = "http://127.0.0.1:1"
"""Nothing listens on port 1 of the loopback: the connection is refused at once."""


def test_infiniboxes_stall_on_bad_credentials_and_a_missing_secret_and_reconcile_while_away(
    make_env: EnvFactory, private_simulator: Callable[..., RunningSimulator], cluster: Cluster
) -> None:
    env = make_env(private_simulator())
    cluster.credentials_secret(env.namespace, "wrong", password="not-the-password")
    names = {
        "connected": env.source,
        "unauthorized": env.infinibox(env.name("bad"), "ibox-1", secret="wrong"),
        "secret-missing": env.infinibox(env.name("nosecret"), "ibox-1", secret="absent"),
        "unreachable": env.infinibox(env.name("away"), "ibox-1", url=CLOSED_PORT_URL),
    }
    reached = {
        "connected": lambda s: is_true(s, "Connected"),
        "unauthorized": _reason("Stalled", "Unauthorized"),
        "secret-missing": _reason("Stalled", "SecretNotFound"),
        "unreachable": _reason("Reconciling", "ArrayUnreachable"),
    }
    for state, name in names.items():
        env.objects.wait_status("infiniboxes", name, reached[state], what=state)
    read = {
        state: cluster.kubectl_json("get", "infiniboxes.replication.infinibox.io", name)
        for state, name in names.items()
    }
    verdicts = dict(zip(read, installed(list(read.values())), strict=True))
    wrong = {s: a for s, a in _answers(verdicts).items() if not ARRAY_STATES[s].matches(verdicts[s])}
    assert wrong == {}, json.dumps(_answers(verdicts), indent=1)
    assert "not-the-password" not in json.dumps(read)
