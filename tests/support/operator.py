"""The operator as users run it: ``replica-operator run`` in its own process."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Self

import httpx

from controlplane.cluster import free_port, kill_with_parent
from replica_operator.leadership.standby import STANDBY_HEALTHZ
from tests.support.wait import wait_for

OPERATOR = Path(sys.executable).parent / "replica-operator"


LEASE_ID_VARIABLE = "REPLICA_OPERATOR_LEADER_ELECTION_ID"

TRACEBACK = "Traceback (most recent call last)"
_RECORD_START = re.compile(r"^\[\d{4}-\d\d-\d\d ", re.MULTILINE)  # kopf's FULL format: [date time] ...

#: Tracebacks a green run may log, each with why it is expected (pattern searched in the record).
EXPECTED_TRACEBACKS: Mapping[str, str] = {}


def unexpected_tracebacks(log: str, allowed: Mapping[str, str] = EXPECTED_TRACEBACKS) -> list[str]:
    """The log records holding a traceback that no ``allowed`` pattern explains (their first line and
    last 2000 characters: the exception is at the end). A record runs from one ``[date time]``
    header to the next."""
    starts = [match.start() for match in _RECORD_START.finditer(log)]
    records = [log[a:b] for a, b in zip([0, *starts], [*starts, len(log)], strict=True)]
    return [
        record if len(record) <= 2400 else f"{record.splitlines()[0]}\n...\n{record[-2000:]}"
        for record in records
        if TRACEBACK in record and not any(re.search(pattern, record) for pattern in allowed)
    ]


def assert_no_unexpected_tracebacks(log: str, what: str) -> None:
    """Fail with the first unexpected traceback: a green run that logs one hides a bug."""
    found = unexpected_tracebacks(log)
    assert not found, (
        f"{what}: {len(found)} unexpected traceback(s) in the operator's log, first:\n{found[0]}"
    )


class OperatorProcess:
    """A running operator bound to 127.0.0.1; ``kill()`` is SIGKILL, ``stop()`` a clean SIGTERM.

    Leader election is on, as in production. Unless ``lease_name`` is given, each start competes
    for a Lease of its own, so that independent operators in one test session (and a restart
    after ``kill()``) never wait for each other; tests of the election pass one ``lease_name``
    to several processes.
    ``start()`` returns once the process leads (kopf's /healthz answers), ``start(standby=True)``
    once it stands by (the standby's own /healthz answers).
    """

    def __init__(
        self,
        kubeconfig: Path,
        *,
        env: dict[str, str] | None = None,
        command: Sequence[str] = (str(OPERATOR),),
        options: Sequence[str] = (),
        cwd: Path | None = None,
        startup_timeout: float = 60,
        lease_name: str | None = None,
    ) -> None:
        self.kubeconfig = kubeconfig
        self.env = env or {}
        #: What runs ``replica-operator`` (e.g. under a profiler); ``run`` and its options follow.
        self.command = tuple(command)
        self.options = tuple(options)
        self.cwd = cwd
        self.startup_timeout = startup_timeout
        self._shared_lease = lease_name or self.env.get(LEASE_ID_VARIABLE)
        self.lease_name = self._shared_lease or ""
        self.process: subprocess.Popen[bytes] | None = None
        self.liveness_port = self.metrics_port = 0
        handle, name = tempfile.mkstemp(prefix="replica-operator-", suffix=".log")
        os.close(handle)
        self.log_path = Path(name)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, *, standby: bool | None = False) -> Self:
        """Start; return once /healthz answers as a leader (kopf's), or as a standby if ``standby``,
        or as either if ``standby`` is None (a candidate racing another for a free Lease)."""
        self.lease_name = self._shared_lease or f"iro-test-{uuid.uuid4().hex[:10]}"
        self.liveness_port, self.metrics_port = free_port(), free_port()
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig), **self.env}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    *self.command,
                    "run",
                    # All namespaces unless the test scopes its operator with --namespace.
                    *(
                        ()
                        if any(o.startswith("--namespace") for o in self.options)
                        else ("--all-namespaces",)
                    ),
                    f"--leader-election-id={self.lease_name}",
                    "--bind-address",
                    "127.0.0.1",
                    "--liveness-port",
                    str(self.liveness_port),
                    "--metrics-port",
                    str(self.metrics_port),
                    *self.options,
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.cwd,
                start_new_session=True,
                preexec_fn=kill_with_parent,
            )
        wait_for(
            functools.partial(self._alive, standby=standby),
            timeout=self.startup_timeout,
            interval=0.2,
            what="the operator's liveness probe" + (" as a standby" if standby is True else ""),
        )
        return self

    def _alive(self, *, standby: bool | None = False) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"the operator exited with {self.process.returncode}:\n{self.log()[-4000:]}")
        try:
            answer = httpx.get(f"http://127.0.0.1:{self.liveness_port}/healthz", timeout=2)
        except httpx.HTTPError:
            return False
        as_asked = standby is None or (answer.content == STANDBY_HEALTHZ) == standby
        return answer.status_code == 200 and as_asked

    def kill(self) -> None:
        """SIGKILL: no cleanup, no last status write, as a crash."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)
        self.process = None

    def stop(self) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(30)
        code, self.process = self.process.returncode, None
        return code

    def metrics(self) -> str:
        return httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).text

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def close(self) -> None:
        """Stop, fail if the whole log holds an unexpected traceback, and remove the log."""
        self.stop()
        try:
            assert_no_unexpected_tracebacks(self.log(), "operator log")
        finally:
            self.log_path.unlink(missing_ok=True)


def kube_requests(metrics: str, *, verb: str, resource: str) -> float:
    """The sum of ``replica_operator_kube_requests_total`` for one verb and resource (every result)."""
    total = 0.0
    for line in metrics.splitlines():
        if line.startswith("replica_operator_kube_requests_total{"):
            labels, value = line.rsplit(" ", 1)
            if f'verb="{verb}"' in labels and f'resource="{resource}"' in labels:
                total += float(value)
    return total
