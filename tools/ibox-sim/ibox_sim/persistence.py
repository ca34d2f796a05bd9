"""The optional state file: the whole world as JSON, so a restarted simulator keeps its objects.

Saving is debounced: changes mark the simulator dirty and a background task writes at
most every ``interval`` seconds (and once more on shutdown). Writes go to a temporary
file that replaces the old one, so a crash never leaves half a file. Login sessions are
not saved; clients log in again after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import threading
from pathlib import Path

from pydantic import BaseModel

from ibox_sim.clock import Clock
from ibox_sim.model import World
from ibox_sim.simulator import Simulator


class StateFile(BaseModel):
    format: int = 1
    #: Simulator-clock time of the save; a restart never lets the clock run backwards past it.
    saved_at: float
    world: World


def load(path: Path, clock: Clock) -> World | None:
    """The saved world, or None when there is no file yet; advances ``clock`` to the save time if behind."""
    if not path.exists():
        return None
    state = StateFile.model_validate_json(path.read_text(encoding="utf-8"))
    behind = state.saved_at - clock.now()
    if behind > 0:
        clock.advance(behind)
    return state.world


def save(sim: Simulator, path: Path) -> None:
    with sim.lock:
        text = StateFile(saved_at=sim.clock.now(), world=sim.world).model_dump_json()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class DebouncedSaver:
    """Writes the state file after changes, at most every ``interval`` seconds."""

    def __init__(self, sim: Simulator, path: Path, interval: float = 0.5) -> None:
        self.sim = sim
        self.path = path
        self.interval = interval
        self._dirty = False
        self._task: asyncio.Task[None] | None = None
        #: A save still running in a worker thread must finish before the next one starts.
        self._write = threading.Lock()
        sim.on_change(self.mark)

    def mark(self) -> None:
        """Called on every change (from any thread); a plain flag keeps it cheap and thread-safe."""
        self._dirty = True

    def flush(self) -> None:
        with self._write:
            self._dirty = False
            save(self.sim, self.path)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            if self._dirty:
                await asyncio.to_thread(self.flush)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="ibox-sim-saver")

    async def stop(self) -> None:
        """Stop the task and save a last time."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.flush()
