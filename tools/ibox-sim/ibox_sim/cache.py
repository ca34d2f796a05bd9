"""Rendered objects, kept as dict and JSON text until something changes.

Reads vastly outnumber changes (an operator polls 1,000s of replicas), so each object
is rendered and JSON-encoded once and reused until the model changes (any change clears
the cache) or, for replicas, until its time-driven view (:class:`~ibox_sim.state.SessionView`)
changes. A view says how long it stays the same, so most reads skip even evaluating it.
Cached dicts are shared: never mutate them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

#: What a time-driven object looks like now, and until when (exclusive) it stays so.
Timed = tuple[Hashable | None, float]
STATIC: Timed = (None, math.inf)


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


@dataclass(slots=True)
class Rendered:
    data: dict[str, Any]
    #: ``data`` as JSON (UTF-8), ready to be joined into a response.
    text: bytes
    view: Hashable | None
    valid_until: float


class RenderCache:
    def __init__(self) -> None:
        self._entries: dict[Hashable, Rendered] = {}
        self.hits = 0
        self.misses = 0

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def fresh(self, key: Hashable, now: float) -> Rendered | None:
        """The cached entry if it certainly still holds at ``now`` (the fast path of :meth:`get`)."""
        entry = self._entries.get(key)
        if entry is not None and now < entry.valid_until:
            self.hits += 1
            return entry
        return None

    def get(
        self,
        key: Hashable,
        now: float,
        view: Callable[[], Timed],
        build: Callable[[Hashable | None], dict[str, Any]],
    ) -> Rendered:
        """The object under ``key`` as it looks at ``now``; ``build`` renders it only when needed."""
        entry = self._entries.get(key)
        if entry is not None and now < entry.valid_until:
            self.hits += 1
            return entry
        current, valid_until = view()
        if entry is not None and entry.view == current:
            self.hits += 1
            entry.valid_until = valid_until
            return entry
        self.misses += 1
        data = build(current)
        entry = Rendered(data, dumps(data).encode(), current, valid_until)
        self._entries[key] = entry
        return entry
