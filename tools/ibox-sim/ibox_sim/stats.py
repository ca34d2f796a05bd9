"""Request statistics and the request log of the API (``/_sim/stats``, ``/_sim/requests``).

The in-flight high-water mark lets tests assert that a client never has more than N
requests outstanding against an array.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Counters:
    requests_total: int = 0
    in_flight: int = 0
    in_flight_high_water: int = 0

    def begin(self) -> None:
        self.requests_total += 1
        self.in_flight += 1
        if self.in_flight > self.in_flight_high_water:
            self.in_flight_high_water = self.in_flight

    def end(self) -> None:
        self.in_flight -= 1

    def reset(self) -> None:
        """Zero the totals; the high-water mark restarts from what is in flight right now."""
        self.requests_total = 0
        self.in_flight_high_water = self.in_flight


class RequestStats:
    """Totals and concurrency, overall and per system."""

    def __init__(self) -> None:
        self.total = Counters()
        self.by_system: dict[str, Counters] = {}

    def begin(self, system: str) -> None:
        self.total.begin()
        self.by_system.setdefault(system, Counters()).begin()

    def end(self, system: str) -> None:
        self.total.end()
        self.by_system[system].end()

    def reset(self) -> None:
        self.total.reset()
        for counters in self.by_system.values():
            counters.reset()

    def snapshot(self, systems: list[str]) -> dict[str, Any]:
        by_system = {name: asdict(self.by_system.get(name, Counters())) for name in systems}
        return {**asdict(self.total), "by_system": by_system}


class RequestLog:
    """The last ``maxlen`` API requests, numbered so clients can ask for what came after ``since``."""

    def __init__(self, maxlen: int = 10_000) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=maxlen)
        self._seq = itertools.count(1)

    def add(
        self,
        *,
        system: str,
        method: str,
        path: str,
        query: str,
        status: int,
        started: float,
        duration_ms: float,
        error_code: str | None = None,
        entities: list[int] | None = None,
        client: str = "",
        array_status: int = 0,
    ) -> int:
        """Record one request. ``client`` is its User-Agent (which process sent it);
        ``array_status`` is the status of the array's own answer, 0 when the request never reached
        it: ``status`` alone does not tell whether the array acted (a fault with ``phase: after``
        acts first, then loses the answer or replaces it with a 5xx)."""
        seq = next(self._seq)
        self._entries.append(
            {
                "seq": seq,
                "system": system,
                "method": method,
                "path": path,
                "query": query,
                "status": status,
                "started": started,
                "duration_ms": round(duration_ms, 3),
                "error_code": error_code,
                "entities": entities or [],
                "client": client,
                "array_status": array_status,
            }
        )
        return seq

    def since(self, seq: int = 0) -> list[dict[str, Any]]:
        return [dict(entry) for entry in self._entries if entry["seq"] > seq]

    def replica_creates(self) -> list[dict[str, Any]]:
        """``POST /replicas`` per (system, entity) in the log: how many, and how each was answered."""
        groups: dict[tuple[str, int], dict[str, Any]] = {}
        for entry in self._entries:
            if entry["method"] != "POST" or entry["path"].rstrip("/") != "/api/rest/replicas":
                continue
            for entity in entry["entities"]:
                group = groups.setdefault(
                    (entry["system"], entity),
                    {"system": entry["system"], "entity_id": entity, "posts": 0, "statuses": {}, "codes": {}},
                )
                group["posts"] += 1
                status = str(entry["status"])
                group["statuses"][status] = group["statuses"].get(status, 0) + 1
                if entry["error_code"]:
                    group["codes"][entry["error_code"]] = group["codes"].get(entry["error_code"], 0) + 1
        return [groups[key] for key in sorted(groups)]

    def clear(self) -> int:
        count = len(self._entries)
        self._entries.clear()
        return count
