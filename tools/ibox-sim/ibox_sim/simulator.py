"""The simulator as one object: the world plus clock, auth, faults, statistics and the request log.

It is what the app factory receives (no global state), and what tests use for unit-level
control. All model access happens under :attr:`Simulator.lock`: requests take it on the
event loop, and tests running the server in a thread take it too.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any

from ibox_sim import replicas, transitions
from ibox_sim.auth import Authenticator
from ibox_sim.cache import RenderCache
from ibox_sim.clock import Clock, SystemClock
from ibox_sim.config import DEFAULT_PASSWORD, DEFAULT_USERNAME, SimConfig
from ibox_sim.context import Ctx
from ibox_sim.errors import ApiError, not_found
from ibox_sim.faults import FaultInjector
from ibox_sim.fields import field_names
from ibox_sim.model import Replica, System, World
from ibox_sim.stats import RequestLog, RequestStats
from ibox_sim.topology import build_world


class Simulator:
    """Everything one ``ibox-sim`` process simulates, for all of its systems."""

    def __init__(
        self,
        systems: int = 2,
        *,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        config: SimConfig | None = None,
        clock: Clock | None = None,
        seed: int | None = None,
        world: World | None = None,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.initial_config = (config or SimConfig()).model_copy()
        self.world = (
            world if world is not None else build_world(systems, self.clock.now(), self.initial_config)
        )
        self.system_count = len(self.world.systems)
        self.lock = threading.RLock()
        self.auth = Authenticator(
            username, password, self.clock, lambda: self.world.config.session_ttl_seconds
        )
        self.faults = FaultInjector(random.Random(seed))
        self.stats = RequestStats()
        self.log = RequestLog()
        self.cache = RenderCache()
        self._listeners: list[Callable[[], None]] = []

    # -- access

    @property
    def system_names(self) -> list[str]:
        return list(self.world.systems)

    def system(self, name: str) -> System:
        system = self.world.systems.get(name)
        if system is None:
            raise not_found("system", name)
        return system

    def ctx(self, system: str) -> Ctx:
        """An operation context on ``system`` at the clock's current time (waiting inits promoted first)."""
        ctx = Ctx(self.world, self.system(system), self.clock.now())
        if self.world.pending and replicas.promote(self.world, ctx.now):
            self.changed()
        return ctx

    def replica(self, system: str, replica_id: int) -> Replica:
        return replicas.get_replica(self.system(system), replica_id)

    # -- change notification (persistence listens)

    def on_change(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def changed(self) -> None:
        """Call after every change of the model: drops rendered objects and tells the state file."""
        if self.world.pending:  # a freed initialization slot goes to the next waiting replica now
            replicas.promote(self.world, self.clock.now())
        self.cache.clear()
        for listener in self._listeners:
            listener()

    # -- controls (the /_sim/ API calls these)

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ApiError(400, "INVALID_VALUE", "the clock only moves forward")
        self.clock.advance(seconds)
        return self.clock.now()

    def update_config(self, changes: dict[str, Any]) -> SimConfig:
        """Change timing; what already happened is folded in first so only the future changes."""
        merged = SimConfig.model_validate({**self.world.config.model_dump(), **changes})
        now = self.clock.now()
        for session in self.world.sessions.values():
            transitions.materialize(session, now, self.world.config)
        self.world.config = merged
        self.changed()
        return merged

    def set_link_state(self, system: str, link_ref: str, up: bool) -> dict[str, Any]:
        ctx = self.ctx(system)
        link = next(
            (lk for lk in ctx.system.links.values() if lk.name == link_ref or str(lk.id) == link_ref), None
        )
        if link is None:
            raise not_found("link", link_ref)
        replicas.set_link_state(ctx, link, up)
        self.changed()
        return {"system": system, "link": link.name, "id": link.id, "state": "UP" if up else "DOWN"}

    def complete_initialization(self, system: str, replica_id: int) -> None:
        ctx = self.ctx(system)
        replicas.complete_initialization(ctx, replicas.get_replica(ctx.system, replica_id))
        self.changed()

    def set_jobs_paused(self, system: str, replica_id: int, paused: bool) -> None:
        ctx = self.ctx(system)
        replicas.set_jobs_paused(ctx, replicas.get_replica(ctx.system, replica_id), paused)
        self.changed()

    def override_fields(self, system: str, replica_id: int, fields: dict[str, Any] | None) -> dict[str, Any]:
        """Show odd values in one replica's fields (tolerant-parsing tests); None clears them."""
        replica = replicas.get_replica(self.system(system), replica_id)
        if fields is None:
            replica.overrides = {}
        else:
            unknown = sorted(set(fields) - field_names("replicas"))
            if unknown:
                raise ApiError(400, "UNKNOWN_PARAMETER", f"replicas have no fields {unknown}")
            replica.overrides = {**replica.overrides, **fields}
        self.changed()
        return {"system": system, "id": replica_id, "fields": dict(replica.overrides)}

    def reset(self) -> None:
        """Back to the freshly started state (the clock keeps its time; it never goes back)."""
        self.world = build_world(self.system_count, self.clock.now(), self.initial_config)
        self.faults.clear()
        self.stats.reset()
        self.log.clear()
        self.auth.expire_all()
        self.changed()
