"""What a link outage does to a replica, and the state (ACTIVE, SUSPENDED, AUTO_SUSPENDED) it shows.

Infinidat documents that a network failure of more than 24 h suspends replication and only a
manual resume leaves that state [DOC 115000246965]; shorter outages resume by themselves.
The time is ``auto_suspend_after_seconds``; a replica on a down link shows ACTIVE with
``state_reason`` LINK_DOWN (and a STALLED job) until then.
"""

from __future__ import annotations

from ibox_sim.config import SimConfig
from ibox_sim.state import ReplicationSession


def auto_suspend_pending(s: ReplicationSession, now: float, cfg: SimConfig) -> bool:
    """Whether the link has been down long enough that the array suspends the replica by itself."""
    return s.link_down_since is not None and now >= s.link_down_since + cfg.auto_suspend_after_seconds


def note_stop_reason(s: ReplicationSession, now: float, cfg: SimConfig, reason: str | None) -> None:
    """Record why replication stops; a link back up after the auto-suspend time latches AUTO_SUSPENDED."""
    if reason == "LINK_DOWN":
        if s.link_down_since is None:
            s.link_down_since = now
    elif s.link_down_since is not None:
        if auto_suspend_pending(s, now, cfg) and not s.user_suspended:
            s.auto_suspended = True
        s.link_down_since = None
    s.stop_reason = reason


def replica_state(
    role: str, s: ReplicationSession, now: float, cfg: SimConfig
) -> tuple[str | None, str | None, str | None]:
    """``(state, state_reason, state_description)`` of one side; a TARGET has no state."""
    if role == "TARGET":
        return None, None, None
    if s.user_suspended:
        return "SUSPENDED", "USER_SUSPENDED", "Replica was suspended by the user"
    if s.auto_suspended:
        return "AUTO_SUSPENDED", "LINK_DOWN", _STOP_DESCRIPTIONS["LINK_DOWN"]
    reason = s.stop_reason
    if reason is None:
        return "ACTIVE", None, None
    if reason == "LINK_DOWN" and not auto_suspend_pending(s, now, cfg):
        return "ACTIVE", "LINK_DOWN", "The replication link is down; the array keeps retrying"
    return "AUTO_SUSPENDED", reason, _STOP_DESCRIPTIONS.get(reason, reason)


_STOP_DESCRIPTIONS = {
    "LINK_DOWN": "The replication link is down",
    "ROLE_CONFLICT": "Both sides of the replica have the same role",
    "REMOTE_REPLICA_MISSING": "The remote replica no longer exists",
}
