"""Executing the steps of a plan: a table from step type to the executor that runs it.

Adding a step to the rules means adding one entry to :data:`EXECUTORS`. An executor may
declare a ``before`` hook (RunAction records InProgress before the call, since a role
action must run once per id even across a crash; when that record cannot be written the
call is not made) and a ``refused`` hook (Create drops the cached link and pool ids a
refused request may have used). A step that failed does not hold back the independent
steps after it (a refused type change must not keep a suspension from the array); a
``dependent`` step (a one-shot action) runs only when every step before it worked.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from replica_operator import metrics
from replica_operator.api import ActionResult, ActionType, LastAction
from replica_operator.array import (
    ArrayError,
    BadRequest,
    Conflict,
    DeleteOptions,
    InvalidState,
    NotFound,
    OutcomeUnknown,
    Replica,
    Unavailable,
)
from replica_operator.reconcile import (
    NOT_RECORDED,
    ChangeType,
    Create,
    Delete,
    Desired,
    Observation,
    Problem,
    Resume,
    RunAction,
    Step,
    StepResult,
    Suspend,
    TakeOver,
    UpdateSchedule,
)

from .adapter import array_replication_type, problem_from
from .connections import ArrayConnection, LookupProblem
from .create import build_request
from .guard import verify_owner
from .ports import ArrayClient, Registry
from .report import Reporter

S = TypeVar("S", bound=Step)


async def assume_it_exists(uid: str) -> bool:
    """The owner check when nothing better is known: an unknown owner may exist."""
    return True


def _ignore(patch: dict[str, Any]) -> None:
    return None


@dataclass(frozen=True)
class StepContext:
    """What an executor may use: the object, what was observed, the step's array, the registry.

    ``wrote`` is told of every status patch an executor wrote (the object's memory keeps it, so
    the next pass sees it even before the watch delivers it).
    """

    desired: Desired
    observed: Observation
    connection: ArrayConnection
    registry: Registry
    reporter: Reporter
    wrote: Callable[[dict[str, Any]], None] = field(default=_ignore)
    owner_exists: Callable[[str], Awaitable[bool]] = assume_it_exists
    """Whether a uid is one of the operator's live objects (unknown: assume it is)."""

    @property
    def client(self) -> ArrayClient:
        return self.connection.require_client()


@dataclass(frozen=True)
class Executor(Generic[S]):
    """How one step type runs; ``run`` returns the replica when the array answered with it."""

    run: Callable[[StepContext, S], Awaitable[Replica | None]]
    before: Callable[[StepContext, S], Awaitable[Problem | None]] | None = None
    """Runs before the call; a Problem it returns means: do not make the call now."""
    refused: Callable[[StepContext], None] | None = None
    dependent: bool = False
    """Run only when every step before it worked (else skipped, for a later pass)."""


def entry(
    step_type: type[S],
    run: Callable[[StepContext, S], Awaitable[Replica | None]],
    *,
    before: Callable[[StepContext, S], Awaitable[Problem | None]] | None = None,
    refused: Callable[[StepContext], None] | None = None,
    dependent: bool = False,
) -> tuple[type[Step], Executor[Any]]:
    """One table entry; the type checker sees that ``run`` takes the step type it is filed under."""
    return step_type, Executor(run, before, refused, dependent)


async def execute(
    steps: Sequence[Step],
    context: Callable[[Step], StepContext | None],
    executors: Mapping[type[Step], Executor[Any]] | None = None,
) -> tuple[StepResult, ...]:
    """Run the steps in order, each whatever became of the independent ones before it.

    ``context`` is None: no connection to the step's array. A dependent step after a failure
    is left out of the results (nothing was tried; the next pass decides again).
    """
    table = EXECUTORS if executors is None else executors
    results: list[StepResult] = []
    for step in steps:
        executor = table.get(type(step))
        if executor is None:
            raise TypeError(f"no executor for step {type(step).__name__}: add one to EXECUTORS")
        if executor.dependent and any(r.problem is not None for r in results):
            continue
        ctx = context(step)
        if ctx is None:
            results.append(StepResult(step, Problem("ArrayUnreachable", "no connection to the array")))
            continue
        refusal = await verify_owner(ctx, step)  # before the before-hook: no InProgress record either
        held = refusal or (await executor.before(ctx, step) if executor.before is not None else None)
        result = StepResult(step, held) if held is not None else await _run(executor, ctx, step)
        metrics.STEPS.labels(type(step).__name__, "ok" if result.problem is None else "failed").inc()
        results.append(result)
    return tuple(results)


async def _run(executor: Executor[Any], ctx: StepContext, step: Step) -> StepResult:
    """One step, its array failure turned into the Problem the status reports."""
    try:
        answered = await executor.run(ctx, step)
    except LookupProblem as error:
        return StepResult(step, error.problem)
    except OutcomeUnknown as error:
        why = "the array did not answer; the next pass checks whether it happened"
        problem = Problem("ArrayUnreachable", f"{error} ({why})")
        return StepResult(step, problem, code=error.code, outcome_unknown=True)
    except InvalidState as error:
        return StepResult(step, Problem("Rejected", str(error)), code=error.code)
    except (BadRequest, Conflict, NotFound) as error:
        if executor.refused is not None:
            executor.refused(ctx)
        return StepResult(step, Problem("Rejected", str(error)), code=error.code)
    except ArrayError as error:
        return StepResult(step, problem_from(error), code=error.code)
    if answered is None:
        return StepResult(step)
    return StepResult(step, replica=ctx.connection.remember(answered))


# -- the executors ----------------------------------------------------------------------------------
async def _create(ctx: StepContext, step: Create) -> Replica:
    """Resolve every name of the step to an id, then create the replica marked as ours."""
    target_name = ctx.observed.target.array
    target = ctx.registry.get(target_name)
    if target is None or target.client is None or target.problem is not None:
        raise LookupProblem(
            target.problem
            if target is not None and target.problem
            else Problem("ArrayUnreachable", f"the target array {target_name} is not connected")
        )
    request = await build_request(step, ctx.connection, target, ctx.registry)
    return await ctx.client.create_replica(request)


def _forget_lookups(ctx: StepContext) -> None:
    """Perhaps a cached link or pool id that is gone: look them up again next time."""
    for side in (ctx.observed.source, ctx.observed.target):
        if (involved := ctx.registry.get(side.array)) is not None:
            ctx.registry.forget_lookups(involved)


async def _change_type(ctx: StepContext, step: ChangeType) -> None:
    to = array_replication_type(step.to)
    await ctx.client.change_type(step.replica_id, to, rpo=step.rpo, sync_interval=step.sync_interval)


async def _update_schedule(ctx: StepContext, step: UpdateSchedule) -> Replica:
    return await ctx.client.update_replica(step.replica_id, rpo=step.rpo, sync_interval=step.sync_interval)


async def _suspend(ctx: StepContext, step: Suspend) -> None:
    await ctx.client.suspend(step.replica_id)


async def _resume(ctx: StepContext, step: Resume) -> None:
    await ctx.client.resume(step.replica_id)


async def _run_action(ctx: StepContext, step: RunAction) -> None:
    calls = {
        ActionType.SYNC_NOW: ctx.client.sync_now,
        ActionType.SWITCH_ROLE: ctx.client.switch_role,
        ActionType.CHANGE_ROLE: ctx.client.change_role,
    }
    await calls[step.action.type](step.replica_id)


async def _record_action_start(ctx: StepContext, step: RunAction) -> Problem | None:
    """Write InProgress (when it was sent, and which side is source now) before the call.

    An action runs at most once per id: without this record a lost answer or a crash after
    the call would leave no trace, and the next pass would send it again. So no record, no call.
    """
    last = ctx.desired.status.last_action
    now = datetime.now(UTC)
    same = last is not None and last.id == step.action.id
    started = last.started_at if same and last is not None and last.started_at is not None else now
    record = LastAction(
        id=step.action.id,
        type=step.action.type,
        result=ActionResult.IN_PROGRESS,
        message=f"running: {step.describe()}",
        started_at=started,
        attempted_at=now,
    )
    patch: dict[str, Any] = {"lastAction": record.to_cr()}
    primary = ctx.observed.primary
    if primary is not None:
        patch["currentSource"] = {
            "array": ctx.observed.side(primary[0]).array,
            "entity": primary[1].local_entity,
        }
    if await ctx.reporter.patch(ctx.desired, patch) is None:
        return Problem(
            NOT_RECORDED,
            "the InProgress record could not be written to the status, so the call was not sent "
            "(an action is sent only once its record is written)",
        )
    ctx.wrote(patch)
    return None


async def _delete(ctx: StepContext, step: Delete) -> None:
    with contextlib.suppress(NotFound):  # already gone: that is what we wanted
        options = DeleteOptions.for_delete_policy(on_target=step.force_on_target)
        await ctx.client.delete_replica(step.replica_id, options=options)
    for side in (ctx.observed.source, ctx.observed.target):
        connection = ctx.registry.get(side.array)
        if connection is not None and side.replica is not None:
            connection.forget(side.replica.id)


async def _take_over(ctx: StepContext, step: TakeOver) -> Replica:
    """Re-mark the pair: the replica here, then its peer on the other array (if there is one)."""
    taken = await ctx.client.update_replica(step.replica_id, description=step.description)
    other = ctx.observed.side(step.side.other)
    peer = ctx.registry.get(other.array) if other.problem is None else None
    if step.peer_id is not None and peer is not None and peer.client is not None:
        # No peer: nothing more to mark. A peer array that is away (the lost site of an unplanned
        # failover) is marked when it answers again: the annotation still names this pair.
        with contextlib.suppress(NotFound, Unavailable):
            peer.remember(await peer.client.update_replica(step.peer_id, description=step.description))
    return taken


EXECUTORS: dict[type[Step], Executor[Any]] = dict(
    [
        entry(Create, _create, refused=_forget_lookups, dependent=True),
        entry(ChangeType, _change_type),
        entry(UpdateSchedule, _update_schedule),
        entry(Suspend, _suspend),
        entry(Resume, _resume),
        entry(RunAction, _run_action, before=_record_action_start, dependent=True),
        entry(Delete, _delete, dependent=True),
        entry(TakeOver, _take_over, dependent=True),
    ]
)
"""Every step type the rules produce, and how it runs."""
