"""Run ``ibox-sim`` as a child process, for tests and demos that want the real CLI.

    with run_simulator(systems=2, initial_sync_seconds=1) as sim:
        sim.url("ibox-1"); sim.admin("POST", "/_sim/clock/advance", {"seconds": 10})

The helper picks a block of free ports, waits for the ready line, and stops the process
with SIGTERM on exit (SIGKILL if it does not stop in time).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import random
import select
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from ibox_sim.config import DEFAULT_PASSWORD, DEFAULT_USERNAME

_PORT_RANGE = (20_000, 60_000)
_PR_SET_PDEATHSIG = 1


def ports_free(host: str, first: int, count: int) -> bool:
    """Whether ``count`` consecutive ports from ``first`` can be bound right now."""
    for port in range(first, first + count):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                return False
    return True


def find_free_ports(count: int, host: str = "127.0.0.1", attempts: int = 200) -> int:
    """The first of ``count`` consecutive free ports (racy by nature: the caller retries on a clash)."""
    rng = random.Random()
    for _ in range(attempts):
        first = rng.randrange(_PORT_RANGE[0], _PORT_RANGE[1] - count)
        if ports_free(host, first, count):
            return first
    raise RuntimeError(f"no {count} consecutive free ports found")


@dataclass
class RunningSimulator:
    """A started ``ibox-sim`` child process and the systems it announced."""

    process: subprocess.Popen[bytes]
    systems: list[dict[str, Any]]
    base_port: int
    stderr_path: Path
    args: list[str] = field(default_factory=list)
    #: How the admin helper checks TLS: True, or an SSL context trusting the simulator's certificate.
    verify: bool | ssl.SSLContext = True

    def url(self, name: str) -> str:
        for system in self.systems:
            if system["name"] == name:
                return str(system["url"])
        raise KeyError(name)

    @property
    def admin_url(self) -> str:
        return str(self.systems[0]["url"])

    def admin(self, method: str, path: str, json_body: Any = None, timeout: float = 10.0) -> Any:
        """Call the ``/_sim/`` admin API; raises for non-2xx answers."""
        response = httpx.request(
            method, self.admin_url + path, json=json_body, timeout=timeout, verify=self.verify
        )
        response.raise_for_status()
        return response.json()

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")


def _read_line(stream: IO[bytes], process: subprocess.Popen[bytes], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    buffer = b""
    fd = stream.fileno()
    while b"\n" not in buffer:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"ibox-sim printed no ready line within {timeout} s")
        ready, _, _ = select.select([fd], [], [], min(remaining, 0.5))
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                raise RuntimeError(f"ibox-sim exited with {process.wait()} before it was ready")
            buffer += chunk
        elif process.poll() is not None:
            raise RuntimeError(f"ibox-sim exited with {process.returncode} before it was ready")
    return buffer.split(b"\n", 1)[0].decode()


def _die_with_parent() -> None:
    """In the child: the kernel kills it when the process that started it dies (Linux prctl)."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def stop_process(process: subprocess.Popen[bytes], timeout: float = 15.0) -> int:
    """SIGTERM, then SIGKILL after ``timeout``; returns the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
    return process.returncode


def _start(
    args: list[str],
    env: dict[str, str],
    stderr_file: IO[bytes],
    stderr_path: Path,
    first: int,
    timeout: float,
    may_retry: bool,
) -> RunningSimulator | None:
    """Start one process and wait for its ready line; None when it lost the race for its ports."""
    process = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=stderr_file,
        env=env,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    assert process.stdout is not None
    try:
        line = _read_line(process.stdout, process, timeout)
    except RuntimeError:
        stop_process(process)
        if may_retry and "cannot listen" in stderr_path.read_text():
            return None  # lost the race for the ports: the caller tries another block
        raise RuntimeError(f"ibox-sim failed to start:\n{stderr_path.read_text()}") from None
    except BaseException:
        stop_process(process)
        raise
    return RunningSimulator(process, json.loads(line)["systems"], first, stderr_path, args)


def _cli_options(**values: object) -> list[str]:
    """``--name value`` for every option given (None: the CLI's default)."""
    options: list[str] = []
    for name, value in values.items():
        if value is not None:
            options += ["--" + name.replace("_", "-"), str(value)]
    return options


@contextlib.contextmanager
def run_simulator(
    systems: int = 2,
    *,
    host: str = "127.0.0.1",
    base_port: int | None = None,
    username: str = DEFAULT_USERNAME,
    password: str = DEFAULT_PASSWORD,
    initial_sync_seconds: float | None = None,
    state_file: str | Path | None = None,
    extra_args: Sequence[str] = (),
    timeout: float = 30.0,
    retries: int = 5,
    auto_suspend_after_seconds: float | None = None,
    max_concurrent_inits: int | None = None,
    latency_profile: str | None = None,
    allow_duplicate_replicas: bool = False,
) -> Iterator[RunningSimulator]:
    """Start ``ibox-sim`` on free ports (or ``base_port``), yield it when ready, stop it on exit.

    Keywords left at None keep the CLI's defaults (``auto_suspend_after_seconds``: 24 h; 0: at once).
    """
    options = _cli_options(
        initial_sync_seconds=initial_sync_seconds,
        state_file=state_file,
        auto_suspend_after=auto_suspend_after_seconds,
        max_concurrent_inits=max_concurrent_inits,
        latency_profile=latency_profile,
    )
    options += [*(["--allow-duplicate-replicas"] if allow_duplicate_replicas else []), *extra_args]
    stderr_file = tempfile.NamedTemporaryFile(prefix="ibox-sim-", suffix=".log", delete=False)  # noqa: SIM115
    stderr_path = Path(stderr_file.name)
    env = {**os.environ, "IBOX_SIM_PASSWORD": password}
    running: RunningSimulator | None = None
    try:
        for attempt in range(retries):
            first = base_port if base_port is not None else find_free_ports(systems, host)
            args = [
                sys.executable,
                "-m",
                "ibox_sim.cli",
                "--systems",
                str(systems),
                "--base-port",
                str(first),
            ]
            args += ["--host", host, "--username", username, *options]
            may_retry = base_port is None and attempt + 1 < retries
            running = _start(args, env, stderr_file, stderr_path, first, timeout, may_retry)
            if running is not None:
                break
        assert running is not None
        yield running
    finally:
        if running is not None:
            stop_process(running.process)
            if running.process.stdout is not None:
                running.process.stdout.close()
        stderr_file.close()
        with contextlib.suppress(OSError):
            stderr_path.unlink()
