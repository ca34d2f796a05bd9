"""``replica-operator`` under ``tracemalloc``: where the operator's memory is held.

``python -m bench._memory_probe run ...`` is ``replica-operator run ...``; SIGUSR2 starts
tracemalloc (``BENCH_TRACEMALLOC_FRAMES`` frames per allocation, default 4), SIGUSR1 writes the
top allocation sites still held (by the first operator/library frame, and by line) to the
file named by ``BENCH_TRACEMALLOC_OUT``. Only what is allocated after SIGUSR2 is seen (start
it after start-up: imports under tracemalloc take minutes). Tracing slows the operator
several times; for investigation only, never for the figures.
"""

from __future__ import annotations

import os
import signal
import sys
import tracemalloc
from collections import Counter
from types import FrameType

TOP = 40
OWN = ("replica_operator", "kopf", "kubernetes", "pydantic", "httpx", "httpcore", "aiohttp")


def _owner(trace: tracemalloc.Traceback) -> str:
    """The innermost frame in code of interest (not the stdlib), as file:line."""
    for frame in trace:  # most recent first
        if any(f"/{name}/" in frame.filename for name in OWN):
            return f"{frame.filename.split('site-packages/')[-1].split('/operator/')[-1]}:{frame.lineno}"
    frame = trace[0]
    return f"{frame.filename}:{frame.lineno}"


def dump(_signum: int = 0, _frame: FrameType | None = None) -> None:
    snapshot = tracemalloc.take_snapshot()
    total = sum(stat.size for stat in snapshot.statistics("filename"))
    by_owner: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    for stat in snapshot.statistics("traceback"):
        key = _owner(stat.traceback)
        by_owner[key] += stat.size
        counts[key] += stat.count
    lines = [f"traced total: {total / 2**20:.1f} MiB", "", "by first operator/library frame:"]
    lines += [
        f"{size / 2**20:8.2f} MiB {counts[key]:9d} blocks  {key}" for key, size in by_owner.most_common(TOP)
    ]
    lines += ["", "by line (innermost frame):"]
    lines += [str(stat) for stat in snapshot.statistics("lineno")[:TOP]]
    with open(os.environ.get("BENCH_TRACEMALLOC_OUT", "tracemalloc.txt"), "w") as out:
        out.write("\n".join(lines) + "\n")


def start(_signum: int = 0, _frame: FrameType | None = None) -> None:
    if not tracemalloc.is_tracing():
        tracemalloc.start(int(os.environ.get("BENCH_TRACEMALLOC_FRAMES", "4")))


def main() -> int:
    signal.signal(signal.SIGUSR2, start)
    signal.signal(signal.SIGUSR1, dump)
    from replica_operator.cli import main as operator_main

    sys.argv = ["replica-operator", *sys.argv[1:]]
    operator_main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
