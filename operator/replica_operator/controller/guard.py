"""The owner check run before every mutating call (issue 14, item 1).

The rules already refuse to plan a step on another owner's replica (``reconcile.claim``);
this guard checks again, right before the call, on the replica as this pass observed it
(or re-read when the pass did not see it), so that no path around the rules (a stale plan,
a new step type, an id from an old status) can change or delete a replica that another
object marked. A take-over is refused while the object that marked the replica still exists; so is the
deletion of a pair only half re-marked by a take-over.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from replica_operator.array import ArrayError, NotFound
from replica_operator.reconcile import (
    ArrayReplica,
    Create,
    Delete,
    Problem,
    Step,
    TakeOver,
    conflict,
    describe_owner,
    foreign_uid,
    not_ours,
    owner_uid,
)

from .adapter import problem_from, to_array_replica
from .connections import LookupProblem

if TYPE_CHECKING:
    from .execute import StepContext


async def verify_owner(ctx: StepContext, step: Step) -> Problem | None:
    """None when the step may run; else the Conflict (or why the replica could not be read)."""
    if isinstance(step, Create):
        return None  # a new replica: the adoption search before it found no other owner's
    try:
        pair = await _pair(ctx, step)
    except ArrayError as error:
        return problem_from(error)
    except LookupProblem as error:  # the connection was dropped while the pass ran
        return error.problem
    if not pair:
        return None  # gone: the call itself reports NotFound (or, for a Delete, is done)
    descriptions = [replica.description for replica in pair]
    if isinstance(step, TakeOver):
        uid = foreign_uid(ctx.desired.uid, descriptions)
        if uid is None or not await ctx.owner_exists(uid):
            return None
        marked = describe_owner(next(d for d in descriptions if uid in d))
        return Problem(
            "Conflict",
            f"replica {step.replica_id} belongs to {marked}, which still exists: it cannot be taken over "
            "(delete that object with deletionPolicy Orphan first)",
            retryable=False,
        )
    owner = not_ours(ctx.desired.uid, descriptions)
    if owner is None:
        return None
    if isinstance(step, Delete) and await _ours_but_half_taken(ctx, descriptions):
        return None
    return conflict(pair[0], owner)


async def _ours_but_half_taken(ctx: StepContext, descriptions: list[str]) -> bool:
    """One side carries this object's mark, the other only the mark of an object that is gone:
    a take-over whose peer was not re-marked. Deleting it leaves nothing marked by the dead."""
    if not any(owner_uid(d) == ctx.desired.uid for d in descriptions):
        return False
    other = foreign_uid(ctx.desired.uid, descriptions)
    return other is not None and not await ctx.owner_exists(other)


async def _pair(ctx: StepContext, step: Step) -> list[ArrayReplica]:
    """The replica the step changes, as observed (read now if this pass did not see it), and its peer."""
    here = ctx.observed.side(step.side).replica
    if here is None or here.id != step.replica_id:
        try:
            here = to_array_replica(await ctx.client.get_replica(step.replica_id), ctx.connection.name)
        except NotFound:
            return []
    other = ctx.observed.side(step.side.other)
    # A peer whose array does not answer shows stale marks (as in reconcile.claim): left out.
    peer = other.replica if other.problem is None else None
    if peer is None:  # on deletion, a peer status never named is found by this object's mark
        peer = next(
            (r for r in ctx.observed.marked if (r.array, r.id) == (other.array, here.remote_id)), None
        )
    return [here] if peer is None else [here, peer]
