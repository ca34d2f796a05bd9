"""The table: live with ``rich`` on a terminal; elsewhere (CI, pipes) plain text, only when it changed."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .parts import PLURALS, Manifest, key

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.live import Live

COLUMNS = ("KIND", "NAME", "TYPE", "STATE", "SYNC", "PROGRESS", "PENDING", "READY", "SYNCED (reason)")
SHORT_KIND = {"ConsistencyGroupReplica": "CGReplica"}
KIND_ORDER = list(PLURALS)


def condition(status: Manifest, kind: str) -> Manifest:
    return next((c for c in status.get("conditions") or [] if c.get("type") == kind), {})


def _with_reason(cond: Manifest) -> str:
    status = str(cond.get("status", ""))
    return f"{status} ({cond['reason']})" if cond.get("reason") else status


@dataclass(frozen=True)
class Row:
    """One object as the table shows it; an InfiniBox shows its Connected condition as READY/SYNCED."""

    kind: str
    namespace: str
    name: str
    type: str = ""
    state: str = ""
    sync: str = ""
    progress: str = ""
    pending: str = ""
    ready: str = ""
    synced: str = ""

    @classmethod
    def of(cls, body: Manifest) -> Row:
        kind, namespace, name = key(body)
        status = body.get("status") or {}
        if kind == "InfiniBox":
            connected = condition(status, "Connected")
            return cls(
                kind, namespace, name, ready=str(connected.get("status", "")), synced=_with_reason(connected)
            )
        progress = status.get("progress")
        return cls(
            kind,
            namespace,
            name,
            type=str(status.get("replicationType") or ""),
            state=str(status.get("state") or ""),
            sync=str(status.get("syncState") or ""),
            progress="" if progress is None else f"{progress}%",
            pending=str(status.get("pendingReplicationType") or ""),
            ready=str(condition(status, "Ready").get("status", "")),
            synced=_with_reason(condition(status, "Synced")),
        )

    @property
    def done(self) -> bool:
        """Ready=True and SYNCHRONIZED (an InfiniBox: Connected=True)."""
        return self.ready == "True" and (self.kind == "InfiniBox" or self.sync == "SYNCHRONIZED")

    @property
    def cells(self) -> tuple[str, ...]:
        name = self.name if self.namespace in ("", "default") else f"{self.namespace}/{self.name}"
        kind = SHORT_KIND.get(self.kind, self.kind)
        return (
            kind,
            name,
            self.type,
            self.state,
            self.sync,
            self.progress,
            self.pending,
            self.ready,
            self.synced,
        )


def rows_of(objects: dict[tuple[str, str, str], Manifest]) -> list[Row]:
    rows = [Row.of(body) for body in objects.values()]
    return sorted(rows, key=lambda r: (KIND_ORDER.index(r.kind), r.namespace, r.name))


def plain_table(rows: list[Row]) -> str:
    lines = [COLUMNS, *(row.cells for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


class Screen:
    """Narration lines and the table, on a terminal or in a log."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.tty = sys.stdout.isatty()
        self.started = time.monotonic()
        self.footer = ""
        self._live: Live | None = None
        self._last: list[Row] | None = None

    def elapsed(self) -> str:
        return f"+{time.monotonic() - self.started:.0f}s"

    def say(self, message: str) -> None:
        if self.tty:
            from rich.markup import escape

            self.console.print(
                f"[bold cyan]==>[/] [dim]{self.elapsed():>5}[/] {escape(message)}", highlight=False
            )
        else:
            print(f"==> {self.elapsed():>5} {message}", flush=True)

    @contextlib.contextmanager
    def live(self) -> Iterator[None]:
        """Redraw in place while inside (on a terminal); the last table stays on screen afterwards."""
        if not self.tty:
            yield
            return
        from rich.live import Live

        with Live(console=self.console, auto_refresh=False, transient=False) as self._live:
            try:
                yield
            finally:
                self._live = None

    def show(self, rows: list[Row], *, force: bool = False) -> None:
        if self._live is not None:
            self._live.update(self._rich(rows), refresh=True)
        elif not self.tty and (force or rows != self._last):
            print(f"\n[{self.elapsed()}]\n{plain_table(rows)}\n", flush=True)
        self._last = rows

    def _rich(self, rows: list[Row]) -> RenderableType:
        from rich import box
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left")
        table.title = f"replica-operator-demo  {self.elapsed()}"
        for column in COLUMNS:
            table.add_column(column, no_wrap=column in ("KIND", "NAME"))
        for row in rows:
            cells = [Text(cell) for cell in row.cells]
            cells[7].stylize("green" if row.ready == "True" else "yellow")
            cells[8].stylize("green" if row.synced.startswith("True") else "yellow")
            cells[6].stylize("bold magenta")
            cells[4].stylize("green" if row.sync == "SYNCHRONIZED" else "yellow")
            table.add_row(*cells)
        return Group(table, Text(self.footer, style="dim"))
