"""`make demo` (`replica-operator-demo --once`): a first minute, start to finish, nothing left behind.

The demo runs as users run it (a subprocess, stdout not a terminal, so the table is plain
text printed when it changes). Every process it starts inherits a marker in its environment;
the test watches for them while the demo runs and checks that none is left when it is over.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest
import yaml

from tests.conftest import ROOT

DEMO = Path(sys.executable).parent / "replica-operator-demo"
MARKER = "IRO_DEMO_TEST_MARKER"
# Generous: other suites share the 2 cores. The demo itself takes well under a minute.
DEMO_TIMEOUT_S = 300
KINDS = ("InfiniBox", "Replica", "ConsistencyGroupReplica")
SHORT_KIND = {"ConsistencyGroupReplica": "CGReplica"}
CHILDREN = {
    "etcd": lambda cmd: Path(cmd[0]).name.startswith("etcd"),
    "kube-apiserver": lambda cmd: Path(cmd[0]).name.startswith("kube-apiserver"),
    "ibox-sim": lambda cmd: "ibox_sim.cli" in cmd or Path(cmd[0]).name == "ibox-sim",
    "replica-operator run": lambda cmd: "run" in cmd and any("replica-operator" in part for part in cmd[:2]),
}


def _marked(marker: str) -> list[psutil.Process]:
    """Live processes (not zombies) that carry this run's marker in their environment."""
    found = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if process.status() != psutil.STATUS_ZOMBIE and process.environ().get(MARKER) == marker:
                found.append(process)
    return found


def _kind(process: psutil.Process) -> str | None:
    with contextlib.suppress(psutil.Error):
        cmdline = process.cmdline()
        return next((name for name, match in CHILDREN.items() if cmdline and match(cmdline)), None)
    return None


def _example_objects() -> list[tuple[str, str]]:
    """(kind, name) of every object examples/ declares that the table shows (day-2/ is not applied)."""
    objects = []
    for path in sorted((ROOT / "examples").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") in KINDS:
                objects.append((doc["kind"], doc["metadata"]["name"]))
    return objects


def _tables(output: str) -> list[dict[str, dict[str, str]]]:
    """Each plain-text table the demo printed: name -> {column: value}, columns cut at header offsets."""
    tables = []
    for block in re.findall(r"^KIND .*?(?=\n\n)", output, flags=re.MULTILINE | re.DOTALL):
        header, *lines = block.splitlines()
        starts = [m.start() for m in re.finditer(r"\S+(?: \(\S+\))?", header)]
        names = [header[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
        table = {}
        for line in lines:
            cells = [line[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
            row = dict(zip(names, cells, strict=True))
            table[f"{row['KIND']}/{row['NAME']}"] = row
        tables.append(table)
    return tables


@pytest.mark.timeout(DEMO_TIMEOUT_S + 120)
def test_demo_once_shows_the_deferred_type_change_and_leaves_nothing_behind(tmp_path: Path) -> None:
    marker = uuid.uuid4().hex
    env = {**os.environ, MARKER: marker}
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        env.pop(name, None)
    output_path = tmp_path / "demo.out"
    started = time.monotonic()
    with output_path.open("wb") as output:
        demo = subprocess.Popen(
            [str(DEMO), "--once", "--timeout", "180"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    seen: set[str] = set()
    try:
        while demo.poll() is None:
            seen.update(kind for kind in map(_kind, _marked(marker)) if kind)
            if time.monotonic() - started > DEMO_TIMEOUT_S:
                os.killpg(demo.pid, signal.SIGTERM)
                demo.wait(60)
                pytest.fail(f"the demo ran over {DEMO_TIMEOUT_S} s:\n{output_path.read_text()[-8000:]}")
            with contextlib.suppress(subprocess.TimeoutExpired):
                demo.wait(0.5)
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait(30)
    elapsed = time.monotonic() - started
    out = output_path.read_text()
    print(f"demo --once took {elapsed:.0f} s")
    assert demo.returncode == 0, out[-12000:]

    # It ran everything it says it runs, and stopped all of it before exiting.
    assert seen == set(CHILDREN), f"saw only {seen} while the demo ran"
    leftovers = [(p.pid, p.cmdline()) for p in _marked(marker)]
    assert not leftovers, f"still running after the demo exited: {leftovers}"
    workdir = re.search(r"working directory (\S+)", out)
    assert workdir is not None, out[:2000]
    assert Path(workdir.group(1)).name.startswith("iro-demo-")
    assert not Path(workdir.group(1)).exists(), "the demo's working directory is left behind"
    assert "stopped every process the demo started" in out

    # The type change asked for during INITIALIZING: deferred (PENDING SYNC, TypeChangeDeferred),
    # then applied by the operator once the initial sync was over.
    tables = _tables(out)
    db = [table["Replica/db-vol-1"] for table in tables if "Replica/db-vol-1" in table]
    deferred = next(
        (
            i
            for i, row in enumerate(db)
            if row["PENDING"] == "SYNC" and "TypeChangeDeferred" in row["SYNCED (reason)"]
        ),
        None,
    )
    assert deferred is not None, f"no table showed db-vol-1 deferred:\n{out[-12000:]}"
    assert db[deferred]["TYPE"] == "ASYNC"
    assert db[deferred]["SYNC"] == "INITIALIZING"
    assert any(row["TYPE"] == "SYNC" and not row["PENDING"] for row in db[deferred + 1 :])
    narration = [line for line in out.splitlines() if line.startswith("==>")]
    order = [
        next(i for i, line in enumerate(narration) if pattern in line)
        for pattern in (
            "INITIALIZING: asking for replicationType SYNC",
            "TypeChangeDeferred",
            "now replicates SYNC",
        )
    ]
    assert order == sorted(order), narration

    # Every example object reached Ready (an InfiniBox: Connected) and SYNCHRONIZED in the last table.
    last = tables[-1]
    for kind, name in _example_objects():
        row = last.get(f"{SHORT_KIND.get(kind, kind)}/{name}")
        assert row is not None, f"{kind} {name} missing from the last table:\n{out[-6000:]}"
        assert row["READY"] == "True", row
        if kind != "InfiniBox":
            assert row["SYNC"] == "SYNCHRONIZED", row
    assert last["Replica/db-vol-1"]["TYPE"] == "SYNC"
    assert "every object is Ready and SYNCHRONIZED" in out

    # And how to do the same by hand.
    for command in (
        "make cluster",
        "ibox-sim --initial-sync-seconds",
        "kubectl apply -f crds/",
        "kubectl apply -f examples/",
        "replica-operator run",
        "kubectl get replicas,cgrep -A -o wide",
        "kubectl patch replica db-vol-1 --type merge",
        "kubectl describe replica db-vol-1",
        "make cluster-down",
    ):
        assert command in out.split("How to do the same by hand")[-1], command
