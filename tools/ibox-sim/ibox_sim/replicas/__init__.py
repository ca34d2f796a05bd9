"""Replicas, split by concern; this face is what the rest of the simulator imports.

``common`` (look-ups, running or not, guards), ``create`` and ``pairs`` (``POST /replicas``),
``queue`` (concurrent-initialization limit), ``actions`` (suspend, resume, type and role
changes, ``PUT``), ``delete``, ``members`` (CG member changes) and ``render`` (the API's view).
"""

from ibox_sim.replicas.actions import (
    change_role,
    change_type,
    complete_initialization,
    resume,
    set_jobs_paused,
    suspend,
    switch_role,
    sync,
    update,
)
from ibox_sim.replicas.common import (
    get_replica,
    link_is_up,
    peer_of,
    refresh_link,
    refresh_session,
    render,
    session_of,
    set_link_state,
)
from ibox_sim.replicas.create import create
from ibox_sim.replicas.delete import DELETE_FLAGS, delete, expose_last_consistent_snapshot
from ibox_sim.replicas.members import add_cg_member, remove_cg_member
from ibox_sim.replicas.queue import promote
from ibox_sim.replicas.render import render_replica

__all__ = [
    "DELETE_FLAGS",
    "add_cg_member",
    "change_role",
    "change_type",
    "complete_initialization",
    "create",
    "delete",
    "expose_last_consistent_snapshot",
    "get_replica",
    "link_is_up",
    "peer_of",
    "promote",
    "refresh_link",
    "refresh_session",
    "remove_cg_member",
    "render",
    "render_replica",
    "resume",
    "session_of",
    "set_jobs_paused",
    "set_link_state",
    "suspend",
    "switch_role",
    "sync",
    "update",
]
