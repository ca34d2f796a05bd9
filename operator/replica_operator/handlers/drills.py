"""kopf wiring of ReplicaDrill: a drill is started when it appears and ended before it goes."""

from __future__ import annotations

from typing import Any

import kopf

from replica_operator.api import GROUP, REPLICA_DRILL_PLURAL, VERSION
from replica_operator.controller import DrillController, Runtime
from replica_operator.kube import Kube

RETRY_SECONDS = 5.0
WAIT_SECONDS = 1.0
"""While a drill ends, Kubernetes' protection controllers let its claim and PV go within a second or
two once no pod uses them; while a group drill starts, the PV binder binds its claims as fast:
looked at again every second."""
_WAITING = frozenset({"ClaimInUse", "VolumeInUse", "ClaimsBinding"})


def _runtime(memo: Any) -> Runtime:
    runtime = memo.runtime
    assert isinstance(runtime, Runtime)
    return runtime


def _drills(memo: Any) -> DrillController:
    runtime = _runtime(memo)
    assert isinstance(runtime.kube, Kube)
    return DrillController(runtime.kube, runtime.arrays)


@kopf.on.create(GROUP, VERSION, REPLICA_DRILL_PLURAL)
@kopf.on.resume(GROUP, VERSION, REPLICA_DRILL_PLURAL)
async def start_drill(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    """Snapshot, PersistentVolume, claim; retried until Ready unless only the user can help."""
    outcome = await _drills(memo).start(dict(body))
    if outcome.problem is None:
        return
    if outcome.problem.retryable:
        delay = WAIT_SECONDS if outcome.problem.reason in _WAITING else RETRY_SECONDS
        raise kopf.TemporaryError(outcome.problem.message, delay=delay)
    raise kopf.PermanentError(outcome.problem.message)


@kopf.on.delete(GROUP, VERSION, REPLICA_DRILL_PLURAL)
async def end_drill(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    """The finalizer stays until claim, PersistentVolume and snapshot are gone."""
    problem = await _drills(memo).end(dict(body))
    if problem is not None:
        delay = WAIT_SECONDS if problem.reason in _WAITING else RETRY_SECONDS
        raise kopf.TemporaryError(problem.message, delay=delay)
    _runtime(memo).forget(dict(body))  # the diff base kept in memory for it (handlers/persistence.py)
