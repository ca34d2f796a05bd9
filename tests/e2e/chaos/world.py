"""The chaos suite's world: three namespaces of Replicas and ConsistencyGroupReplicas on two
InfiniBox objects over ``ibox-sim``, and two ``replica-operator run`` pods electing a leader.

Objects have a part: ``protected`` ones (Full, never edited: no one has a reason to change their
replicas, so any mutating request on those is someone else's), ``intruders`` (ObserveOnly
objects in other namespaces naming the protected volumes, which the adversary edits, flips to
Full, deletes), and ``movers`` (Full objects the adversary edits, deletes and re-creates)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import kubernetes
import urllib3

from ibox_sim.testing import RunningSimulator
from replica_operator.api import GROUP, VERSION
from tests.support.arrays import SimArrays
from tests.support.kube import Cluster
from tests.support.operator import OperatorProcess
from tests.support.wait import wait_for

T = TypeVar("T")
TAKE_OVER = "replication.infinibox.io/take-over"
LEASE = ("--lease-duration=5s", "--renew-deadline=4s", "--retry-period=500ms")
BASE_SPEC: dict[str, Any] = {"replicationType": "ASYNC", "rpo": "5m", "syncInterval": "30s"}


@dataclass
class Thing:
    """One object the adversary knows, alive or deleted (then maybe re-created under a new uid)."""

    plural: str
    namespace: str
    name: str
    part: str
    volume: str  # the volume or consistency group it names
    entity_id: int
    alive: bool = True

    @property
    def kind(self) -> str:
        return "Replica" if self.plural == "replicas" else "ConsistencyGroupReplica"

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    def manifest(self, source: str, target: str, *, existing: bool = False, **extra: Any) -> dict[str, Any]:
        """``existing``: the target volume is left from an earlier replica (its deletion keeps the
        data), so the object names it (mode Existing) instead of creating one."""
        entity = "volume" if self.plural == "replicas" else "consistencyGroup"
        remote = {"mode": "Existing", "name": self.volume} if existing else {"pool": "pool-1"}
        spec = {
            "source": {"array": source, entity: self.volume},
            "target": {"array": target, **remote},
            **BASE_SPEC,
        }
        if self.part == "intruder":
            spec["managementPolicy"] = "ObserveOnly"
        return {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": self.kind,
            "metadata": {"name": self.name, "namespace": self.namespace, **extra},
            "spec": spec,
        }


def retrying(call: Callable[[], T], timeout: float = 30) -> T:
    """A Kubernetes call through an API server restart (bounded); other refusals raise at once."""

    def attempt() -> tuple[T] | None:
        try:
            return (call(),)
        except (urllib3.exceptions.HTTPError, kubernetes.client.ApiException) as error:
            status = getattr(error, "status", None)
            if status is not None and status < 500 and status != 429:
                raise
            return None

    return wait_for(attempt, timeout=timeout, interval=0.5, what="the API server answering")[0]


@dataclass
class Pods:
    """Two operator processes on one Lease; a dead one is replaced by a new pod (a new name)."""

    cluster: Cluster
    namespace: str
    lease: str = field(default_factory=lambda: f"chaos-{uuid.uuid4().hex[:6]}")
    running: list[OperatorProcess] = field(default_factory=list)
    finished: list[OperatorProcess] = field(default_factory=list)
    started: int = 0

    def spawn(self, *, standby: bool | None) -> OperatorProcess:
        self.started += 1
        process = OperatorProcess(
            self.cluster.kubeconfig,
            env={"POD_NAME": f"op-{self.started}"},
            lease_name=self.lease,
            options=(f"--leader-election-namespace={self.namespace}", *LEASE),
            startup_timeout=90,
        )
        self.running.append(process)
        return process.start(standby=standby)

    def by_name(self, pod: str) -> OperatorProcess | None:
        return next((p for p in self.running if p.env["POD_NAME"] == pod), None)

    def supervise(self) -> list[int]:
        """Do what the kubelet does: replace each exited process; return their exit codes."""
        codes = []
        for process in list(self.running):
            assert process.process is not None
            code = process.process.poll()
            if code is not None:
                codes.append(code)
                process.process = None
                self.running.remove(process)
                self.finished.append(process)
        while len(self.running) < 2:
            self.spawn(standby=None)
        return codes

    def kill(self, process: OperatorProcess) -> None:
        process.kill()
        self.running.remove(process)
        self.finished.append(process)

    def logs(self) -> str:
        return "".join(p.log() for p in (*self.finished, *self.running))

    def close(self) -> None:
        for process in (*self.running, *self.finished):
            process.stop()
            process.log_path.unlink(missing_ok=True)


@dataclass
class World:
    cluster: Cluster
    simulator: RunningSimulator
    arrays: SimArrays
    system_namespace: str
    namespaces: list[str]
    source: str
    target: str
    things: list[Thing] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.api = kubernetes.client.CustomObjectsApi(self.cluster.api_client())
        self.core = kubernetes.client.CoreV1Api(self.api.api_client)

    def infinibox(self, name: str, system: str) -> None:
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "InfiniBox",
            "metadata": {"name": name},
            "spec": {
                "url": self.arrays.url(system),
                "pollInterval": "1s",
                "credentialsSecretRef": {"name": "creds", "namespace": self.system_namespace},
            },
        }
        self.api.create_cluster_custom_object(GROUP, VERSION, "infiniboxes", body)

    def point(self, infinibox: str, system: str) -> None:
        patch = {"spec": {"url": self.arrays.url(system)}}
        retrying(
            lambda: self.api.patch_cluster_custom_object(GROUP, VERSION, "infiniboxes", infinibox, patch)
        )

    def add(self, thing: Thing) -> None:
        self.things.append(thing)
        self.create(thing)

    def create(
        self, thing: Thing, annotations: dict[str, str] | None = None, *, existing: bool = False
    ) -> None:
        extra = {"annotations": annotations} if annotations else {}
        body = thing.manifest(self.source, self.target, existing=existing, **extra)
        retrying(
            lambda: self.api.create_namespaced_custom_object(
                GROUP, VERSION, thing.namespace, thing.plural, body
            )
        )
        thing.alive = True

    def get(self, thing: Thing) -> dict[str, Any] | None:
        try:
            return dict(
                retrying(
                    lambda: self.api.get_namespaced_custom_object(
                        GROUP, VERSION, thing.namespace, thing.plural, thing.name
                    )
                )
            )
        except kubernetes.client.ApiException as error:
            if error.status == 404:
                return None
            raise

    def patch(self, thing: Thing, patch: dict[str, Any]) -> dict[str, Any]:
        return dict(
            retrying(
                lambda: self.api.patch_namespaced_custom_object(
                    GROUP, VERSION, thing.namespace, thing.plural, thing.name, patch
                )
            )
        )

    def delete(self, thing: Thing) -> None:
        retrying(
            lambda: self.api.delete_namespaced_custom_object(
                GROUP, VERSION, thing.namespace, thing.plural, thing.name
            )
        )
        thing.alive = False

    def live_uids(self) -> set[str]:
        uids = set()
        for namespace in self.namespaces:
            for plural in ("replicas", "consistencygroupreplicas"):
                listed = retrying(
                    functools.partial(
                        self.api.list_namespaced_custom_object, GROUP, VERSION, namespace, plural
                    )
                )
                uids |= {item["metadata"]["uid"] for item in listed["items"]}
        return uids

    def events(self) -> list[dict[str, Any]]:
        found = []
        for namespace in self.namespaces:
            listed = retrying(lambda n=namespace: self.core.list_namespaced_event(n))  # type: ignore[misc]
            found += [
                {"reason": e.reason, "message": e.message, "object": e.involved_object.name}
                for e in listed.items
            ]
        return found


def build(cluster: Cluster, simulator: RunningSimulator, counts: dict[str, int]) -> World:
    """The namespaces, the Secret, both InfiniBox objects, the entities on ibox-1 and the objects:
    ``counts`` of ``protected``, ``intruder``, ``mover`` Replicas and ``group`` movers (CGs)."""
    prefix = uuid.uuid4().hex[:5]
    system_namespace = f"chaos-{prefix}-sys"
    namespaces = [f"chaos-{prefix}-{n}" for n in "abc"]
    for namespace in (system_namespace, *namespaces):
        cluster.kubectl("create", "namespace", namespace)
    cluster.credentials_secret(system_namespace, "creds")
    arrays = SimArrays(simulator)
    world = World(
        cluster, simulator, arrays, system_namespace, namespaces, f"c{prefix}-src", f"c{prefix}-dst"
    )
    world.infinibox(world.source, "ibox-1")
    world.infinibox(world.target, "ibox-2")
    protected = []
    for i in range(counts["protected"]):
        volume = f"{prefix}-p{i:03d}"
        thing = Thing(
            "replicas", namespaces[0], volume, "protected", volume, int(arrays.volume("ibox-1", volume)["id"])
        )
        protected.append(thing)
        world.add(thing)
    for i in range(counts["intruder"]):
        owner = protected[i % len(protected)]
        namespace = namespaces[1 + i % 2]
        world.add(
            Thing("replicas", namespace, f"{owner.name}-x{i}", "intruder", owner.volume, owner.entity_id)
        )
    for i in range(counts["mover"]):
        volume = f"{prefix}-m{i:03d}"
        entity_id = int(arrays.volume("ibox-1", volume)["id"])
        world.add(Thing("replicas", namespaces[i % 3], volume, "mover", volume, entity_id))
    for i in range(counts["group"]):
        group = f"{prefix}-g{i:02d}"
        entity_id = int(arrays.consistency_group("ibox-1", group, [f"{group}-v{n}" for n in range(2)])["id"])
        world.add(Thing("consistencygroupreplicas", namespaces[i % 3], group, "mover", group, entity_id))
    return world
