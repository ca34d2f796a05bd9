"""One chaos run from start to end, shared by the short run in ``make test`` and ``make chaos``:
build the world, let it converge, protect, unleash the adversary, calm it, check every invariant,
then delete everything through the operator and check its logs (no traceback, no password)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from replica_operator.api import GROUP, VERSION
from tests.e2e.chaos.adversary import Adversary, Figures
from tests.e2e.chaos.converge import converge, role_changes
from tests.e2e.chaos.world import Pods, World, build
from tests.integration.operator.conftest import assert_password_nowhere
from tests.support.arrays import operator_simulator
from tests.support.kube import Cluster
from tests.support.operator import unexpected_tracebacks
from tests.support.wait import wait_for


@dataclass(frozen=True)
class Size:
    protected: int = 20
    intruder: int = 20
    mover: int = 60
    group: int = 4

    @property
    def objects(self) -> int:
        return self.protected + self.intruder + self.mover + self.group


def chaos(
    cluster: Cluster,
    *,
    seconds: float,
    seed: int,
    size: Size = Size(),
    settle: float = 240,
) -> Figures:
    """Run the adversary for ``seconds``; the figures, with every violation found."""
    started = time.monotonic()
    with operator_simulator(2, initial_sync_seconds=1) as simulator:
        counts = {
            "protected": size.protected,
            "intruder": size.intruder,
            "mover": size.mover,
            "group": size.group,
        }
        world = build(cluster, simulator, counts)
        pods = Pods(cluster, world.system_namespace)
        try:
            pods.spawn(standby=False)
            pods.spawn(standby=True)
            adversary = Adversary(world, pods, seed)
            adversary.start()
            _say(f"{size.objects} objects created, waiting for them to converge")
            setup = converge(world, lambda: set(), settle)
            assert not setup, f"the world did not converge before the adversary: {setup[:5]}"
            adversary.protect()
            phases = {"setup_seconds": round(time.monotonic() - started, 1)}
            _say(f"converged after {phases['setup_seconds']} s; the adversary runs for {seconds:g} s")
            adversary.run(seconds)
            _say(f"the adversary stops after {adversary.figures.rounds} rounds; waiting for convergence")
            adversary.calm()
            calmed = time.monotonic()

            def changed() -> set[str]:
                return role_changes(list(adversary.log.entries), dict(adversary.marks.marks))

            adversary.figures.violations += converge(world, changed, settle)
            phases["converge_seconds"] = round(time.monotonic() - calmed, 1)
            adversary.check()
            adversary.figures.phases = phases
            _say(f"checked {adversary.figures.requests_checked} requests; deleting everything")
            _teardown(world)
        finally:
            adversary.stop()
            logs = pods.logs()
            _keep(logs)
            pods.close()
        for namespace in world.namespaces:
            assert_password_nowhere(cluster, namespace, logs)
        adversary.figures.violations += [
            f"traceback: {t}"
            for t in unexpected_tracebacks(logs)  # whole: where it was raised is at the end
        ]
        for namespace in (world.system_namespace, *world.namespaces):
            cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
        world.arrays.close()
    return adversary.figures


def _keep(logs: str) -> None:
    """``CHAOS_LOGS=path``: the pods' logs are written there (to read a violation afterwards)."""
    path = os.environ.get("CHAOS_LOGS")
    if path:
        Path(path).write_text(logs)


def _say(what: str) -> None:
    print(f"chaos {time.strftime('%H:%M:%S')}: {what}", flush=True)


def _teardown(world: World) -> None:
    """Delete every object through the operator (finalizers included), then the InfiniBox objects."""
    for thing in world.things:
        if thing.alive:
            world.delete(thing)
    wait_for(
        lambda: all(world.get(t) is None for t in world.things), timeout=180, interval=2.0, what="all deleted"
    )
    for name in (world.source, world.target):
        world.api.delete_cluster_custom_object(GROUP, VERSION, "infiniboxes", name)
    wait_for(
        lambda: not _infiniboxes(world),
        timeout=60,
        interval=1.0,
        what="the InfiniBox objects deleted",
    )


def _infiniboxes(world: World) -> list[str]:
    listed = world.api.list_cluster_custom_object(GROUP, VERSION, "infiniboxes")
    return [
        i["metadata"]["name"]
        for i in listed["items"]
        if i["metadata"]["name"] in (world.source, world.target)
    ]
