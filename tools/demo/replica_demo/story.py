"""What the demo does, in order, and how it ends."""

from __future__ import annotations

import contextlib
import shutil
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import yaml

from .parts import (
    DEFAULT_BASE_PORT,
    INITIAL_SYNC_SECONDS,
    INSTALL_HINT,
    PLURALS,
    VOLUME_SIZE,
    DemoError,
    Examples,
    Key,
    Kube,
    Manifest,
    Operator,
    Say,
    SimArrays,
    check_tools,
    find_examples,
    key,
    start_simulator,
)
from .screen import Row, Screen, condition, rows_of

POLL_INTERVAL = "2s"  # the examples say 10s; shorter here so that the table moves
REDRAW_SECONDS = 0.5
TYPE_CHANGE_REPLICA = "db-vol-1"


@dataclass
class TypeChange:
    """Ask for SYNC on an ASYNC replica while it is INITIALIZING; watch it deferred, then applied."""

    namespace: str
    name: str
    requested: bool = False
    deferred: bool = False
    applied: bool = False

    @classmethod
    def pick(cls, examples: Examples) -> TypeChange | None:
        """``db-vol-1``, or else the first ASYNC Replica of the examples."""
        candidates = [
            doc
            for doc in examples.of_kind("Replica")
            if (doc.get("spec") or {}).get("replicationType", "ASYNC") == "ASYNC"
        ]
        candidates.sort(key=lambda doc: key(doc)[2] != TYPE_CHANGE_REPLICA)
        return cls(*key(candidates[0])[1:]) if candidates else None

    def step(self, kube: Kube, objects: dict[Key, Manifest], say: Say) -> None:
        status = (objects.get(("Replica", self.namespace, self.name)) or {}).get("status") or {}
        if not self.requested:
            if status.get("replicaId") is None or not status.get("syncState"):
                return  # not created on the array yet
            # rpo and syncInterval are ASYNC-only: the API server refuses them next to SYNC.
            patch = {"spec": {"replicationType": "SYNC", "rpo": None, "syncInterval": None}}
            kube.patch("Replica", self.namespace, self.name, patch)
            self.requested = True
            if status["syncState"] == "INITIALIZING":
                say(
                    f"{self.name} is INITIALIZING: asking for replicationType SYNC now "
                    "(a merge patch that also drops the ASYNC-only rpo and syncInterval)"
                )
            else:
                say(f"{self.name} left INITIALIZING before the demo saw it: asking for SYNC anyway")
            return
        synced = condition(status, "Synced")
        pending = status.get("pendingReplicationType")
        if not self.deferred and pending == "SYNC" and synced.get("reason") == "TypeChangeDeferred":
            self.deferred = True
            say(
                "the array refuses type changes during the initial sync, so the operator deferred it: "
                f"{self.name} shows PENDING=SYNC and Synced=False (TypeChangeDeferred)"
            )
        if status.get("replicationType") == "SYNC" and not pending and synced.get("status") == "True":
            self.applied = True
            how = "applied the deferred change by itself" if self.deferred else "applied the change"
            say(f"initial sync over: the operator {how}; {self.name} now replicates SYNC")


def by_hand(pool_id: int | None, change: TypeChange | None) -> str:
    name = change.name if change else TYPE_CHANGE_REPLICA
    pool = pool_id if pool_id is not None else "<id of pool-1>"
    volume = f'{{"name": "{name}", "size": {VOLUME_SIZE}, "pool_id": {pool}}}'
    patch = '{"spec": {"replicationType": "SYNC", "rpo": null, "syncInterval": null}}'
    lines = [
        ("make cluster", "etcd + kube-apiserver; writes .local/kubeconfig"),
        ("export KUBECONFIG=$PWD/.local/kubeconfig PATH=$PWD/.venv/bin:$PATH", ""),
        (
            f"ibox-sim --initial-sync-seconds {INITIAL_SYNC_SECONDS:.0f} &",
            "ibox-1 on 127.0.0.1:18900, ibox-2 on :18901",
        ),
        ("# the arrays start empty: create what examples/ names (docs/demo.md has a script for all", ""),
        (f"# of it), e.g. the volume {name} on ibox-1, in pool-1 (id {pool} on a fresh ibox-sim):", ""),
        ("curl -su admin:admin -H 'Content-Type: application/json' \\", ""),
        (f"  'http://127.0.0.1:18900/api/rest/volumes?approved=true' -d '{volume}'", ""),
        ("kubectl apply -f crds/", ""),
        ("kubectl wait --for=condition=Established crd --all", ""),
        ("kubectl apply -f examples/", ""),
        ("replica-operator run --bind-address 127.0.0.1 &", "the operator, against $KUBECONFIG"),
        ("kubectl get replicas,cgrep -A -o wide", "again and again (or with -w)"),
        (f"kubectl patch replica {name} --type merge -p '{patch}'", ""),
        (f"kubectl describe replica {name}", "Synced=False/TypeChangeDeferred, then SYNC"),
        ("kill %2 %1", "the operator, then ibox-sim"),
        ("make cluster-down", ""),
    ]
    text = "\n".join(f"  {command:<42}  # {note}" if note else f"  {command}" for command, note in lines)
    return f"\nHow to do the same by hand (from the repository root):\n{text}\n"


class _Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Terminated


@dataclass
class Demo:
    once: bool
    timeout: float
    examples_dir: Path
    kubectl: Path
    screen: Screen
    pool_id: int | None = None
    change: TypeChange | None = None
    operator: Operator | None = None

    def run(self, stack: contextlib.ExitStack) -> int:
        """Start everything (each piece stopped by ``stack``), apply the examples, watch."""
        from controlplane.cluster import ControlPlane

        say = self.screen.say
        examples = Examples.load(self.examples_dir)
        workdir = Path(tempfile.mkdtemp(prefix="iro-demo-"))
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        say(f"working directory {workdir} (removed at the end)")

        say("starting a local control plane: etcd + kube-apiserver on free loopback ports ...")
        plane = stack.enter_context(ControlPlane(workdir=workdir / "controlplane"))
        pids = ", ".join(f"{name} pid {pid}" for name, pid in plane.state().process_groups.items())
        say(f"control plane ready at {plane.server} ({pids})")
        say(f"its kubeconfig, for kubectl in another terminal: {plane.kubeconfig}")

        say(f"starting two simulated InfiniBox arrays: ibox-sim, initial sync {INITIAL_SYNC_SECONDS:.0f} s")
        sim = stack.enter_context(start_simulator(say))
        urls = {str(system["name"]): str(system["url"]) for system in sim.systems}
        say(
            ", ".join(f"{name} at {url}" for name, url in urls.items()) + f" (ibox-sim pid {sim.process.pid})"
        )
        defaults = {f"http://127.0.0.1:{DEFAULT_BASE_PORT + i}": url for i, url in enumerate(urls.values())}
        if any(old != new for old, new in defaults.items()):
            examples.rewrite_urls(defaults)
            say("the InfiniBox URLs of 01-arrays.yaml are rewritten to those ports when applied")
        system_of = {  # InfiniBox object -> simulated system, by URL
            key(doc)[2]: next((s for s, url in urls.items() if url == doc["spec"]["url"]), key(doc)[2])
            for doc in examples.of_kind("InfiniBox")
        }

        arrays = SimArrays(urls)
        stack.callback(arrays.close)
        arrays.create_for(examples, system_of)
        self.pool_id = arrays.pool_id("ibox-1") if "ibox-1" in urls else None
        for system, things in arrays.created.items():
            say(f"created on {system} what the examples replicate: {', '.join(things)}")

        kube = Kube(self.kubectl, plane.kubeconfig, workdir / "kube-cache")
        stack.callback(kube.close)
        say("installing the CRDs (kubectl apply -f crds/)")
        kube.install_crds()

        self.operator = Operator(plane.kubeconfig, workdir / "operator.log")
        stack.callback(self.operator.stop)
        say(f"starting the operator: replica-operator run; its log: {self.operator.log_path}")
        self.operator.start()
        say(f"operator live (pid {self.operator.process.pid if self.operator.process else '?'})")

        applied: list[Key] = []
        for path, docs in examples.files:
            kube.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(docs))
            applied += [key(doc) for doc in docs if doc.get("kind") in PLURALS]
            say(f"kubectl apply -f examples/{path.name}")
            if any(doc.get("kind") == "InfiniBox" for doc in docs):
                for doc in examples.of_kind("InfiniBox"):
                    kube.patch("InfiniBox", "", key(doc)[2], {"spec": {"pollInterval": POLL_INTERVAL}})
                say(f"patched the InfiniBox objects: pollInterval {POLL_INTERVAL} (examples: 10s), livelier")
        self.change = TypeChange.pick(examples)
        return self.watch(kube, applied)

    def watch(self, kube: Kube, applied: list[Key]) -> int:
        """Redraw until every applied object is done (and the type change applied), or the timeout."""
        say, change, screen = self.screen.say, self.change, self.screen
        deadline = time.monotonic() + self.timeout
        log = self.operator.log_path if self.operator else "-"
        screen.footer = f"operator log: {log}    Ctrl-C stops everything"
        initializing = finished = False
        with screen.live():
            while True:
                try:
                    objects = kube.objects()
                except Exception as error:  # a slow API server is worth a retry, not a crash
                    screen.footer = f"(reading the API failed, retrying: {error})"
                    objects = None
                if objects is not None:
                    rows = rows_of(objects)
                    screen.show(rows)
                    if not initializing and any(row.sync == "INITIALIZING" for row in rows):
                        initializing = True
                        say(
                            "the operator created the replicas on the arrays; they report INITIALIZING "
                            f"while the initial copy runs ({INITIAL_SYNC_SECONDS:.0f} s here)"
                        )
                    if change is not None and not change.applied:
                        change.step(kube, objects, say)
                    waiting = [k for k in applied if k not in objects or not Row.of(objects[k]).done]
                    if not finished and not waiting and (change is None or change.applied):
                        finished = True
                        say(f"every object is Ready and SYNCHRONIZED ({len(applied)} objects)")
                        if self.once:
                            return 0
                        say("press Ctrl-C to stop: everything the demo started is stopped")
                    if not finished and time.monotonic() > deadline:
                        screen.show(rows, force=True)
                        raise DemoError(self._late(waiting, objects))
                time.sleep(REDRAW_SECONDS)

    def _late(self, waiting: list[Key], objects: dict[Key, Manifest]) -> str:
        parts = []
        for kind_key in waiting:
            row = Row.of(objects[kind_key]) if kind_key in objects else None
            what = f"Ready={row.ready or '?'}, {row.sync or 'no sync state'}" if row else "not found"
            parts.append(f"{kind_key[0]} {kind_key[2]} ({what})")
        if self.change is not None and not self.change.applied:
            parts.append(f"the type change of {self.change.name} (not applied yet)")
        return f"not done after {self.timeout:.0f} s; still waiting for: {'; '.join(parts)}"


def run_demo(*, once: bool, timeout: float, examples: Path | None = None) -> int:
    """Run the demo. Exit code: 0 done (or stopped by the user), 1 failed, timed out or interrupted --once."""
    try:
        from rich.console import Console
    except ImportError:
        print(f"replica-operator-demo: rich is missing: {INSTALL_HINT}", file=sys.stderr)
        return 1
    screen = Screen(Console())
    try:
        kubectl = check_tools()
        examples_dir = examples or find_examples()
    except DemoError as error:
        print(f"replica-operator-demo: {error}", file=sys.stderr)
        return 1
    demo = Demo(once, timeout, examples_dir, kubectl, screen)
    previous = signal.signal(signal.SIGTERM, _on_sigterm), signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored
    stack = contextlib.ExitStack()
    code = 1
    try:
        code = demo.run(stack)
    except KeyboardInterrupt as interrupt:
        screen.say(f"{'SIGTERM' if isinstance(interrupt, _Terminated) else 'Ctrl-C'}: stopping")
        code = 1 if once else 0
    except Exception as error:  # whatever went wrong: say it, then stop everything all the same
        if not isinstance(error, DemoError):
            traceback.print_exc()
        print(f"\nreplica-operator-demo failed: {error}", file=sys.stderr, flush=True)
        if demo.operator is not None and demo.operator.process is not None:
            tail = demo.operator.log_tail()
            print(f"\n--- operator log, last lines ---\n{tail}\n---", file=sys.stderr, flush=True)
    finally:
        # A second Ctrl-C must not cut the cleanup short; it takes a few seconds at most.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            screen.say("stopping the operator, the simulated arrays and the control plane ...")
            stack.close()
            screen.say("stopped every process the demo started and removed its working directory")
        finally:
            signal.signal(signal.SIGTERM, previous[0])
            signal.signal(signal.SIGINT, previous[1])
    print(by_hand(demo.pool_id, demo.change), flush=True)
    return code
