"""The per-array limit of concurrent initializations (``max_concurrent_inits``).

Infinidat documents that an array runs a limited number of initial syncs at once
(6-15, [DOC 6211346151837]); the others wait, which infinisdk reads as a ``PENDING`` job
(``Replica.is_pending``). A new replica beyond the limit waits in ``World.pending``.
Slots free up with time (an initialization finishing is time-driven), so
:func:`promote` replays, in time order, when each slot freed and starts the oldest
waiting replica at that instant: reads at any later time see the same history.
The limit counts the initializations of the replicas whose SOURCE is on the array
(an assumption: the array's own accounting is not documented).
"""

from __future__ import annotations

import heapq
import math

from ibox_sim.config import SimConfig
from ibox_sim.context import Ctx
from ibox_sim.model import World
from ibox_sim.replicas.common import refresh_session
from ibox_sim.state import ReplicationSession


def init_slot_free_at(s: ReplicationSession, since: float, cfg: SimConfig) -> float | None:
    """When this session's initialization freed (or frees) its slot, if it held one after ``since``.

    None: it held no slot after ``since`` (waiting, or done before); inf: stalled, it holds on.
    """
    if s.pending_since is not None:
        return None
    if s.initialized_at is not None:
        return s.initialized_at if s.initialized_at > since else None
    if s.running_since is None:
        return math.inf
    done = s.running_since + max(0.0, cfg.initial_sync_seconds - s.init_active)
    return done if done > since else None


def _source_system(session: ReplicationSession) -> str:
    return session.sides[0].system if session.sides else ""


def _slots(world: World, system: str, since: float) -> list[float]:
    """When each slot held on ``system`` after ``since`` frees (inf: held by a stalled initialization)."""
    held: list[float] = []
    for session in world.sessions.values():
        if _source_system(session) != system:
            continue
        free_at = init_slot_free_at(session, since, world.config)
        if free_at is not None:
            held.append(free_at)
    return held


def admit(ctx: Ctx, session: ReplicationSession) -> None:
    """Start a new replica's initialization now, or queue it (job PENDING) when the array is full."""
    world, limit, system = ctx.world, ctx.cfg.max_concurrent_inits, ctx.system.name
    queued = any(_source_system(world.sessions[i]) == system for i in world.pending if i in world.sessions)
    if limit is not None and (queued or len(_slots(world, system, ctx.now)) >= limit):
        session.pending_since = ctx.now
        world.pending.append(session.id)
    refresh_session(world, session, ctx.now)


def promote(world: World, now: float) -> bool:
    """Start the waiting replicas whose slot has freed by ``now``; True when any started."""
    waiting = [world.sessions[i] for i in world.pending if i in world.sessions]
    started = {s.id for s in waiting if _promote_system(world, s, waiting, now)}
    world.pending = [i for i in world.pending if i in world.sessions and i not in started]
    return bool(started)


def _promote_system(
    world: World, first: ReplicationSession, waiting: list[ReplicationSession], now: float
) -> bool:
    """Promote the queue of ``first``'s array once (on its first member); True if ``first`` started."""
    system = _source_system(first)
    queue = [s for s in waiting if _source_system(s) == system]
    if queue[0] is not first:
        return first.pending_since is None
    limit = world.config.max_concurrent_inits
    since = min(s.pending_since if s.pending_since is not None else now for s in queue)
    slots = _slots(world, system, since)
    heapq.heapify(slots)
    free = len(queue) if limit is None else limit - len(slots)
    for session in queue:
        while free < 0 and slots and slots[0] <= now:
            heapq.heappop(slots)
            free += 1
        if free > 0:
            free, at = free - 1, now
        elif slots and slots[0] <= now:
            at = max(heapq.heappop(slots), session.pending_since or now)
        else:
            break
        session.pending_since = None
        refresh_session(world, session, at)
        freed = init_slot_free_at(session, at, world.config)
        heapq.heappush(slots, at if freed is None else freed)
    return first.pending_since is None
