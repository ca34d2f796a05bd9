"""A whole operator world for benchmarks, and the instruments that measure it.

``operator_world(...)`` starts a real etcd + kube-apiserver (``ControlPlane``), installs the
CRDs, starts ``ibox-sim`` in its own process, starts ``replica-operator run`` in its own
process, and creates the Secret and the two InfiniBox objects (ibox-1 source, ibox-2
target). Everything is stopped and every temp dir removed on exit, also on failure.

Instruments (all observe from outside; none polls objects one by one):

* :class:`ReplicaWatch` - one watch on the namespace's Replicas: counts ADDED/MODIFIED
  events, and records when each object first showed ``status.replicaId`` and ``Ready=True``.
* :class:`RequestLog` - follows the simulator's request log (``/_sim/requests?since=``) so
  that nothing is lost to its 10,000-entry ring; breaks requests down by endpoint.
* :class:`ProcessSampler` - samples the operator's RSS, and the CPU time of the operator (and
  of its event-loop thread), the simulator, kube-apiserver, etcd, the bench and the machine.
* :func:`apiserver_requests` / :func:`writes_between` - write requests by verb and resource
  from the API server's own ``/metrics`` (``apiserver_request_total``).

``Operator`` can also run the operator under a profiler (``BENCH_OPERATOR_PROFILE``); see
``bench/README.md``.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx
import kubernetes
import psutil
import yaml
from prometheus_client.parser import text_string_to_metric_families
from tests.support.admission import install_finalizer_policy
from tests.support.kube import Cluster
from tests.support.operator import OPERATOR, OperatorProcess
from tests.support.wait import wait_for

from controlplane.cluster import ControlPlane
from ibox_sim.config import REALISTIC_MAX_CONCURRENT_INITS
from ibox_sim.testing import RunningSimulator, run_simulator
from replica_operator.api import GROUP, VERSION

ROOT = Path(__file__).resolve().parent.parent
CRDS = ROOT / "crds"
API_VERSION = f"{GROUP}/{VERSION}"
NAMESPACE = "bench"
SOURCE, TARGET = "ibox-1", "ibox-2"
AUTH = ("admin", "admin")
READY_TIMEOUT_S = 90.0


class BenchError(RuntimeError):
    """A bounded wait ran out, or a step of the set-up failed; the message says which."""


def env_sizes(name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    """Comma-separated integers from the environment (e.g. ``BENCH_SIZES=100,1000``)."""
    raw = os.environ.get(name, "").strip()
    return tuple(int(part) for part in raw.split(",") if part.strip()) if raw else default


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


def latency_profile() -> str:
    """The simulator's latency profile (``BENCH_LATENCY``: ``none``, the default, or ``realistic``)."""
    profile = os.environ.get("BENCH_LATENCY", "").strip() or "none"
    if profile not in ("none", "realistic"):
        raise BenchError(f"BENCH_LATENCY must be none or realistic, not {profile!r}")
    return profile


def set_latency(sim: RunningSimulator, profile: str) -> dict[str, Any]:
    """Switch the simulator's latency profile (after the set-up, which then runs at full speed);
    ``realistic`` also brings its limit of concurrent initializations per array, as the CLI does."""
    inits = REALISTIC_MAX_CONCURRENT_INITS if profile == "realistic" else None
    sim.admin("PUT", "/_sim/config", {"max_concurrent_inits": inits})
    return dict(sim.admin("PUT", "/_sim/latency", {"profile": profile}))


# -- manifests -------------------------------------------------------------------------------------
def replica_manifest(
    name: str,
    volume: str,
    *,
    namespace: str = NAMESPACE,
    source: str = SOURCE,
    target: str = TARGET,
    **spec: Any,
) -> dict[str, Any]:
    """A Replica of ``volume`` on ``source`` to a new volume in pool-1 on ``target`` (ASYNC unless told)."""
    return {
        "apiVersion": API_VERSION,
        "kind": "Replica",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "source": {"array": source, "volume": volume},
            "target": {"array": target, "pool": "pool-1"},
            **spec,
        },
    }


def multi_document(manifests: Iterable[dict[str, Any]]) -> str:
    return yaml.safe_dump_all(list(manifests), sort_keys=False)


# -- the simulator ----------------------------------------------------------------------------------
def create_volumes(url: str, names: list[str], *, workers: int = 4) -> None:
    """Create the volumes on one simulated system over REST (a few keep-alive connections)."""
    with httpx.Client(base_url=f"{url}/api/rest", auth=AUTH, timeout=30) as client:
        pool = client.get("/pools", params={"name": "eq:pool-1"}).json()["result"][0]["id"]
    chunks = [names[i::workers] for i in range(workers)]
    errors: list[str] = []

    def create(chunk: list[str]) -> None:
        with httpx.Client(base_url=f"{url}/api/rest", auth=AUTH, timeout=30) as client:
            for name in chunk:
                reply = client.post("/volumes", json={"name": name, "size": 10**9, "pool_id": pool})
                if reply.status_code >= 400:
                    errors.append(f"{name}: {reply.status_code} {reply.text[:200]}")
                    return

    threads = [threading.Thread(target=create, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise BenchError(f"volume creation failed: {errors[0]}")


_ID = re.compile(r"/\d+(?=/|$)")


def endpoint_of(entry: dict[str, Any]) -> str:
    """``GET /api/rest/replicas/{id}`` for a log entry; a list call shows its page size."""
    path = _ID.sub("/{id}", str(entry["path"]))
    path = path.removeprefix("/api/rest")
    key = f"{entry['method']} {path}"
    if entry["method"] == "GET" and path == "/replicas":
        query = str(entry.get("query") or "")
        key += " (list)" if "name=" not in query and "local_entity_id" not in query else " (search)"
    return key


class RequestLog:
    """Follows the simulator's request log from a background thread (nothing lost to the ring)."""

    def __init__(self, sim: RunningSimulator, interval: float = 1.0) -> None:
        self.sim = sim
        self.interval = interval
        self.entries: list[dict[str, Any]] = []
        self._seq = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="request-log", daemon=True)

    def start(self) -> RequestLog:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)
        self.fetch()

    def fetch(self) -> None:
        with self._lock:
            answer = self.sim.admin("GET", f"/_sim/requests?since={self._seq}", timeout=30)
            entries = answer if isinstance(answer, list) else answer["requests"]
            if entries:
                if self._seq and entries[0]["seq"] > self._seq + 1:
                    raise BenchError(
                        f"request log overflowed: lost seq {self._seq + 1}..{entries[0]['seq'] - 1}"
                    )
                self._seq = int(entries[-1]["seq"])
                self.entries.extend(entries)

    def mark(self) -> int:
        """The number of entries so far (to slice a phase out of the log later)."""
        self.fetch()
        return len(self.entries)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            with contextlib.suppress(httpx.HTTPError):
                self.fetch()


def breakdown(entries: Iterable[dict[str, Any]], systems: Iterable[str] | None = None) -> dict[str, int]:
    """Requests by endpoint (most first), optionally only those to ``systems``."""
    wanted = set(systems) if systems is not None else None
    counts = Counter(endpoint_of(entry) for entry in entries if wanted is None or entry["system"] in wanted)
    return dict(counts.most_common())


# -- the operator -----------------------------------------------------------------------------------
class Operator(OperatorProcess):
    """The tests' operator process (not verbose), optionally under a profiler, with parsed metrics."""

    def __init__(self, kubeconfig: Path, *, verbose: bool = False, profile: str | None = None) -> None:
        #: A path: run under cProfile, pyinstrument (``*.pyisession``, written on a clean stop) or
        #: tracemalloc (``*.tracemalloc.txt``, written by :meth:`dump_memory`).
        self.profile = profile
        command: tuple[str, ...] = (str(OPERATOR),)
        if profile and profile.endswith(".pyisession"):  # pyinstrument, if importable
            command = (sys.executable, "-m", "pyinstrument", "-r", "pyisession", "-o", profile, *command)
        elif profile and profile.endswith(".tracemalloc.txt"):
            command = (sys.executable, "-m", "bench._memory_probe")  # SIGUSR1 writes the profile
        elif profile:
            command = (sys.executable, "-m", "cProfile", "-o", profile, *command)
        super().__init__(
            kubeconfig,
            env={"BENCH_TRACEMALLOC_OUT": profile or ""},
            command=command,
            options=("--verbose",) if verbose else (),
            cwd=ROOT,
            startup_timeout=300 if profile else 60,
        )

    def metrics(self) -> dict[str, list[tuple[dict[str, str], float]]]:  # type: ignore[override]
        """The operator's Prometheus samples, by sample name."""
        return parse_samples(super().metrics())

    def trace_memory(self) -> None:
        """With a ``*.tracemalloc.txt`` profile: start tracing allocations now."""
        if self.process is not None and self.profile and self.profile.endswith(".tracemalloc.txt"):
            self.process.send_signal(signal.SIGUSR2)

    def dump_memory(self) -> None:
        """With a ``*.tracemalloc.txt`` profile: have the operator write its allocation sites now."""
        if self.process is not None and self.profile and self.profile.endswith(".tracemalloc.txt"):
            Path(self.profile).unlink(missing_ok=True)
            self.process.send_signal(signal.SIGUSR1)
            wait_for(lambda: Path(self.profile or "").exists(), timeout=300, what="tracemalloc dump")


def parse_samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((dict(sample.labels), float(sample.value)))
    return samples


def metric_sum(samples: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    return sum(
        value
        for found, value in samples.get(name, [])
        if all(found.get(key) == wanted for key, wanted in labels.items())
    )


def histogram_mean(
    before: dict[str, list[tuple[dict[str, str], float]]],
    after: dict[str, list[tuple[dict[str, str], float]]],
    name: str,
    **labels: str,
) -> float | None:
    """Mean of a histogram's observations between two scrapes (seconds), None when there were none."""
    count = metric_sum(after, f"{name}_count", **labels) - metric_sum(before, f"{name}_count", **labels)
    total = metric_sum(after, f"{name}_sum", **labels) - metric_sum(before, f"{name}_sum", **labels)
    return total / count if count else None


# -- processes --------------------------------------------------------------------------------------
def _role(process: psutil.Process) -> str | None:
    try:
        cmdline = " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    if ("replica-operator" in cmdline or "bench._memory_probe" in cmdline) and " run " in f"{cmdline} ":
        return "operator"
    if "ibox_sim" in cmdline:
        return "simulator"
    if "kube-apiserver" in cmdline:
        return "kube-apiserver"
    if "etcd" in cmdline:
        return "etcd"
    return None


class ProcessSampler:
    """Samples the operator's RSS (peak) and the CPU time of every process of the world."""

    def __init__(self, operator_pid: int, interval: float = 0.25) -> None:
        self.operator = psutil.Process(operator_pid)
        self.interval = interval
        self.peak_rss = 0
        self.rss_samples: list[int] = []
        self.processes: dict[str, psutil.Process] = {"operator": self.operator}
        for child in psutil.Process().children(recursive=True):
            role = _role(child)
            if role is not None and role not in self.processes:
                self.processes[role] = child
        self.processes["bench"] = psutil.Process()
        self._cpu_start = self._cpu()
        self._loop_start = self._main_thread_cpu()
        self._machine_start = psutil.cpu_times()
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="process-sampler", daemon=True)

    def _cpu(self) -> dict[str, float]:
        times: dict[str, float] = {}
        for role, process in self.processes.items():
            with contextlib.suppress(psutil.NoSuchProcess):
                cpu = process.cpu_times()
                times[role] = cpu.user + cpu.system
        return times

    def _main_thread_cpu(self) -> float:
        """CPU seconds of the operator's main thread (kopf's event loop; its TID is the PID)."""
        with contextlib.suppress(psutil.NoSuchProcess):
            for thread in self.operator.threads():
                if thread.id == self.operator.pid:
                    return float(thread.user_time + thread.system_time)
        return 0.0

    def start(self) -> ProcessSampler:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                rss = self.operator.memory_info().rss
            except psutil.NoSuchProcess:
                return
            self.rss_samples.append(rss)
            self.peak_rss = max(self.peak_rss, rss)

    def stop(self) -> dict[str, Any]:
        """Stop sampling; peak and last RSS in MiB, CPU seconds and share of one core per process."""
        self._stop.set()
        self._thread.join(5)
        elapsed = time.monotonic() - self._started
        end = self._cpu()
        cpu = {role: round(end[role] - self._cpu_start.get(role, 0.0), 2) for role in end}
        loop = self._main_thread_cpu() - self._loop_start
        machine = psutil.cpu_times()
        busy = (machine.user + machine.system + machine.nice + getattr(machine, "softirq", 0.0)) - (
            self._machine_start.user
            + self._machine_start.system
            + self._machine_start.nice
            + getattr(self._machine_start, "softirq", 0.0)
        )
        return {
            "operator_peak_rss_mib": round(self.peak_rss / 2**20, 1),
            "operator_last_rss_mib": round(self.rss_samples[-1] / 2**20, 1) if self.rss_samples else None,
            "cpu_seconds": cpu,
            "cpu_cores_busy": {role: round(seconds / elapsed, 2) for role, seconds in cpu.items()},
            "operator_event_loop_thread_busy": round(loop / elapsed, 2),
            "machine_cores_busy": round(busy / elapsed, 2),
        }


# -- Kubernetes side measurements -------------------------------------------------------------------
@dataclass
class ReplicaWatch:
    """One watch on the Replicas of a namespace, in a background thread."""

    kubeconfig: Path
    namespace: str = NAMESPACE
    events: Counter[str] = field(default_factory=Counter)
    first_id: dict[str, float] = field(default_factory=dict)
    first_ready: dict[str, float] = field(default_factory=dict)
    statuses: dict[str, dict[str, Any]] = field(default_factory=dict)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _error: BaseException | None = None

    def start(self) -> ReplicaWatch:
        self._api = kubernetes.client.CustomObjectsApi(Cluster(self.kubeconfig).api_client())
        self._list()
        self._thread = threading.Thread(target=self._run, name="replica-watch", daemon=True)
        self._thread.start()
        return self

    def _list(self) -> None:
        """(Re)list: the current objects (not counted as events) and the version to watch from."""
        listed = cast(
            dict[str, Any],
            self._api.list_namespaced_custom_object(GROUP, VERSION, self.namespace, "replicas"),
        )
        self._version = listed["metadata"]["resourceVersion"]
        for item in listed["items"]:
            self._see("LISTED", item)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                watch = kubernetes.watch.Watch()  # type: ignore[no-untyped-call]
                try:
                    for event in watch.stream(  # type: ignore[no-untyped-call]
                        self._api.list_namespaced_custom_object,
                        GROUP,
                        VERSION,
                        self.namespace,
                        "replicas",
                        resource_version=self._version,
                        timeout_seconds=5,
                        allow_watch_bookmarks=True,
                    ):
                        kind, obj = event["type"], event["object"]
                        if kind == "ERROR":  # e.g. 410 Gone: the version is too old; list again
                            self._list()
                            break
                        self._version = obj["metadata"]["resourceVersion"]
                        if kind != "BOOKMARK":
                            self._see(kind, obj)
                        if self._stop.is_set():
                            break
                finally:
                    watch.stop()  # type: ignore[no-untyped-call]
        except BaseException as error:  # surfaced by wait_ready
            self._error = error
            with self._cond:
                self._cond.notify_all()

    def _see(self, kind: str, obj: dict[str, Any]) -> None:
        now = time.monotonic()
        name = obj["metadata"]["name"]
        status = obj.get("status") or {}
        with self._cond:
            self.events[kind] += 1
            if kind == "DELETED":
                self.statuses.pop(name, None)
                self._cond.notify_all()
                return
            self.statuses[name] = status
            if status.get("replicaId") is not None:
                self.first_id.setdefault(name, now)
            ready = any(
                c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []
            )
            if ready:
                self.first_ready.setdefault(name, now)
            self._cond.notify_all()

    def wait(self, check: Callable[[ReplicaWatch], bool], *, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not check(self):
                if self._error is not None:
                    raise BenchError(f"the replica watch failed: {self._error!r}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise BenchError(f"{what}: not done within {timeout:.0f} s ({self.summary()})")
                self._cond.wait(min(remaining, 1.0))

    def wait_ready(self, names: Iterable[str], *, timeout: float) -> None:
        wanted = set(names)
        self.wait(
            lambda w: wanted <= set(w.first_ready),
            timeout=timeout,
            what=f"{len(wanted)} replicas Ready=True",
        )

    def summary(self) -> str:
        reasons = Counter(
            next((c.get("reason") for c in s.get("conditions") or [] if c.get("type") == "Ready"), None)
            for s in self.statuses.values()
        )
        return (
            f"{len(self.statuses)} seen, {len(self.first_id)} with a replica id, "
            f"{len(self.first_ready)} Ready; Ready reasons {dict(reasons)}"
        )

    def counts(self) -> dict[str, int]:
        with self._cond:
            return dict(self.events)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(15)


def apiserver_requests(control_plane: ControlPlane) -> Counter[tuple[str, str, str]]:
    """``apiserver_request_total`` summed by (verb, resource, subresource)."""
    return Cluster(control_plane.kubeconfig).api_requests()


#: Written by the API server itself (its identity lease, renewed every 10 s), not by the operator.
APISERVER_OWN = ("PUT leases", "POST leases")


def replica_writes(writes: dict[str, int]) -> int:
    """The writes of replication objects (metadata and status) and Events; InfiniBox writes aside."""
    return sum(value for key, value in writes.items() if "infiniboxes" not in key and "leases" not in key)


def without_apiserver_own(writes: dict[str, int]) -> dict[str, int]:
    return {key: value for key, value in writes.items() if key not in APISERVER_OWN}


# -- the world --------------------------------------------------------------------------------------
@dataclass
class World:
    """Everything one scenario runs against."""

    control_plane: ControlPlane
    sim: RunningSimulator
    operator: Operator
    poll_interval: str
    namespace: str = NAMESPACE

    @property
    def kubeconfig(self) -> Path:
        return self.control_plane.kubeconfig

    @property
    def cluster(self) -> Cluster:
        return Cluster(self.kubeconfig, self.control_plane)

    def kubectl(self, *args: str, input: str | None = None, timeout: float = 600) -> str:
        return self.cluster.kubectl(*args, input=input, timeout=timeout).stdout

    def custom(self) -> kubernetes.client.CustomObjectsApi:
        return kubernetes.client.CustomObjectsApi(self.cluster.api_client())


def _infinibox(name: str, url: str, poll_interval: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "InfiniBox",
        "metadata": {"name": name},
        "spec": {
            "url": url,
            "credentialsSecretRef": {"name": "creds", "namespace": NAMESPACE},
            "pollInterval": poll_interval,
            **spec,
        },
    }


def _connected(world: World, names: Iterable[str]) -> bool:
    api = world.custom()
    for name in names:
        body = cast(dict[str, Any], api.get_cluster_custom_object(GROUP, VERSION, "infiniboxes", name))
        conditions = (body.get("status") or {}).get("conditions") or []
        if not any(c["type"] == "Connected" and c["status"] == "True" for c in conditions):
            return False
    return True


@contextlib.contextmanager
def operator_world(
    *,
    poll_interval: str = "5s",
    initial_sync_seconds: float = 2.0,
    infinibox_spec: dict[str, Any] | None = None,
    start_operator: bool = True,
    systems: int = 2,
) -> Iterator[World]:
    """Control plane + CRDs + the chart's finalizer policy + simulator (``systems`` arrays) + operator +
    Secret + one InfiniBox object per array; all gone on exit."""
    with contextlib.ExitStack() as stack:
        control_plane = stack.enter_context(ControlPlane())
        config = control_plane.kubeconfig
        cluster = Cluster(config, control_plane)
        cluster.kubectl("apply", "--server-side", "-f", str(CRDS))
        cluster.kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
        cluster.kubectl("create", "namespace", NAMESPACE)
        cluster.credentials_secret(NAMESPACE, "creds", password=AUTH[1])
        if os.environ.get("BENCH_FINALIZER_POLICY", "1") != "0":  # as the chart installs it
            install_finalizer_policy(cluster, "bench", NAMESPACE, scoped=False)
        sim = stack.enter_context(run_simulator(systems, initial_sync_seconds=initial_sync_seconds))
        operator = Operator(
            config,
            verbose=os.environ.get("BENCH_OPERATOR_VERBOSE") == "1",
            profile=os.environ.get("BENCH_OPERATOR_PROFILE") or None,
        )
        stack.callback(operator.close)
        world = World(control_plane, sim, operator, poll_interval)
        names = [f"ibox-{index}" for index in range(1, systems + 1)]
        arrays = [_infinibox(name, sim.url(name), poll_interval, **(infinibox_spec or {})) for name in names]
        cluster.kubectl("apply", "-f", "-", input=multi_document(arrays))
        try:
            if start_operator:
                operator.start()
                what = "every InfiniBox Connected"
                wait_for(lambda: _connected(world, names), timeout=READY_TIMEOUT_S, what=what)
            yield world
        except BaseException:
            if operator.log_path.exists():
                print(f"--- operator log (tail) ---\n{operator.log()[-3000:]}", file=sys.stderr)
            raise


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"median": None, "p95": None, "max": None}
    ordered = sorted(values)
    return {
        "median": round(statistics.median(ordered), 3),
        "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 3),
        "max": round(ordered[-1], 3),
    }
