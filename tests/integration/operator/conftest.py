"""The whole thing running: real API server, ``ibox-sim`` over HTTP, ``replica-operator run``.

One operator process and one simulator serve the session; each test gets its own
namespace, its own pair of InfiniBox objects and its own entity names, and leaves
nothing behind (its objects are deleted through the operator, finalizers included).
"""

from __future__ import annotations

import base64
import contextlib
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes
import pytest
import yaml

from ibox_sim.testing import RunningSimulator
from replica_operator.api import GROUP, VERSION
from tests.support.arrays import SimArrays, operator_simulator
from tests.support.credentials import PASSWORD, USERNAME
from tests.support.kube import Cluster
from tests.support.operator import OperatorProcess, assert_no_unexpected_tracebacks
from tests.support.tcp_proxy import FreezableProxy
from tests.support.wait import wait_for

INITIAL_SYNC_SECONDS = 2.0
POLL_INTERVAL = "1s"


@pytest.fixture(scope="session")
def simulator() -> Iterator[RunningSimulator]:
    with operator_simulator(2, initial_sync_seconds=INITIAL_SYNC_SECONDS) as sim:
        yield sim


@pytest.fixture
def operator(
    operator_process: OperatorProcess, cluster: Cluster, namespace: str, request: pytest.FixtureRequest
) -> Iterator[OperatorProcess]:
    """The session's operator. After the test: a failed test shows what the operator logged
    meanwhile; any test fails on an unexpected traceback in that log or on the password found in
    it, in the namespace's Events or in any status."""
    if operator_process.process is None:
        operator_process.start()  # a test killed it and failed before restarting it
    offset = len(operator_process.log())
    yield operator_process
    log = operator_process.log()[offset:]
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        print(f"\n--- operator log during {request.node.name} ---\n{log[-20000:]}")
    assert_no_unexpected_tracebacks(log, request.node.name)
    assert_password_nowhere(cluster, namespace, log)


def assert_password_nowhere(cluster: Cluster, namespace: str, log: str) -> None:
    """The arrays' password (distinct from the username) is in no log line, Event, status or
    exception text the operator produced; nor is the Basic header that carries it."""
    basic = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
    places = {
        "the operator's log": log,
        "Events": cluster.kubectl("-n", namespace, "get", "events", "-o", "json").stdout,
        "replicas": cluster.kubectl(
            "-n", namespace, "get", "replicas,consistencygroupreplicas", "-o", "json"
        ).stdout,
        "infiniboxes": cluster.kubectl("get", "infiniboxes", "-o", "json").stdout,
    }
    leaked = [where for where, text in places.items() if PASSWORD in text or basic in text]
    assert not leaked, f"the password is in {leaked}"


@dataclass
class Objects:
    """Create, read and delete our custom objects through the real API (no kubectl per poll)."""

    cluster: Cluster
    namespace: str
    api: kubernetes.client.CustomObjectsApi = field(init=False)

    def __post_init__(self) -> None:
        self.api = kubernetes.client.CustomObjectsApi(self.cluster.api_client())

    def apply(self, manifest: dict[str, Any]) -> dict[str, Any]:
        manifest.setdefault("apiVersion", f"{GROUP}/{VERSION}")
        self.cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(manifest))
        return manifest

    def get(self, plural: str, name: str) -> dict[str, Any] | None:
        try:
            if plural == "infiniboxes":
                return dict(self.api.get_cluster_custom_object(GROUP, VERSION, plural, name))
            return dict(self.api.get_namespaced_custom_object(GROUP, VERSION, self.namespace, plural, name))
        except kubernetes.client.ApiException as error:
            if error.status == 404:
                return None
            raise

    def patch(self, plural: str, name: str, patch: dict[str, Any]) -> None:
        self.api.patch_namespaced_custom_object(GROUP, VERSION, self.namespace, plural, name, patch)

    def delete(self, plural: str, name: str) -> None:
        try:
            if plural == "infiniboxes":
                self.api.delete_cluster_custom_object(GROUP, VERSION, plural, name)
            else:
                self.api.delete_namespaced_custom_object(GROUP, VERSION, self.namespace, plural, name)
        except kubernetes.client.ApiException as error:
            if error.status != 404:
                raise

    def names(self, plural: str) -> list[str]:
        listed = self.api.list_namespaced_custom_object(GROUP, VERSION, self.namespace, plural)
        return [item["metadata"]["name"] for item in listed["items"]]

    def condition(self, plural: str, name: str, kind: str) -> dict[str, Any] | None:
        body = self.get(plural, name) or {}
        for condition in (body.get("status") or {}).get("conditions") or []:
            if condition["type"] == kind:
                return dict(condition)
        return None

    def wait_status(
        self,
        plural: str,
        name: str,
        check: Callable[[dict[str, Any]], bool],
        *,
        timeout: float = 30,
        what: str = "",
    ) -> dict[str, Any]:
        """Wait until ``check(status)`` holds; return the status."""

        def probe() -> dict[str, Any]:
            body = self.get(plural, name)
            status = dict((body or {}).get("status") or {})
            if body is None or not check(status):
                raise AssertionError(
                    f"{plural}/{name} status: {status}" if body else f"{plural}/{name}: gone"
                )
            return status

        return wait_for(probe, timeout=timeout, interval=0.25, what=what or f"{plural}/{name} status")

    def wait_gone(self, plural: str, name: str, timeout: float = 30) -> None:
        wait_for(
            lambda: self.get(plural, name) is None, timeout=timeout, interval=0.25, what=f"{name} deleted"
        )


def condition_of(status: dict[str, Any], kind: str) -> dict[str, Any]:
    return next((c for c in status.get("conditions") or [] if c["type"] == kind), {})


def is_true(status: dict[str, Any], kind: str) -> bool:
    return condition_of(status, kind).get("status") == "True"


@dataclass
class Env:
    """One test's world: its namespace, two InfiniBox objects on the simulator, helpers."""

    objects: Objects
    arrays: SimArrays
    source: str
    target: str
    prefix: str
    infiniboxes: list[str] = field(default_factory=list)

    @property
    def namespace(self) -> str:
        return self.objects.namespace

    def name(self, suffix: str) -> str:
        return f"{self.prefix}-{suffix}"

    def infinibox(
        self, name: str, system: str, *, url: str | None = None, secret: str = "creds", **spec: Any
    ) -> str:
        self.objects.apply(
            {
                "kind": "InfiniBox",
                "metadata": {"name": name},
                "spec": {
                    "url": url or self.arrays.url(system),
                    "credentialsSecretRef": {"name": secret, "namespace": self.namespace},
                    "pollInterval": POLL_INTERVAL,
                    **spec,
                },
            }
        )
        self.infiniboxes.append(name)
        return name

    def replica(
        self,
        name: str,
        *,
        volume: str | None = None,
        filesystem: str | None = None,
        target: dict[str, Any] | None = None,
        **spec: Any,
    ) -> dict[str, Any]:
        source: dict[str, Any] = {"array": self.source}
        source.update({"volume": volume} if volume else {"filesystem": filesystem})
        return self.objects.apply(
            {
                "kind": "Replica",
                "metadata": {"name": name, "namespace": self.namespace},
                "spec": {
                    "source": source,
                    "target": {"array": self.target, "pool": "pool-1", **(target or {})},
                    **spec,
                },
            }
        )


EnvFactory = Callable[..., Env]


@pytest.fixture
def make_env(
    cluster: Cluster,
    operator: OperatorProcess,
    namespace: str,
    private_simulator: Callable[..., RunningSimulator],  # set up first, so torn down after the worlds
) -> Iterator[EnvFactory]:
    """Build a test world on a simulator (each call: two more InfiniBox objects); clean all up after."""
    cluster.credentials_secret(namespace, "creds")
    worlds: list[Env] = []

    def build(simulator: RunningSimulator) -> Env:
        prefix = f"t{uuid.uuid4().hex[:6]}"
        world = Env(
            Objects(cluster, namespace), SimArrays(simulator), f"{prefix}-src", f"{prefix}-dst", prefix
        )
        world.infinibox(world.source, "ibox-1")
        world.infinibox(world.target, "ibox-2")
        worlds.append(world)
        return world

    yield build
    for world in worlds:
        cleanup(world)
        world.arrays.close()


@pytest.fixture
def env(make_env: EnvFactory, simulator: RunningSimulator) -> Env:
    return make_env(simulator)


@pytest.fixture
def private_simulator() -> Iterator[Callable[..., RunningSimulator]]:
    """Start a simulator of one's own (e.g. with a long initial sync, or to break it)."""
    with contextlib.ExitStack() as stack:

        def start(**kwargs: Any) -> RunningSimulator:
            return stack.enter_context(operator_simulator(2, **kwargs))

        yield start


def cleanup(world: Env) -> None:
    """Delete the test's objects through the operator, then its arrays; fail if a deletion hangs."""
    objects = world.objects
    for plural in ("replicas", "consistencygroupreplicas"):
        for name in objects.names(plural):
            objects.delete(plural, name)
        # A deletion that hangs is a failure (never switched to Orphan behind the test's back); a
        # test that breaks an array on purpose sets Orphan itself.
        for name in objects.names(plural):
            objects.wait_gone(plural, name, timeout=30)
    for name in world.infiniboxes:
        objects.delete("infiniboxes", name)
    for name in world.infiniboxes:
        objects.wait_gone("infiniboxes", name, timeout=30)


ProxiedOperator = Callable[..., tuple[FreezableProxy, OperatorProcess]]


@pytest.fixture
def proxied_operator(operator: OperatorProcess) -> Iterator[ProxiedOperator]:
    """Stop the shared operator and start one of our own (with the given options) that reaches the
    API server through a freezable proxy; the shared one comes back after the test."""
    config = yaml.safe_load(operator.kubeconfig.read_text())
    server = urlsplit(config["clusters"][0]["cluster"]["server"])
    assert server.hostname is not None
    assert server.port is not None
    with contextlib.ExitStack() as stack:
        started: list[OperatorProcess] = []

        def start(*options: str) -> tuple[FreezableProxy, OperatorProcess]:
            operator.stop()
            proxy = stack.enter_context(FreezableProxy(server.hostname or "", server.port or 0))
            folder = stack.enter_context(tempfile.TemporaryDirectory())
            config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{proxy.port}"
            kubeconfig = Path(folder) / "kubeconfig"
            kubeconfig.write_text(yaml.safe_dump(config))
            # Without leader election: a leader that cannot renew through a frozen proxy exits on
            # purpose (tests/integration/leadership); here the subject is what the calls do meanwhile.
            own = OperatorProcess(kubeconfig, options=(*options, "--no-leader-elect"))
            started.append(own)
            stack.callback(proxy.thaw)
            own.start()
            return proxy, own

        try:
            yield start
        finally:
            for own in started:
                with contextlib.suppress(Exception):
                    print(f"\n--- proxied operator log ---\n{own.log()[-8000:]}")
                own.stop()
    if started:
        operator.start()
