"""Issue 6: at rest, 200 replicas cost one list per array per poll, and no Kubernetes writes at all."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import kubernetes
import urllib3
import yaml

from ibox_sim.testing import RunningSimulator
from replica_operator.api import GROUP, VERSION
from tests.integration.operator.conftest import EnvFactory, is_true
from tests.support.wait import wait_for

COUNT = 200


class Watcher:
    """Every change the API server reports on a collection after a given resourceVersion."""

    def __init__(self, list_call: Callable[..., Any], *args: Any) -> None:
        self.events: list[tuple[str, str]] = []
        self._stopping = False
        self._list, self._args = list_call, args
        version = list_call(*args)["metadata"]["resourceVersion"]
        self._watch = kubernetes.watch.Watch()
        self._thread = threading.Thread(target=self._run, args=(version,), daemon=True)
        self._thread.start()

    def _run(self, version: str) -> None:
        try:
            for event in self._watch.stream(
                self._list, *self._args, resource_version=version, timeout_seconds=60
            ):
                self.events.append((event["type"], event["object"]["metadata"]["name"]))
        except urllib3.exceptions.ProtocolError:
            if not self._stopping:  # the stream ends abruptly when we stop it; anything else is real
                raise

    def stop(self) -> list[tuple[str, str]]:
        self._stopping = True
        self._watch.stop()
        self._thread.join(timeout=70)
        return self.events


def test_two_hundred_quiet_replicas_cost_one_list_per_array_and_no_writes(
    make_env: EnvFactory, private_simulator: Callable[..., RunningSimulator]
) -> None:
    env = make_env(private_simulator(initial_sync_seconds=0.5))
    names = [env.name(f"v{i:03d}") for i in range(COUNT)]
    for name in names:
        env.arrays.volume("ibox-1", name)
    manifests = [
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Replica",
            "metadata": {"name": name, "namespace": env.namespace},
            "spec": {
                "source": {"array": env.source, "volume": name},
                "target": {"array": env.target, "pool": "pool-1"},
            },
        }
        for name in names
    ]
    env.objects.cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(manifests), timeout=120)

    def all_ready() -> bool:
        listed = env.objects.api.list_namespaced_custom_object(GROUP, VERSION, env.namespace, "replicas")
        ready = [i for i in listed["items"] if is_true(i.get("status") or {}, "Ready")]
        return len(ready) == COUNT

    wait_for(all_ready, timeout=180, interval=1.0, what=f"{COUNT} replicas Ready")
    assert len(env.arrays.replicas("ibox-1")) == COUNT

    api = env.objects.api
    replicas = Watcher(api.list_namespaced_custom_object, GROUP, VERSION, env.namespace, "replicas")
    arrays = Watcher(api.list_cluster_custom_object, GROUP, VERSION, "infiniboxes")
    core = kubernetes.client.CoreV1Api(env.objects.cluster.api_client())
    events_before = len(core.list_namespaced_event(env.namespace).items)
    mark = env.arrays.requests()[-1]["seq"]

    def polls() -> list[dict[str, Any]] | None:
        seen = env.arrays.requests(mark)
        lists = [r for r in seen if r["method"] == "GET" and r["path"] == "/api/rest/replicas"]
        return seen if len(lists) >= 8 else None  # both arrays, at least three full intervals

    window = wait_for(polls, timeout=30, interval=0.5, what="three poll intervals")
    changed = [e for e in replicas.stop() if e[0] != "ADDED"]
    changed_arrays = [e for e in arrays.stop() if e[0] != "ADDED" and e[1] in (env.source, env.target)]

    # Per poll of an array: one page of replicas and one of links (for link health), nothing per object.
    assert {(r["method"], r["path"]) for r in window} == {
        ("GET", "/api/rest/replicas"),
        ("GET", "/api/rest/links"),
    }
    link_lists = [r for r in window if r["path"] == "/api/rest/links"]
    assert (
        len(link_lists) <= len(window) - len(link_lists) + 2
    )  # at most one per listing (+ the window's edges)
    assert {r["query"].count("page_size=1000") for r in window} == {1}  # one page holds all 200
    assert changed == []
    assert changed_arrays == []
    assert len(core.list_namespaced_event(env.namespace).items) == events_before
