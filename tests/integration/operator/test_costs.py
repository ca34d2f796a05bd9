"""Issue 14 item 12: costs that do not grow with the number of objects; issue 19: writes per object.

A missing Secret is read once per array per poll (not once per object per poll), and
objects deleted while the operator was away no longer count as users of an array. A created
object costs at most four Kubernetes writes on its way to Ready.
"""

from __future__ import annotations

from typing import Any

import yaml

from replica_operator.api import API_VERSION, FINALIZER
from tests.integration.operator.conftest import Env, condition_of, is_true
from tests.support.admission import install_finalizer_policy
from tests.support.kube import Cluster, writes_between
from tests.support.operator import OperatorProcess, kube_requests
from tests.support.wait import wait_for

OBJECTS = 50
POLLS = 3
WRITE_OBJECTS = 4


def _passes(operator: OperatorProcess, arrays: tuple[str, ...]) -> float:
    """Finished poll passes of these arrays, by the operator's counter."""
    total = 0.0
    for line in operator.metrics().splitlines():
        if line.startswith("replica_operator_poll_passes_total{"):
            labels, value = line.rsplit(" ", 1)
            if any(f'array="{array}"' in labels for array in arrays):
                total += float(value)
    return total


def _replicas(
    env: Env, source: str, target: str, count: int = 0, *, names: list[str] | None = None, **spec: Any
) -> list[str]:
    """``count`` Replicas (or one per name) from ``source`` to ``target``, applied in one call."""
    names = names or [env.name(f"r{number}") for number in range(count)]
    items = [
        {
            "apiVersion": API_VERSION,
            "kind": "Replica",
            "metadata": {"name": name, "namespace": env.namespace},
            "spec": {
                "source": {"array": source, "volume": name},
                "target": {"array": target, "pool": "pool-1"},
                **spec,
            },
        }
        for name in names
    ]
    env.objects.cluster.kubectl(
        "apply", "-f", "-", input=yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items})
    )
    return names


def test_a_missing_secret_is_read_once_per_array_per_poll(env: Env, operator: OperatorProcess) -> None:
    arrays = (
        env.infinibox(env.name("nosecret-a"), "ibox-1", secret="missing"),
        env.infinibox(env.name("nosecret-b"), "ibox-2", secret="missing"),
    )
    names = _replicas(env, *arrays, OBJECTS, deletionPolicy="Orphan")
    for name in names:
        env.objects.wait_status(
            "replicas", name, lambda s: condition_of(s, "Ready").get("reason") == "SecretNotFound"
        )
    gets, passes = (
        kube_requests(operator.metrics(), verb="get", resource="secrets"),
        _passes(operator, arrays),
    )
    wait_for(
        lambda: _passes(operator, arrays) >= passes + POLLS * len(arrays),
        timeout=30,
        what=f"{POLLS} polls of each array",
    )
    gets_after, passes_after = (
        kube_requests(operator.metrics(), verb="get", resource="secrets"),
        _passes(operator, arrays),
    )
    # One read per array per poll; env's own two arrays poll meanwhile too (one read each per poll).
    polls = passes_after - passes
    allowed = 2 * (polls + len(arrays))
    assert gets_after - gets <= allowed, f"{gets_after - gets} Secret reads in {polls} polls"


def test_objects_deleted_while_the_operator_was_down_stop_counting_as_users(
    env: Env, operator: OperatorProcess
) -> None:
    names = _replicas(env, env.source, env.target, 3, deletionPolicy="Orphan", managementPolicy="ObserveOnly")
    env.objects.wait_status(
        "infiniboxes", env.source, lambda s: condition_of(s, "InUse").get("status") == "True"
    )
    operator.stop()
    for name in names:
        env.objects.patch("replicas", name, {"metadata": {"finalizers": None}})
        env.objects.delete("replicas", name)
        env.objects.wait_gone("replicas", name)
    operator.start()
    status = env.objects.wait_status(
        "infiniboxes", env.source, lambda s: condition_of(s, "InUse").get("status") == "False"
    )
    assert condition_of(status, "InUse")["reason"] == "NotInUse"


WRITES_PER_OBJECT = 4  # issue 19: status when created, status when Ready, and their two Events


def test_at_most_four_kubernetes_writes_per_object_on_the_way_to_ready(env: Env) -> None:
    """Counted by the API server itself (``apiserver_request_total``), as the bench counts them,
    with the chart's finalizer policy installed for this namespace."""
    cluster = env.objects.cluster
    rendered = install_finalizer_policy(cluster, f"w{env.prefix}", env.namespace)
    try:
        for array in (env.source, env.target):
            env.objects.wait_status("infiniboxes", array, lambda s: is_true(s, "Connected"))
        names = [env.name(f"w{number}") for number in range(WRITE_OBJECTS)]
        for name in names:
            env.arrays.volume("ibox-1", name)
        before = cluster.api_requests()
        _replicas(env, env.source, env.target, names=names)
        for name in names:
            env.objects.wait_status("replicas", name, lambda s: is_true(s, "Ready"), what=f"{name} Ready")
        wait_for(
            lambda: _reasons(cluster, env.namespace) >= {(n, r) for n in names for r in ("Created", "Ready")},
            timeout=15,
            what="the Created and Ready Events of every object",
        )
        writes = writes_between(before, cluster.api_requests())
    finally:
        cluster.kubectl("delete", "-f", "-", input=rendered)
    ours = {
        key: value
        for key, value in writes.items()
        if key.split()[1] in ("replicas", "replicas/status", "events")
    }
    ours["POST replicas"] -= len(names)  # kubectl's creates
    assert sum(ours.values()) <= WRITES_PER_OBJECT * len(names), ours
    for name in names:  # the policy set the finalizer, so kopf did not
        assert env.objects.get("replicas", name)["metadata"]["finalizers"] == [FINALIZER]


def _reasons(cluster: Cluster, namespace: str) -> set[tuple[str, str]]:
    events = cluster.kubectl_json("-n", namespace, "get", "events")["items"]
    return {(event["involvedObject"]["name"], event["reason"]) for event in events}
