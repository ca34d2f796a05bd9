"""Issue 14 item 11: /healthz over HTTP fails while a poller makes no progress, and recovers.

Every wait of the operator is bounded, so no outside fault stalls a poller for long (see
test_bounded_waits). To see liveness fail end to end, the test's own operator gets an
unbounded wait back from outside (hang/sitecustomize.py: the replica listing waits while a
file exists). /healthz must answer 500 within the documented bound (3 poll intervals +
2 x (45 s + requestTimeout) + --kube-request-timeout, plus kopf's 10 s probe cache), and 200
again once the poller finishes passes.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from replica_operator.api import GROUP, VERSION
from tests.integration.operator.conftest import Env, condition_of
from tests.support.operator import OperatorProcess
from tests.support.wait import wait_for

HANG = Path(__file__).parent / "hang"
KUBE_TIMEOUT_SECONDS = 1
POLL_SECONDS = 1
REQUEST_TIMEOUT_SECONDS = 1
STALL_LIMIT = 3 * POLL_SECONDS + 2 * (45 + REQUEST_TIMEOUT_SECONDS) + KUBE_TIMEOUT_SECONDS
PROBE_CACHE = 10  # kopf runs the probe handlers at most every 10 s and answers from the cache


def _health(operator: OperatorProcess) -> int:
    return httpx.get(f"http://127.0.0.1:{operator.liveness_port}/healthz", timeout=5).status_code


@pytest.fixture
def hanging(operator: OperatorProcess) -> Iterator[tuple[Path, OperatorProcess]]:
    """The shared operator stopped; one whose replica listings hang while a file exists."""
    operator.stop()
    with tempfile.TemporaryDirectory() as folder:
        flag = Path(folder) / "hang"
        path = os.pathsep.join(p for p in (str(HANG), os.environ.get("PYTHONPATH", "")) if p)
        own = OperatorProcess(
            operator.kubeconfig,
            env={"PYTHONPATH": path, "IRO_TEST_HANG_FILE": str(flag)},
            options=("--kube-request-timeout", f"{KUBE_TIMEOUT_SECONDS}s", "--no-leader-elect"),
        )
        try:
            own.start()
            yield flag, own
        finally:
            flag.unlink(missing_ok=True)
            with contextlib.suppress(Exception):
                print(f"\n--- hanging operator log ---\n{own.log()[-4000:]}")
            own.stop()
            operator.start()


def test_healthz_fails_while_a_poller_is_stuck_and_recovers(
    env: Env, hanging: tuple[Path, OperatorProcess]
) -> None:
    flag, own = hanging
    env.objects.wait_status(
        "infiniboxes", env.source, lambda s: condition_of(s, "Connected").get("status") == "True"
    )
    for name in (env.source, env.target):  # the bound depends on it: 1 s, not the default 30 s
        env.objects.api.patch_cluster_custom_object(
            GROUP, VERSION, "infiniboxes", name, {"spec": {"requestTimeout": f"{REQUEST_TIMEOUT_SECONDS}s"}}
        )
    assert _health(own) == 200
    flag.touch()
    stuck = time.monotonic()
    wait_for(
        lambda: _health(own) == 500,
        timeout=STALL_LIMIT + 2 * POLL_SECONDS + PROBE_CACHE + 15,
        interval=1.0,
        what="/healthz failing",
    )
    failed_after = time.monotonic() - stuck
    assert "pollers without a finished pass" in own.log()  # our probe said why
    assert failed_after >= STALL_LIMIT - PROBE_CACHE, (
        f"failed after {failed_after:.0f}s, limit {STALL_LIMIT}s"
    )
    flag.unlink()
    wait_for(lambda: _health(own) == 200, timeout=PROBE_CACHE + 15, interval=0.5, what="/healthz 200 again")
