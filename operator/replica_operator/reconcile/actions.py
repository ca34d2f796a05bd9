"""One-shot actions whose answer was lost: what the arrays show decides, never a second call.

An action is recorded InProgress (with ``attemptedAt``) before it is sent. A pass that finds
that record cannot know whether the call reached the array (a crash, a timeout, a dropped
connection, a 5xx after the array acted), so it looks for the action's effect instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from replica_operator.api import ActionType

from .desired import Desired
from .observed import SYNC_IN_PROGRESS, Observation, SideName

LOST_ANSWER_GRACE = timedelta(minutes=2)
"""How long after a one-shot call whose answer was lost the arrays are watched for its effect
before the call counts as not carried out and may be sent again. An assumption, not taken from
infinisdk or Infinidat docs: it is well above the array client's default request timeout
(30 s), so that a request still on its way is not overtaken by its own retry."""


@dataclass(frozen=True)
class Seen:
    """What the arrays show of an action sent earlier: it took effect, or why to wait."""

    done: bool = False
    wait: str | None = None


def after_lost_answer(desired: Desired, observed: Observation, attempted_at: datetime) -> Seen | None:
    """The call was sent (InProgress with ``attemptedAt``) and no answer was recorded: decide from
    the arrays. A role action whose roles moved was caught by :func:`role_action_done`; a SyncNow
    took effect when the last sync is newer than the call. Otherwise wait, and send it again
    (None) only when the arrays have shown no effect for :data:`LOST_ANSWER_GRACE`."""
    action = desired.spec.action
    assert action is not None
    primary = observed.primary
    replica = primary[1] if primary is not None else None
    if action.type is ActionType.SYNC_NOW and replica is not None:
        synced = replica.last_synchronized
        if synced is not None and synced > attempted_at:
            return Seen(done=True)
        if replica.sync_state == SYNC_IN_PROGRESS:
            return Seen(wait="a sync job is running; waiting for it to finish")
    if observed.now - attempted_at < LOST_ANSWER_GRACE:
        when = attempted_at.strftime("%H:%M:%S")
        return Seen(
            wait=f"the answer to {action.type} (sent at {when} UTC) was lost; waiting to see whether "
            "it took effect on the arrays before sending it again"
        )
    return None


def role_action_done(desired: Desired, observed: Observation) -> bool:
    """After a crash between the call and the status write: did the role action already happen?

    The status written before the call names the source side of that moment; if another
    side reports SOURCE now, the switch (or promotion) took place.
    """
    action = desired.spec.action
    if action is None or action.type is ActionType.SYNC_NOW or desired.status.current_source is None:
        return False
    before = desired.status.current_source.array
    for name in (SideName.SOURCE, SideName.TARGET):
        side = observed.side(name)
        if side.replica is not None and side.replica.is_source and side.array != before:
            return True
    return False
