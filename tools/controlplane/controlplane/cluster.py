"""Start and stop a real etcd + kube-apiserver on free loopback ports (what envtest does).

Everything lives in one temp dir (data, certificates, logs, kubeconfig) and every
process runs in its own process group, so :meth:`ControlPlane.stop` leaves nothing
behind. With ``die_with_parent`` (the default for tests) the kernel also kills the
processes if the Python process that started them dies.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import json
import logging
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import httpx
import yaml

from .binaries import ensure_etcd, ensure_kube_apiserver, ensure_node
from .pki import Pki, write_pki

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 15.0


def free_port() -> int:
    """A port the kernel just handed out on 127.0.0.1; racy in theory, retried in practice."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def kill_with_parent() -> None:
    """``preexec_fn``: the kernel kills the child when the process that started it dies."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class ControlPlaneError(RuntimeError):
    """The control plane did not come up; the message carries the tail of the process log."""


@dataclass
class _Process:
    name: str
    argv: list[str]
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None
    log_file: IO[bytes] | None = None

    def start(self, *, die_with_parent: bool) -> None:
        self.log_file = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=kill_with_parent if die_with_parent else None,
        )

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.popen is not None:
            terminate_group(self.popen.pid, self.popen)
            self.popen = None
        if self.log_file is not None:
            self.log_file.close()
            self.log_file = None


def terminate_group(pgid: int, popen: subprocess.Popen[bytes] | None = None) -> None:
    """SIGTERM a process group, wait, then SIGKILL whatever is left and wait until it is gone."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    if not _wait_gone(pgid, popen, STOP_TIMEOUT_S):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        _wait_gone(pgid, popen, STOP_TIMEOUT_S)


def _wait_gone(pgid: int, popen: subprocess.Popen[bytes] | None, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                popen.wait(timeout=0.05)
        if not group_alive(pgid):
            return True
        time.sleep(0.05)
    return False


def group_alive(pgid: int) -> bool:
    """Whether any process of the group still runs (zombies waiting to be reaped do not count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        state, process_group = fields[0], int(fields[2])
        if process_group == pgid and state != "Z":
            return True
    return False


@dataclass
class ControlPlaneState:
    """What ``make cluster-down`` needs to find a detached control plane again."""

    workdir: str
    kubeconfig: str
    server: str
    process_groups: dict[str, int] = field(default_factory=dict)

    def dump(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path) -> ControlPlaneState:
        return cls(**json.loads(path.read_text()))


class ControlPlane:
    """A real etcd + kube-apiserver pair. Use as a context manager, or ``start()`` / ``stop()``."""

    def __init__(self, *, workdir: Path | None = None, die_with_parent: bool = True) -> None:
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="iro-controlplane-"))
        self.die_with_parent = die_with_parent
        self.etcd_port = 0
        self.apiserver_port = 0
        self.pki: Pki | None = None
        self._etcd: _Process | None = None
        self._apiserver: _Process | None = None
        self._binder: _Process | None = None

    # -- public -----------------------------------------------------------
    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.apiserver_port}"

    @property
    def kubeconfig(self) -> Path:
        return self.workdir / "kubeconfig"

    def start(self) -> ControlPlane:
        etcd_bin, apiserver_bin = ensure_etcd(), ensure_kube_apiserver()
        self.pki = write_pki(self.workdir / "pki")
        try:
            self._start_etcd(etcd_bin)
            self._start_apiserver(apiserver_bin)
            self._write_kubeconfig()
        except BaseException:
            self.stop()
            raise
        return self

    def stop_apiserver(self) -> None:
        """Stop kube-apiserver only, etcd untouched (fault tests); :meth:`start_apiserver` brings it back."""
        assert self._apiserver is not None
        self._apiserver.stop()

    def start_apiserver(self) -> None:
        """Start kube-apiserver again on the same port and wait until it is ready."""
        assert self._apiserver is not None
        self._apiserver.start(die_with_parent=self.die_with_parent)
        self._wait_ready(self._apiserver, f"{self.server}/readyz")

    def start_volume_binder(self) -> None:
        """kube-controller-manager with only the PersistentVolume controllers (issue 17): claims and
        volumes bind and delete as in a real cluster; nothing else a controller-manager does runs."""
        if self._binder is not None:
            return
        binary = ensure_node().kube_controller_manager
        kubeconfig = str(self.kubeconfig)
        self._binder = _Process(
            "kube-controller-manager",
            [
                str(binary),
                f"--kubeconfig={kubeconfig}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
                "--bind-address=127.0.0.1",
                f"--secure-port={free_port()}",
                "--leader-elect=false",
                # The binder, and the protection controllers that release the finalizers the
                # StorageObjectInUseProtection admission puts on every PV and claim (else a deleted
                # one stays Terminating).
                "--controllers=persistentvolume-binder-controller,persistentvolume-protection-controller,"
                "persistentvolumeclaim-protection-controller",
                "--pvclaimbinder-sync-period=2s",
                "--v=1",
            ],
            self.workdir / "kube-controller-manager.log",
        )
        self._binder.start(die_with_parent=self.die_with_parent)

    def stop(self) -> None:
        for process in (self._binder, self._apiserver, self._etcd):
            if process is not None:
                process.stop()
        self._binder = self._apiserver = self._etcd = None
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def state(self) -> ControlPlaneState:
        groups = {p.name: p.popen.pid for p in (self._etcd, self._apiserver) if p is not None and p.popen}
        return ControlPlaneState(str(self.workdir), str(self.kubeconfig), self.server, groups)

    def detach(self) -> ControlPlaneState:
        """Forget the processes without stopping them (``make cluster``); the state finds them later."""
        state = self.state()
        for process in (self._etcd, self._apiserver):
            if process is not None and process.log_file is not None:
                process.log_file.close()
        self._etcd = self._apiserver = None
        return state

    def __enter__(self) -> ControlPlane:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- internals --------------------------------------------------------
    def _start_etcd(self, binary: Path) -> None:
        for _attempt in range(3):
            self.etcd_port, peer_port = free_port(), free_port()
            client_url, peer_url = f"http://127.0.0.1:{self.etcd_port}", f"http://127.0.0.1:{peer_port}"
            data_dir = self.workdir / "etcd"
            shutil.rmtree(data_dir, ignore_errors=True)
            self._etcd = _Process(
                "etcd",
                [
                    str(binary),
                    "--name",
                    "default",
                    "--data-dir",
                    str(data_dir),
                    "--listen-client-urls",
                    client_url,
                    "--advertise-client-urls",
                    client_url,
                    "--listen-peer-urls",
                    peer_url,
                    "--initial-advertise-peer-urls",
                    peer_url,
                    "--initial-cluster",
                    f"default={peer_url}",
                    "--unsafe-no-fsync",
                    "--log-level",
                    "warn",
                    "--quota-backend-bytes",
                    str(4 * 1024**3),
                ],
                self.workdir / "etcd.log",
            )
            self._etcd.start(die_with_parent=self.die_with_parent)
            try:
                self._wait_ready(self._etcd, f"{client_url}/health")
                return
            except ControlPlaneError:
                self._etcd.stop()
                if _attempt == 2:
                    raise

    def _start_apiserver(self, binary: Path) -> None:
        assert self.pki is not None
        for _attempt in range(3):
            self.apiserver_port = free_port()
            self._apiserver = _Process(
                "kube-apiserver",
                [
                    str(binary),
                    f"--etcd-servers=http://127.0.0.1:{self.etcd_port}",
                    f"--secure-port={self.apiserver_port}",
                    "--bind-address=127.0.0.1",
                    "--advertise-address=127.0.0.1",
                    f"--cert-dir={self.workdir / 'apiserver-certs'}",
                    f"--tls-cert-file={self.pki.serving_cert}",
                    f"--tls-private-key-file={self.pki.serving_key}",
                    f"--client-ca-file={self.pki.ca_cert}",
                    *self._access_flags(),
                    "--service-cluster-ip-range=10.0.0.0/24",
                    f"--service-account-issuer={self.server}",
                    f"--service-account-key-file={self.pki.service_account_key}",
                    f"--service-account-signing-key-file={self.pki.service_account_key}",
                    f"--api-audiences={self.server}",
                    "--allow-privileged=true",
                    "--endpoint-reconciler-type=none",
                    "--profiling=false",
                    "--v=1",
                ],
                self.workdir / "kube-apiserver.log",
            )
            self._apiserver.start(die_with_parent=self.die_with_parent)
            try:
                self._wait_ready(self._apiserver, f"{self.server}/readyz")
                return
            except ControlPlaneError:
                self._apiserver.stop()
                if _attempt == 2:
                    raise

    def _access_flags(self) -> list[str]:
        """Authorization and admission: the fast test plane has no node and no token controller."""
        return ["--authorization-mode=RBAC", "--disable-admission-plugins=ServiceAccount"]

    def _client(self) -> httpx.Client:
        assert self.pki is not None
        context = ssl.create_default_context(cafile=str(self.pki.ca_cert))
        context.load_cert_chain(str(self.pki.admin_cert), str(self.pki.admin_key))
        return httpx.Client(verify=context, timeout=httpx.Timeout(5.0))

    def _wait_ready(self, process: _Process, url: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        with self._client() as client:
            while time.monotonic() < deadline:
                if not process.alive():
                    raise ControlPlaneError(f"{process.name} exited during start-up:\n{process.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(url).status_code == 200:
                        return
                time.sleep(0.2)
        raise ControlPlaneError(
            f"{process.name} not ready after {READY_TIMEOUT_S:.0f} s:\n{process.log_tail()}"
        )

    def _write_kubeconfig(self) -> None:
        assert self.pki is not None
        config: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "local",
                    "cluster": {"server": self.server, "certificate-authority-data": _b64(self.pki.ca_cert)},
                }
            ],
            "users": [
                {
                    "name": "admin",
                    "user": {
                        "client-certificate-data": _b64(self.pki.admin_cert),
                        "client-key-data": _b64(self.pki.admin_key),
                    },
                }
            ],
            "contexts": [{"name": "local", "context": {"cluster": "local", "user": "admin"}}],
            "current-context": "local",
        }
        self.kubeconfig.write_text(yaml.safe_dump(config, sort_keys=False))
        self.kubeconfig.chmod(0o600)


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def stop_detached(state: ControlPlaneState) -> None:
    """Stop a control plane started by ``make cluster`` and remove its temp dir."""
    for pgid in state.process_groups.values():
        terminate_group(pgid)
    shutil.rmtree(state.workdir, ignore_errors=True)
