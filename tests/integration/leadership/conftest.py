"""Two ``replica-operator run`` processes competing for one Lease on the real API server, with a
simulator of their own; short terms so that a failover takes seconds."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import kubernetes
import pytest
import yaml

from ibox_sim.testing import RunningSimulator, run_simulator
from tests.support.arrays import SimArrays
from tests.support.credentials import PASSWORD
from tests.support.kube import Cluster
from tests.support.operator import OperatorProcess
from tests.support.wait import wait_for

LEASE_SECONDS, RENEW_SECONDS, RETRY_SECONDS = 5.0, 4.0, 0.5
POLL_SECONDS = 1.0
REPLICA_VOLUME = "ha-vol"


@pytest.fixture(scope="module")
def simulator() -> Iterator[RunningSimulator]:
    with run_simulator(2, initial_sync_seconds=1, password=PASSWORD) as sim:
        yield sim


@dataclass
class Election:
    """One test's Lease, its candidates and the world they act on."""

    cluster: Cluster
    namespace: str
    arrays: SimArrays
    lease_name: str = field(default_factory=lambda: f"ha-{uuid.uuid4().hex[:8]}")
    candidates: list[OperatorProcess] = field(default_factory=list)
    prefix: str = field(default_factory=lambda: f"h{uuid.uuid4().hex[:6]}")

    def __post_init__(self) -> None:
        self._leases = kubernetes.client.CoordinationV1Api(self.cluster.api_client())

    def candidate(
        self, identity: str, kubeconfig: Path | None = None, *, standby: bool = False
    ) -> OperatorProcess:
        """Start ``replica-operator run`` as ``identity`` (its POD_NAME); return once it leads, or
        once it stands by if ``standby``."""
        process = OperatorProcess(
            kubeconfig or self.cluster.kubeconfig,
            env={"POD_NAME": identity},
            lease_name=self.lease_name,
            options=(
                f"--leader-election-namespace={self.namespace}",
                f"--lease-duration={LEASE_SECONDS:g}s",
                f"--renew-deadline={RENEW_SECONDS:g}s",
                f"--retry-period={int(RETRY_SECONDS * 1000)}ms",
            ),
        )
        self.candidates.append(process)
        return process.start(standby=standby)

    def lease(self) -> dict[str, Any] | None:
        try:
            lease = self._leases.read_namespaced_lease(self.lease_name, self.namespace)
        except kubernetes.client.ApiException as error:
            if error.status == 404:
                return None
            raise
        return dict(self._leases.api_client.sanitize_for_serialization(lease))

    def holder(self) -> str:
        return str(((self.lease() or {}).get("spec") or {}).get("holderIdentity") or "")

    def wait_holder(self, identity: str, timeout: float) -> float:
        """Wait until ``identity`` holds the Lease; the wall time it was seen."""
        wait_for(
            lambda: self.holder() == identity, timeout=timeout, interval=0.05, what=f"{identity} leading"
        )
        return time.time()

    def acquire_time(self) -> float:
        spec = (self.lease() or {})["spec"]
        return datetime.fromisoformat(spec["acquireTime"].replace("Z", "+00:00")).timestamp()

    # -- the world: two InfiniBox objects and one Replica ---------------------------------------
    @property
    def source(self) -> str:
        return f"{self.prefix}-src"

    def build_world(self) -> None:
        self.cluster.credentials_secret(self.namespace, "creds")
        self.arrays.volume("ibox-1", f"{self.prefix}-{REPLICA_VOLUME}")
        for name, system in ((self.source, "ibox-1"), (f"{self.prefix}-dst", "ibox-2")):
            self._apply(
                {
                    "kind": "InfiniBox",
                    "metadata": {"name": name},
                    "spec": {
                        "url": self.arrays.url(system),
                        "credentialsSecretRef": {"name": "creds", "namespace": self.namespace},
                        "pollInterval": f"{POLL_SECONDS:g}s",
                    },
                }
            )

    def replica(self, **spec: Any) -> None:
        self._apply(
            {
                "kind": "Replica",
                "metadata": {"name": REPLICA_VOLUME, "namespace": self.namespace},
                "spec": {
                    "source": {"array": self.source, "volume": f"{self.prefix}-{REPLICA_VOLUME}"},
                    "target": {"array": f"{self.prefix}-dst", "pool": "pool-1"},
                    **spec,
                },
            }
        )

    def replica_status(self) -> dict[str, Any]:
        body = self.cluster.kubectl_json("-n", self.namespace, "get", "replica", REPLICA_VOLUME)
        return dict(body.get("status") or {})

    def wait_ready(self, timeout: float = 60) -> dict[str, Any]:
        def ready() -> dict[str, Any] | None:
            status = self.replica_status()
            conditions = {c["type"]: c["status"] for c in status.get("conditions") or []}
            return status if conditions.get("Ready") == "True" and status.get("replicaId") else None

        return wait_for(ready, timeout=timeout, interval=0.2, what="the Replica Ready")

    def array_requests(self) -> list[dict[str, Any]]:
        return self.arrays.requests()

    def _apply(self, manifest: dict[str, Any]) -> None:
        manifest["apiVersion"] = "replication.infinibox.io/v1alpha1"
        self.cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(manifest))

    def tear_down(self) -> None:
        """Stop every candidate, then remove the objects without an operator (finalizers dropped)."""
        for process in self.candidates:
            process.close()
        unfinalize = json.dumps({"metadata": {"finalizers": None}})
        objects = [("-n", self.namespace, "replica", REPLICA_VOLUME)] + [
            ("infinibox", name) for name in (self.source, f"{self.prefix}-dst")
        ]
        # Everything the test made, also what a test added beyond the one Replica (sharding): left
        # behind, its InfiniBoxes would point the shared operator at a stopped simulator.
        for kind in ("replica", "consistencygroupreplica"):
            listed = self.cluster.kubectl("-n", self.namespace, "get", kind, "-o", "name", check=False)
            objects += [("-n", self.namespace, kind, line.split("/", 1)[1]) for line in listed.stdout.split()]
        listed = self.cluster.kubectl("get", "infinibox", "-o", "name", check=False)
        objects += [
            ("infinibox", line.split("/", 1)[1])
            for line in listed.stdout.split()
            if line.split("/", 1)[1].startswith(f"{self.prefix}-")
        ]
        for *scope, kind, name in objects:
            ref = f"{kind}/{name}"  # TYPE/NAME: kubectl read "infinibox NAME" as two resources here
            self.cluster.kubectl(*scope, "patch", ref, "--type=merge", "-p", unfinalize, check=False)
            self.cluster.kubectl(*scope, "delete", ref, "--ignore-not-found", "--wait=false", check=False)


@pytest.fixture
def election(
    cluster: Cluster,
    crds: list[str],
    namespace: str,
    simulator: RunningSimulator,
    exclusive_operator: OperatorProcess,
    request: pytest.FixtureRequest,
) -> Iterator[Election]:
    """A Lease of the test's own, the shared operator stopped, everything stopped and removed after."""
    arrays = SimArrays(simulator)
    simulator.admin("DELETE", "/_sim/requests")  # the log holds this test's requests only
    world = Election(cluster, namespace, arrays)
    try:
        yield world
    finally:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            for process in world.candidates:
                print(f"\n--- {process.env.get('POD_NAME')} log ---\n{process.log()[-8000:]}")
        world.tear_down()
        arrays.close()
