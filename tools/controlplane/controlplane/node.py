"""A control plane with one real node: containerd + kubelet, kube-controller-manager, kube-scheduler.

Slower to start than :class:`~controlplane.cluster.ControlPlane` (tens of seconds, and the node
binaries take ~15 min to build cold), so only the tests that run the chart's pods use it.
Facts measured on this kind of machine (shared/CONTAINERS.md): cgroups are hybrid v1, so kubelet
needs ``failCgroupV1: false`` and the cgroupfs driver; only loopback networking is allowed, so the
runtime gets a loopback-only CNI config and pods use the host network; runc's init fails with
"can't get final child's PID from pipe: EOF" unless containerd's CRI restricts oom_score_adj
(root here may not lower it). The pause image is a scratch image holding Debian's static
``catatonit -P`` (no registry to pull one from), written as an OCI archive right here.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import io
import json
import logging
import os
import shutil
import signal
import subprocess
import tarfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import httpx

from .binaries import NodeBinaries, ensure_node
from .cluster import ControlPlane, ControlPlaneError, _Process, free_port

log = logging.getLogger(__name__)

NODE_NAME = "iro-node"
PAUSE_IMAGE = "localhost/pause:catatonit"
CATATONIT = Path("/usr/bin/catatonit")
CNI_BIN_DIR = Path("/usr/lib/cni")
#: Debian packages the node runs on (containerd 1.6 with runc, the CNI loopback plugin, catatonit).
NODE_PACKAGES = ("containerd", "runc", "containernetworking-plugins", "catatonit")
NODE_READY_TIMEOUT_S = 120.0
_MNT_DETACH = 2


class NodeControlPlane(ControlPlane):
    """etcd + kube-apiserver (ServiceAccount admission, Node+RBAC authorization) and a node."""

    def __init__(self, *, workdir: Path | None = None, die_with_parent: bool = True) -> None:
        super().__init__(workdir=workdir, die_with_parent=die_with_parent)
        self.node_dir = self.workdir / "node"
        self.node_name = NODE_NAME
        self._node_processes: list[_Process] = []

    @property
    def containerd_socket(self) -> Path:
        return self.node_dir / "containerd" / "containerd.sock"

    @property
    def pod_logs_dir(self) -> Path:
        """Where kubelet keeps the containers' logs (the node has no address for `kubectl logs`)."""
        return self.node_dir / "pods"

    def pod_logs(self, namespace: str) -> str:
        """Every container log of the namespace's pods, each under a header naming its file."""
        parts = []
        for path in sorted(self.pod_logs_dir.glob(f"{namespace}_*/*/*.log")):
            parts.append(f"--- {path.relative_to(self.pod_logs_dir)}\n{path.read_text(errors='replace')}")
        return "\n".join(parts)

    def start(self) -> NodeControlPlane:
        binaries = ensure_node()
        missing = [tool for tool in ("containerd", "ctr", "runc") if shutil.which(tool) is None]
        if missing or not CATATONIT.exists() or not (CNI_BIN_DIR / "loopback").exists():
            raise ControlPlaneError(f"the node needs Debian's {' '.join(NODE_PACKAGES)} installed")
        super().start()
        try:
            self._start_node(binaries)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Kill the pods' containers, then the node's processes, then unmount what they mounted."""
        if self._node_processes:
            self._kill_containers()
            for process in reversed(self._node_processes):
                process.stop()
            self._node_processes = []
            _kill_leftovers(self.node_dir)
            _unmount_under(self.node_dir)
        super().stop()

    def import_image(self, archive: Path) -> None:
        """Load an image archive (OCI or docker-archive, e.g. ``podman save``) into the node's runtime."""
        self._ctr("images", "import", "--all-platforms", str(archive), timeout=600)

    def __enter__(self) -> NodeControlPlane:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- internals --------------------------------------------------------
    def _access_flags(self) -> list[str]:
        """Pods need their ServiceAccount token mounted (admission) and kubelets authorized as nodes."""
        return ["--authorization-mode=Node,RBAC"]

    def _start_node(self, binaries: NodeBinaries) -> None:
        assert self.pki is not None
        self.node_dir.mkdir(parents=True, exist_ok=True)
        self._start("containerd", ["containerd", "--config", str(self._write_containerd_config())])
        self._wait_for(lambda: self._ctr("version", check=False).returncode == 0, "containerd")
        archive = self.node_dir / "pause.tar"
        write_pause_image(archive, PAUSE_IMAGE)
        self.import_image(archive)
        kubeconfig = str(self.kubeconfig)
        common = [f"--kubeconfig={kubeconfig}", f"--authentication-kubeconfig={kubeconfig}"]
        common += [
            f"--authorization-kubeconfig={kubeconfig}",
            "--bind-address=127.0.0.1",
            "--leader-elect=false",
        ]
        self._start(
            "kube-controller-manager",
            [
                str(binaries.kube_controller_manager),
                *common,
                f"--secure-port={free_port()}",
                "--controllers=*",
                f"--root-ca-file={self.pki.ca_cert}",
                f"--service-account-private-key-file={self.pki.service_account_key}",
                "--use-service-account-credentials=false",
                "--v=1",
            ],
        )
        self._start(
            "kube-scheduler", [str(binaries.kube_scheduler), *common, f"--secure-port={free_port()}", "--v=1"]
        )
        self._start(
            "kubelet",
            [
                str(binaries.kubelet),
                f"--config={self._write_kubelet_config()}",
                f"--kubeconfig={kubeconfig}",
                f"--root-dir={self.node_dir / 'kubelet'}",
                f"--hostname-override={self.node_name}",
                "--node-ip=127.0.0.1",
                "--v=1",
            ],
        )
        self._wait_for(self._node_ready, f"node {self.node_name} Ready", NODE_READY_TIMEOUT_S)

    def _start(self, name: str, argv: list[str]) -> None:
        process = _Process(name, argv, self.node_dir / f"{name}.log")
        process.start(die_with_parent=self.die_with_parent)
        self._node_processes.append(process)

    def _wait_for(self, condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process in self._node_processes:
                if not process.alive():
                    raise ControlPlaneError(f"{process.name} exited during start-up:\n{process.log_tail()}")
            if condition():
                return
            time.sleep(0.5)
        tails = "\n".join(f"--- {p.name}\n{p.log_tail(15)}" for p in self._node_processes)
        raise ControlPlaneError(f"{what} not reached after {timeout:.0f} s:\n{tails}")

    def _node_ready(self) -> bool:
        with self._client() as client, contextlib.suppress(httpx.HTTPError):
            response = client.get(f"{self.server}/api/v1/nodes/{self.node_name}")
            if response.status_code == 200:
                conditions = response.json().get("status", {}).get("conditions", [])
                return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
        return False

    def _ctr(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        argv = ["ctr", "--address", str(self.containerd_socket), "--namespace", "k8s.io", *args]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise ControlPlaneError(f"ctr {' '.join(args[:2])} failed: {result.stderr[-2000:]}")
        return result

    def _kill_containers(self) -> None:
        """SIGKILL every task (a container's processes live outside the node's process groups)."""
        with contextlib.suppress(subprocess.SubprocessError, ControlPlaneError, OSError):
            listed = self._ctr("tasks", "ls", "--quiet", check=False, timeout=20).stdout.split()
            for task in listed:
                self._ctr("tasks", "kill", "--all", "--signal", "SIGKILL", task, check=False, timeout=20)
            for task in listed:
                self._ctr("tasks", "delete", "--force", task, check=False, timeout=20)

    def _write_containerd_config(self) -> Path:
        root = self.node_dir / "containerd"
        cni = self.node_dir / "cni"
        cni.mkdir(parents=True, exist_ok=True)
        (cni / "99-loopback.conflist").write_text(
            json.dumps({"cniVersion": "0.4.0", "name": "lo", "plugins": [{"type": "loopback"}]})
        )
        cri = '[plugins."io.containerd.grpc.v1.cri"]'
        text = f"""version = 2
root = "{root / "root"}"
state = "{root / "state"}"
[grpc]
  address = "{self.containerd_socket}"
[ttrpc]
  address = "{root / "containerd.sock.ttrpc"}"
{cri}
  sandbox_image = "{PAUSE_IMAGE}"
  restrict_oom_score_adj = true
  [{cri[1:-1]}.cni]
    bin_dir = "{CNI_BIN_DIR}"
    conf_dir = "{cni}"
  [{cri[1:-1]}.containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [{cri[1:-1]}.containerd.runtimes.runc.options]
      SystemdCgroup = false
"""
        path = root / "config.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def _write_kubelet_config(self) -> Path:
        assert self.pki is not None
        config = {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            "address": "127.0.0.1",
            "port": free_port(),
            "healthzBindAddress": "127.0.0.1",
            "healthzPort": free_port(),
            "readOnlyPort": 0,
            "failCgroupV1": False,
            "cgroupDriver": "cgroupfs",
            "failSwapOn": False,
            "containerRuntimeEndpoint": f"unix://{self.containerd_socket}",
            "authentication": {
                "anonymous": {"enabled": False},
                "webhook": {"enabled": False},
                "x509": {"clientCAFile": str(self.pki.ca_cert)},
            },
            "authorization": {"mode": "AlwaysAllow"},
            # A shared test machine's disks are often nearly full: no eviction for that.
            "evictionHard": {
                "memory.available": "100Mi",
                "nodefs.available": "1%",
                "imagefs.available": "1%",
            },
            "imageGCHighThresholdPercent": 100,
            "imageGCLowThresholdPercent": 99,
            "registerNode": True,
            "resolvConf": "/etc/resolv.conf",
            "podLogsDir": str(self.pod_logs_dir),  # not the host's /var/log/pods: gone with the node
        }
        path = self.node_dir / "kubelet-config.json"
        path.write_text(json.dumps(config, indent=2))
        return path


def write_pause_image(archive: Path, reference: str, init: Path = CATATONIT) -> None:
    """An OCI image archive of one layer holding ``/catatonit``, entrypoint ``catatonit -P``."""
    layer_buffer = io.BytesIO()
    with tarfile.open(fileobj=layer_buffer, mode="w") as layer:
        info = layer.gettarinfo(str(init), arcname="catatonit")
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mtime = 0
        with init.open("rb") as source:
            layer.addfile(info, source)
    layer_bytes = layer_buffer.getvalue()
    layer_digest = hashlib.sha256(layer_bytes).hexdigest()
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Entrypoint": ["/catatonit", "-P"]},
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{layer_digest}"]},
    }
    blobs: dict[str, bytes] = {}
    config_bytes = json.dumps(config).encode()
    blobs[hashlib.sha256(config_bytes).hexdigest()] = config_bytes
    blobs[layer_digest] = layer_bytes
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": _descriptor("application/vnd.oci.image.config.v1+json", config_bytes),
        "layers": [_descriptor("application/vnd.oci.image.layer.v1.tar", layer_bytes)],
    }
    manifest_bytes = json.dumps(manifest).encode()
    blobs[hashlib.sha256(manifest_bytes).hexdigest()] = manifest_bytes
    manifest_descriptor = _descriptor("application/vnd.oci.image.manifest.v1+json", manifest_bytes)
    manifest_descriptor["annotations"] = {"io.containerd.image.name": reference}
    index = {"schemaVersion": 2, "manifests": [manifest_descriptor]}
    with tarfile.open(archive, mode="w") as out:
        _add_bytes(out, "oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode())
        _add_bytes(out, "index.json", json.dumps(index).encode())
        for digest, blob in blobs.items():
            _add_bytes(out, f"blobs/sha256/{digest}", blob)


def _descriptor(media_type: str, blob: bytes) -> dict[str, object]:
    digest = f"sha256:{hashlib.sha256(blob).hexdigest()}"
    return {"mediaType": media_type, "digest": digest, "size": len(blob)}


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def _kill_leftovers(directory: Path) -> None:
    """SIGKILL processes whose command line names the node's directory (containerd's shims)."""
    marker = str(directory).encode()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError, ValueError):
            if marker in cmdline.read_bytes() and int(cmdline.parent.name) != os.getpid():
                os.kill(int(cmdline.parent.name), signal.SIGKILL)


def _unmount_under(directory: Path) -> None:
    """Lazily unmount everything kubelet and containerd mounted below ``directory``, deepest first."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    prefix = str(directory.resolve()) + "/"
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].encode().decode("unicode_escape")
        if point.startswith(prefix):
            mounts.append(point)
    for point in sorted(set(mounts), key=len, reverse=True):
        if libc.umount2(point.encode(), _MNT_DETACH) != 0:
            log.warning("could not unmount %s (errno %d)", point, ctypes.get_errno())
