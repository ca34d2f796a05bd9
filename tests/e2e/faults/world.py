"""The fault suite's world: a namespace, two InfiniBox objects on a simulator that allows duplicate
replicas, the shared operator, and the checks every scenario ends with.

Convergence here means status equals the arrays (state, syncState, type, rpo, role and both
replica ids, read on both arrays), with one replica per entity, matched by id across."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

from ibox_sim.testing import RunningSimulator
from replica_operator.api import GROUP, VERSION
from tests.integration.operator.conftest import Objects, is_true
from tests.support.arrays import SimArrays
from tests.support.kube import Cluster
from tests.support.operator import OperatorProcess
from tests.support.wait import wait_for

#: How long the simulator holds an answer after the array acted (``phase: after``): the window a
#: SIGKILL must hit, where the array changed and the operator has not written status yet.
HOLD_MS = 4000


def held(path_regex: str, methods: list[str]) -> dict[str, Any]:
    """A fault spec: requests matching act on the array at once and are answered ``HOLD_MS`` later."""
    return {"latency_ms": HOLD_MS, "methods": methods, "path_regex": path_regex, "phase": "after"}


@dataclass
class World:
    cluster: Cluster
    objects: Objects
    arrays: SimArrays
    simulator: RunningSimulator
    operator: OperatorProcess
    source: str
    target: str
    entity_ids: dict[str, int] = field(default_factory=dict)

    @property
    def namespace(self) -> str:
        return self.objects.namespace

    def volumes(self, prefix: str, count: int) -> list[str]:
        names = [f"{prefix}-{i:03d}" for i in range(count)]
        for name in names:
            self.entity_ids[name] = int(self.arrays.volume("ibox-1", name)["id"])
        return names

    def apply(self, names: list[str], **spec: Any) -> None:
        manifests = [
            {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "Replica",
                "metadata": {"name": name, "namespace": self.namespace},
                "spec": {
                    "source": {"array": self.source, "volume": name},
                    "target": {"array": self.target, "pool": "pool-1"},
                    **spec,
                },
            }
            for name in names
        ]
        self.cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(manifests), timeout=120)

    def listed(self) -> dict[str, dict[str, Any]]:
        items = self.objects.api.list_namespaced_custom_object(GROUP, VERSION, self.namespace, "replicas")
        return {item["metadata"]["name"]: item for item in items["items"]}

    def mark(self) -> int:
        """The simulator's last request sequence number: count what happens after it."""
        log = self.settled_requests()
        return int(log[-1]["seq"]) if log else 0

    def requests(self, since: int, method: str, path_regex: str) -> list[dict[str, Any]]:
        pattern = re.compile(path_regex)
        return [
            r for r in self.settled_requests(since) if r["method"] == method and pattern.search(r["path"])
        ]

    def settled_requests(self, since: int = 0) -> list[dict[str, Any]]:
        """The request log once no request is in flight.

        The simulator logs a request when it answers it; one held ``HOLD_MS`` (its answer lost
        to a SIGKILL or not) is logged that late, after requests that came later. Read before,
        the log lacks it: the calls a kill caught would be missing from the count. So the log
        is read at an instant when nothing is in flight: everything received before is in it.
        """
        wait_for(
            lambda: self.simulator.admin("GET", "/_sim/stats")["in_flight"] == 0,
            timeout=HOLD_MS / 1000 * 3 + 10,
            interval=0.05,
            what="no request in flight at the simulator",
        )
        return self.arrays.requests(since)

    def converged(
        self, names: list[str], *, timeout: float = 180, ready: Callable[[dict[str, Any]], bool] | None = None
    ) -> dict[str, dict[str, Any]]:
        """Wait until every object is Ready and SYNCHRONIZED, then until each one's status equals
        the arrays; fail if an object was lost or an entity has a second replica."""
        check = ready or _ready

        def probe() -> dict[str, dict[str, Any]]:
            items = self.listed()
            missing = [n for n in names if n not in items]
            assert not missing, f"objects lost: {missing[:5]}"
            waiting = {n: _why(items[n]) for n in names if not check(items[n].get("status") or {})}
            assert not waiting, f"{len(waiting)} not Ready, e.g. {list(waiting.items())[:3]}"
            return items

        wait_for(probe, timeout=timeout, interval=1.0, what=f"{len(names)} objects Ready")
        for name in names:
            wait_for(
                lambda name=name: self._matches_the_arrays(name),  # type: ignore[misc]
                timeout=20,
                interval=0.5,
                what=f"{name}: status equals the arrays",
            )
        refused = self.arrays.refused_creates()
        assert not refused, f"creates refused with a 409: {refused[:3]}"
        return self.listed()

    def _matches_the_arrays(self, name: str) -> bool:
        body = self.objects.get("replicas", name)
        assert body is not None, f"{name} lost"
        self.arrays.assert_pair(dict(body.get("status") or {}), self.entity_ids[name])
        return True

    def assert_created_once(self, names: Iterable[str]) -> None:
        """One ``POST /replicas`` per entity: a blind re-create would be a second one."""
        creates = self.arrays.replica_creates("ibox-1")
        posts = {name: creates.get(self.entity_ids[name], {}).get("posts", 0) for name in names}
        again = {name: n for name, n in posts.items() if n != 1}
        assert not again, f"POST /replicas per entity != 1: {again}"

    def events(self, reason: str) -> set[str]:
        """The objects that got an Event with ``reason``."""
        events = self.cluster.kubectl_json("-n", self.namespace, "get", "events")["items"]
        return {e["involvedObject"]["name"] for e in events if e["reason"] == reason}

    def kill_in_window(self, window: Callable[[], list[str]], *, at_least: int = 3) -> list[str]:
        """SIGKILL the operator once ``window()`` names ``at_least`` objects (the array acted on
        them, status does not show it yet); return those it names after the kill (k > 0)."""
        wait_for(
            lambda: len(window()) >= at_least, timeout=90, interval=0.1, what=f"{at_least} in the window"
        )
        self.operator.kill()
        caught = window()  # the operator is dead: what it left unrecorded stays so
        assert caught, "the kill missed the window"
        return caught


def _ready(status: dict[str, Any]) -> bool:
    return is_true(status, "Ready") and status.get("syncState") == "SYNCHRONIZED"


def _why(item: dict[str, Any]) -> str:
    """What an object that is not Ready says about itself: a condition with a reason, always."""
    conditions = {c["type"]: c for c in (item.get("status") or {}).get("conditions") or []}
    ready = conditions.get("Ready")
    if ready is None:
        return "no status yet"
    assert ready.get("reason"), f"{item['metadata']['name']}: Ready without a reason"
    synced = conditions.get("Synced", {})
    return f"{ready['reason']}/{synced.get('reason')}"


def condition(item: dict[str, Any], kind: str) -> dict[str, Any]:
    return next((c for c in (item.get("status") or {}).get("conditions") or [] if c["type"] == kind), {})
