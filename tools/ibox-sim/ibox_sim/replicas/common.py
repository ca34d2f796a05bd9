"""What every replica operation shares: look-ups, whether replication runs, and the common guards.

A replica exists twice: the SOURCE on the system it was created on and the TARGET on
the link's remote system, each with its own id (``remote_replica_id`` points across)
and its own view of the entity pairs. Both share one :class:`ReplicationSession`, whose
progress :mod:`ibox_sim.state` derives from the clock.
"""

from __future__ import annotations

from typing import Any

from ibox_sim import state, transitions
from ibox_sim.context import Ctx
from ibox_sim.errors import invalid_state, not_found
from ibox_sim.model import Link, Replica, System, World
from ibox_sim.replicas.render import render_replica
from ibox_sim.state import ReplicationSession
from ibox_sim.suspension import note_stop_reason

# ------------------------------------------------------------------------------------------ lookups


def get_replica(system: System, replica_id: int) -> Replica:
    replica = system.replicas.get(replica_id)
    if replica is None:
        raise not_found("replica", replica_id)
    return replica


def session_of(world: World, replica: Replica) -> ReplicationSession:
    return world.sessions[replica.session_id]


def peer_of(world: World, replica: Replica) -> tuple[System | None, Replica | None]:
    peer_system = world.systems.get(replica.peer_system)
    if peer_system is None:
        return None, None
    return peer_system, peer_system.replicas.get(replica.remote_replica_id)


def link_is_up(world: World, system: System, link: Link | None) -> bool:
    """Connected: switched up, attached to a local network space, and something answers at the far end."""
    if link is None or not link.up or link.local_replication_network_space_id is None:
        return False
    remote = world.systems.get(link.remote_system) if link.remote_system else None
    if remote is None:
        return False
    mirror = remote.links.get(link.remote_link_id) if link.remote_link_id is not None else None
    return mirror is not None and mirror.up and mirror.local_replication_network_space_id is not None


def render(ctx: Ctx, replica: Replica) -> dict[str, Any]:
    return render_replica(ctx.world, ctx.system, replica, ctx.now)


def view_of(ctx: Ctx, replica: Replica) -> state.SessionView:
    return state.evaluate(session_of(ctx.world, replica), ctx.now, ctx.cfg)


# --------------------------------------------------------------------------------- running or not


def refresh_session(world: World, session: ReplicationSession, now: float) -> None:
    """Recompute whether replication runs.

    It runs when both sides exist, one is SOURCE and the other TARGET, the link is up and
    neither the user nor the array (a link down for longer than ``auto_suspend_after_seconds``)
    has suspended it.
    """
    sides: list[tuple[System, Replica]] = []
    for ref in session.sides:
        system = world.systems.get(ref.system)
        replica = system.replicas.get(ref.replica_id) if system else None
        if system is not None and replica is not None:
            sides.append((system, replica))
    reason: str | None = None
    if len(sides) < 2:
        reason = "REMOTE_REPLICA_MISSING"
    elif not all(link_is_up(world, system, system.links.get(replica.link_id)) for system, replica in sides):
        reason = "LINK_DOWN"
    elif {replica.role for _, replica in sides} != {"SOURCE", "TARGET"}:
        reason = "ROLE_CONFLICT"
    note_stop_reason(session, now, world.config, reason)
    running = reason is None and not (session.user_suspended or session.auto_suspended)
    running = running and session.pending_since is None
    transitions.set_running(session, now, world.config, running)


def refresh_link(ctx: Ctx, link: Link) -> None:
    """After a link changed: re-evaluate every replica carried by it (on both systems)."""
    touched: set[int] = set()
    for replica in ctx.system.replicas.values():
        if replica.link_id == link.id:
            touched.add(replica.session_id)
    remote = ctx.world.systems.get(link.remote_system) if link.remote_system else None
    if remote is not None:
        for replica in remote.replicas.values():
            if replica.link_id == link.remote_link_id:
                touched.add(replica.session_id)
    for session_id in sorted(touched):
        session = ctx.world.sessions.get(session_id)
        if session is not None:
            refresh_session(ctx.world, session, ctx.now)


def set_link_state(ctx: Ctx, link: Link, up: bool) -> None:
    """Switch a link (and its mirror) up or down; replicas on it stop, and resume unless AUTO_SUSPENDED."""
    link.up = up
    remote = ctx.world.systems.get(link.remote_system) if link.remote_system else None
    mirror = remote.links.get(link.remote_link_id) if remote and link.remote_link_id is not None else None
    if mirror is not None:
        mirror.up = up
    if up:
        link.last_connection_timestamp = ctx.now
        if mirror is not None:
            mirror.last_connection_timestamp = ctx.now
    refresh_link(ctx, link)


# ------------------------------------------------------------------------------------------ guards


def require_source(replica: Replica, action: str) -> None:
    if replica.role != "SOURCE":
        raise invalid_state("OPERATION_NOT_ALLOWED_ON_TARGET", f"{action} is not allowed on a TARGET replica")


def require_initialized(view: state.SessionView, action: str) -> None:
    if not view.initialized:
        raise invalid_state("REPLICA_IS_INITIALIZING", f"cannot {action} while the replica is INITIALIZING")


def require_connected(ctx: Ctx, replica: Replica, action: str) -> None:
    if not link_is_up(ctx.world, ctx.system, ctx.system.links.get(replica.link_id)):
        raise invalid_state("LINK_DISCONNECTED", f"cannot {action}: the replication link is down")


def touch(ctx: Ctx, replica: Replica) -> None:
    """Mark both sides as updated now."""
    replica.updated_at = ctx.now
    _, peer = peer_of(ctx.world, replica)
    if peer is not None:
        peer.updated_at = ctx.now
