"""Issue 19 point 5: shards by label, each with its own Lease, leader and standby.

Two named shards and the default shard, two ``replica-operator run`` processes each; Replicas
spread over the shards (some with no key). The simulator's request log names the caller of
every array request (the operator's User-Agent carries its shard and pod), which is what proves
that no replica is touched by two shards and that standbys touch nothing.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import kubernetes
import pytest
import yaml

from replica_operator.sharding import SHARD_LABEL
from tests.integration.leadership.conftest import LEASE_SECONDS, POLL_SECONDS, Election
from tests.integration.leadership.test_failover import TAKEOVER_BOUND
from tests.support.operator import OperatorProcess, kube_requests
from tests.support.wait import wait_for

SHARDS: tuple[str | None, ...] = ("shard-a", "shard-b", None)
OBJECTS_PER_SHARD = 2
OPERATOR_AGENT = "infinibox-replica-operator/"
_AGENT = re.compile(r"^infinibox-replica-operator/\S+(?: shard/(?P<shard>\S+))? \((?P<pod>[^()]+)\)$")


def _shard_name(shard: str | None) -> str:
    return shard or "default"


@dataclass
class Shards:
    """The shards' processes, their objects and what the arrays saw of them."""

    election: Election
    leaders: dict[str, OperatorProcess] = field(default_factory=dict)
    standbys: dict[str, OperatorProcess] = field(default_factory=dict)
    objects: dict[str, str] = field(default_factory=dict)
    """Replica name -> the shard it is labelled with ("default": no label)."""

    def __post_init__(self) -> None:
        self._leases = kubernetes.client.CoordinationV1Api(self.election.cluster.api_client())

    def start(self, shard: str | None, role: str, *, standby: bool) -> OperatorProcess:
        name = _shard_name(shard)
        process = OperatorProcess(
            self.election.cluster.kubeconfig,
            env={"POD_NAME": f"{name}-{role}"},
            lease_name=self.election.lease_name,
            options=(
                f"--leader-election-namespace={self.election.namespace}",
                f"--lease-duration={LEASE_SECONDS:g}s",
                "--renew-deadline=4s",
                "--retry-period=500ms",
                *((f"--shard={shard}",) if shard else ()),
            ),
        )
        self.election.candidates.append(process)
        return process.start(standby=standby)

    def lease(self, shard: str) -> dict[str, Any]:
        name = self.election.lease_name + ("" if shard == "default" else f"-{shard}")
        lease = self._leases.read_namespaced_lease(name, self.election.namespace)
        return dict(lease.spec.to_dict())

    # -- objects ------------------------------------------------------------------------------------
    def replica(self, name: str, shard: str, **spec: Any) -> None:
        volume = f"{self.election.prefix}-{name}"
        labels = {} if shard == "default" else {SHARD_LABEL: shard}
        manifest = {
            "apiVersion": "replication.infinibox.io/v1alpha1",
            "kind": "Replica",
            "metadata": {"name": name, "namespace": self.election.namespace, "labels": labels},
            "spec": {
                "source": {"array": self.election.source, "volume": volume},
                "target": {"array": f"{self.election.prefix}-dst", "pool": "pool-1"},
                **spec,
            },
        }
        self.election.cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(manifest))

    def relabel(self, name: str, shard: str) -> None:
        patch = {"metadata": {"labels": {SHARD_LABEL: None if shard == "default" else shard}}}
        self.election.cluster.kubectl(
            "-n", self.election.namespace, "patch", "replica", name, "--type=merge", "-p", json.dumps(patch)
        )
        self.objects[name] = shard

    def statuses(self) -> dict[str, dict[str, Any]]:
        listed = self.election.cluster.kubectl_json("-n", self.election.namespace, "get", "replicas")
        return {item["metadata"]["name"]: item.get("status") or {} for item in listed["items"]}

    def wait_all_ready(self, timeout: float) -> dict[str, dict[str, Any]]:
        def ready() -> dict[str, dict[str, Any]] | None:
            statuses = self.statuses()
            done = {
                name: status
                for name, status in statuses.items()
                if status.get("replicaId")
                and any(
                    c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions") or []
                )
            }
            return done if set(done) == set(self.objects) else None

        return wait_for(ready, timeout=timeout, interval=0.5, what="every Replica Ready")

    # -- the simulator's log ------------------------------------------------------------------------
    def callers(self, statuses: dict[str, dict[str, Any]], since: int = 0) -> dict[str, set[tuple[str, str]]]:
        """Replica name -> the (shard, pod) pairs that sent a request naming its replicas or volume."""
        volumes = {
            int(
                self.election.arrays.call(
                    "ibox-1", "GET", "/volumes", name=f"eq:{self.election.prefix}-{name}"
                )[0]["id"]
            ): name
            for name in self.objects
        }
        replicas = {
            int(status[key]): name
            for name, status in statuses.items()
            for key in ("replicaId", "remoteReplicaId")
        }
        seen: dict[str, set[tuple[str, str]]] = {name: set() for name in self.objects}
        for request in self.election.arrays.requests(since):
            if not request["client"].startswith(OPERATOR_AGENT):
                continue  # this test's own reads
            match = re.search(r"/replicas/(\d+)", request["path"])
            named = {replicas.get(int(match.group(1)))} if match else set()
            named |= {volumes.get(entity) for entity in request["entities"]}
            for name in named - {None}:
                agent = _AGENT.search(request["client"])
                assert agent, f"an operator request without its shard and pod: {request}"
                seen[str(name)].add((agent["shard"] or "default", agent["pod"]))
        return seen

    def pods_calling(self, since: int = 0) -> set[str]:
        return {
            agent["pod"]
            for request in self.election.arrays.requests(since)
            if (agent := _AGENT.search(request["client"]))
        }

    def last_seq(self) -> int:
        return max((r["seq"] for r in self.election.arrays.requests()), default=0)


@pytest.fixture
def shards(election: Election) -> Iterator[Shards]:
    world = Shards(election)
    yield world
    for name in world.objects:
        unfinalize = json.dumps({"metadata": {"finalizers": None}})
        for args in (
            ("patch", "replica", name, "--type=merge", "-p", unfinalize),
            ("delete", "replica", name, "--ignore-not-found", "--wait=false"),
        ):
            election.cluster.kubectl("-n", election.namespace, *args, check=False)


def test_each_object_is_handled_by_its_shard_only_and_a_shard_survives_its_leader(
    shards: Shards, election: Election
) -> None:
    election.build_world()
    for shard in SHARDS:
        shards.leaders[_shard_name(shard)] = shards.start(shard, "a", standby=False)
    for shard in SHARDS:
        shards.standbys[_shard_name(shard)] = shards.start(shard, "b", standby=True)
    for shard in map(_shard_name, SHARDS):
        for index in range(OBJECTS_PER_SHARD):
            name = f"{shard}-{index}"
            election.arrays.volume("ibox-1", f"{election.prefix}-{name}")
            shards.replica(name, shard)
            shards.objects[name] = shard

    started = time.monotonic()
    statuses = shards.wait_all_ready(timeout=120)
    print(f"\n{len(statuses)} Replicas over {len(SHARDS)} shards Ready in {time.monotonic() - started:.1f} s")
    for name, callers in shards.callers(statuses).items():
        assert callers == {(shards.objects[name], f"{shards.objects[name]}-a")}, (name, callers)
    assert shards.pods_calling() == {f"{_shard_name(s)}-a" for s in SHARDS}, "a standby called an array"
    for shard, leader in shards.leaders.items():  # one writer of the shared InfiniBox status
        patches = kube_requests(leader.metrics(), verb="patch", resource="infiniboxes/status")
        assert (patches > 0) == (shard == "default"), (shard, patches)
    holders = {shard: shards.lease(shard)["holder_identity"] for shard in shards.leaders}
    assert holders == {shard: f"{shard}-a" for shard in shards.leaders}

    # SIGKILL shard-a's leader: its standby takes over; the other shards do not notice.
    others = {shard: shards.lease(shard) for shard in ("shard-b", "default")}
    mark = shards.last_seq()
    killed = time.time()
    shards.leaders["shard-a"].kill()
    wait_for(
        lambda: shards.lease("shard-a")["holder_identity"] == "shard-a-b",
        timeout=TAKEOVER_BOUND + 10,
        interval=0.1,
        what="shard-a's standby leading",
    )
    took_over = shards.lease("shard-a")["acquire_time"].timestamp() - killed
    print(f"shard-a: SIGKILL -> standby holds the Lease in {took_over:.2f} s (bound {TAKEOVER_BOUND:.1f} s)")
    assert took_over <= TAKEOVER_BOUND
    shards.replica("shard-a-0", "shard-a", suspended=True)
    replica_id = statuses["shard-a-0"]["replicaId"]
    wait_for(
        lambda: (election.arrays.replica("ibox-1", replica_id) or {}).get("state") == "SUSPENDED",
        timeout=LEASE_SECONDS + 5 * POLL_SECONDS + 20,
        interval=0.2,
        what="the edit on shard-a's object on the array",
    )
    print(
        f"shard-a: SIGKILL -> an edit made after the takeover is on the array: {time.time() - killed:.2f} s"
    )
    after = shards.callers(statuses, since=mark)
    assert after["shard-a-0"] == {("shard-a", "shard-a-b")}, after
    for shard, lease in others.items():
        now = shards.lease(shard)
        assert (now["holder_identity"], now["lease_transitions"]) == (
            lease["holder_identity"],
            lease["lease_transitions"],
        ), f"{shard} changed hands"

    # Relabelling moves an object: shard-b lets go (its replica stays), the default shard takes it.
    shards.relabel("shard-b-0", "default")
    shards.replica("shard-b-0", "default", suspended=True)
    moved_id = statuses["shard-b-0"]["replicaId"]
    wait_for(
        lambda: (election.arrays.replica("ibox-1", moved_id) or {}).get("state") == "SUSPENDED",
        timeout=30,
        interval=0.2,
        what="the edit on the relabelled object on the array",
    )
    mark = shards.last_seq()
    wait_for(  # two more polls of every array by every leader
        lambda: len(shards.pods_calling(mark)) == 3 and shards.last_seq() > mark + 20,
        timeout=30,
        what="more polls",
    )
    assert shards.callers(statuses, since=mark)["shard-b-0"] <= {("default", "default-a")}
    assert [
        r["id"] for r in election.arrays.replicas("ibox-1", local_entity_id=_volume_id(election, "shard-b-0"))
    ] == [moved_id], "the relabelled object's replica was deleted or duplicated"
    events = election.cluster.kubectl_json("-n", election.namespace, "get", "events")["items"]
    assert not [
        e
        for e in events
        if e["reason"] in ("Orphaned", "Deleted") and e["involvedObject"]["name"] == "shard-b-0"
    ]

    # An InfiniBox used only by named shards' objects is still protected: every shard's
    # deletion check lists the other shards' objects; the default shard says so in status.
    kubectl = election.cluster.kubectl
    default_objects = [name for name, shard in shards.objects.items() if shard == "default"]
    kubectl("-n", election.namespace, "delete", "replica", *default_objects, "--timeout=60s")
    kubectl("delete", "ibox", election.source, "--wait=false")

    def in_use() -> str | None:
        status = election.cluster.kubectl_json("get", "ibox", election.source).get("status") or {}
        condition = next((c for c in status.get("conditions") or [] if c["type"] == "InUse"), {})
        return condition.get("message") if condition.get("status") == "True" else None

    message = wait_for(
        lambda: (found := in_use()) and "shard-a-0" in found and found, timeout=30, what="InUse"
    )
    assert "default-0" not in message, message
    remaining = [name for name, shard in shards.objects.items() if shard != "default"]
    kubectl("-n", election.namespace, "delete", "replica", *remaining, "--timeout=60s")
    kubectl("wait", "--for=delete", f"ibox/{election.source}", "--timeout=60s")


def _volume_id(election: Election, name: str) -> int:
    return int(
        election.arrays.call("ibox-1", "GET", "/volumes", name=f"eq:{election.prefix}-{name}")[0]["id"]
    )
