"""The kopf handlers. Each does one thing and hands the work to the controller's runtime."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import kopf

from replica_operator import metrics, sharding
from replica_operator.api import (
    CONSISTENCY_GROUP_REPLICA,
    CONSISTENCY_GROUP_REPLICA_PLURAL,
    FINALIZER,
    GROUP,
    INFINIBOX_PLURAL,
    REPLICA,
    REPLICA_PLURAL,
    VERSION,
    DeletionPolicy,
    ManagementPolicy,
)
from replica_operator.controller import Indexes, Runtime, Trigger, in_use_verdict, other_shards_objects
from replica_operator.kube import KubeError
from replica_operator.reconcile import (
    ACCEPT_ARRAY_ANNOTATION,
    RECREATE_ANNOTATION,
    TAKE_OVER_ANNOTATION,
    ArrayReplica,
)

from .persistence import ProgressAnnotations, RememberedDiffBase

log = logging.getLogger(__name__)
REPLICATION_KINDS = (REPLICA_PLURAL, CONSISTENCY_GROUP_REPLICA_PLURAL)
DELETION_RETRY_SECONDS = 10.0


def _runtime(memo: Any) -> Runtime:
    runtime = memo.runtime
    assert isinstance(runtime, Runtime)
    return runtime


_KEPT_METADATA = ("name", "namespace", "uid", "resourceVersion", "generation", "deletionTimestamp")
_KEPT_ANNOTATIONS = (RECREATE_ANNOTATION, TAKE_OVER_ANNOTATION, ACCEPT_ARRAY_ANNOTATION)


def _snapshot(body: kopf.Body) -> dict[str, Any]:
    """A plain, slim copy of the object for the indexes and the reconciler.

    Only what the operator reads is kept: at a thousand objects, managedFields and the
    last-applied annotations would be half of the operator's memory.
    """
    metadata = body["metadata"]
    slim: dict[str, Any] = {key: metadata[key] for key in _KEPT_METADATA if key in metadata}
    annotations = {k: v for k, v in (metadata.get("annotations") or {}).items() if k in _KEPT_ANNOTATIONS}
    if annotations:
        slim["annotations"] = annotations
    copied = {key: body[key] for key in ("apiVersion", "kind", "spec", "status") if key in body}
    return {**copied, "metadata": slim}


# -- start-up ---------------------------------------------------------------------------------------
@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **kwargs: Any) -> None:
    """Our own finalizer and progress prefix, the diff base in memory, watch timeouts, and start polling."""
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = ProgressAnnotations(prefix=GROUP)
    runtime = _runtime(memo)
    # In memory, not an annotation: one PATCH and one watch event less per handled change.
    diffbase = RememberedDiffBase()
    settings.persistence.diffbase_storage = diffbase
    runtime.forgetters.append(diffbase.forget)
    settings.watching.server_timeout = 270
    settings.watching.client_timeout = 300
    settings.watching.connect_timeout = 30
    # kopf's own calls (finalizers, progress annotations, its Events) are bounded like ours.
    settings.networking.request_timeout = runtime.settings.kube_request_timeout.total_seconds()
    settings.networking.connect_timeout = 10
    settings.scanning.disabled = True  # least privilege: no CRD or namespace watching needed
    settings.posting.loggers = False
    replicas = kwargs["replica_index"]
    for store, size in (
        ("diff-base", lambda: len(diffbase)),
        ("reconciler", lambda: len(runtime.reconciler.memories)),
        ("replica-index", lambda: sum(len(entries) for entries in replicas.values())),
    ):
        metrics.REMEMBERED.labels(store).set_function(size)
    # Server-side: objects of other shards never reach this instance (nor its memory).
    selector = sharding.label_selector(runtime.settings.shard)
    for plural in REPLICATION_KINDS:
        settings.watching.label_selectors[GROUP, plural] = selector
    log.info("shard %s: watching replication objects with labelSelector %s", _shard(runtime), selector)
    if runtime.settings.metrics_port is not None:
        metrics.serve(runtime.settings.bind_address, runtime.settings.metrics_port)
    runtime.start(
        Indexes(
            infiniboxes=kwargs["infinibox_index"],
            replicas=kwargs["replica_index"],
            groups=kwargs["group_replica_index"],
        )
    )


def _shard(runtime: Runtime) -> str:
    return runtime.settings.shard or "(default)"


@kopf.on.probe(id="pollers", errors=kopf.ErrorsMode.PERMANENT)
def pollers_progress(memo: kopf.Memo, **_: Any) -> dict[str, int]:
    """Liveness: /healthz fails (500) while any array's poller has stopped finishing passes."""
    runtime = _runtime(memo)
    stalled = runtime.stalled_pollers()
    if stalled:
        names = ", ".join(f"{name} ({since}s)" for name, since in sorted(stalled.items()))
        raise kopf.PermanentError(f"pollers without a finished pass: {names}")
    return {"arrays": len(runtime.arrays.names())}


@kopf.on.cleanup()
async def shut_down(memo: kopf.Memo, **_: Any) -> None:
    await _runtime(memo).stop()


# -- indexes: who uses which array ------------------------------------------------------------------
@kopf.index(GROUP, VERSION, INFINIBOX_PLURAL)
def infinibox_index(name: str, body: kopf.Body, **_: Any) -> dict[str, dict[str, Any]]:
    return {name: _snapshot(body)}


def _by_array(body: kopf.Body, spec: kopf.Spec) -> dict[str, dict[str, Any]]:
    snapshot = _snapshot(body)
    return {spec["source"]["array"]: snapshot, spec["target"]["array"]: snapshot}


@kopf.index(GROUP, VERSION, REPLICA_PLURAL)
def replica_index(body: kopf.Body, spec: kopf.Spec, **_: Any) -> dict[str, dict[str, Any]]:
    return _by_array(body, spec)


@kopf.index(GROUP, VERSION, CONSISTENCY_GROUP_REPLICA_PLURAL)
def group_replica_index(body: kopf.Body, spec: kopf.Spec, **_: Any) -> dict[str, dict[str, Any]]:
    return _by_array(body, spec)


# -- InfiniBox: in-use protection -------------------------------------------------------------------
@kopf.on.delete(GROUP, VERSION, INFINIBOX_PLURAL)
async def release_array(name: str, body: kopf.Body, memo: kopf.Memo, retry: int, **_: Any) -> None:
    """An array still named by replication objects is not let go (its finalizer stays)."""
    runtime = _runtime(memo)
    assert runtime.indexes is not None
    users = [*runtime.indexes.users(name), *await _users_in_other_shards(runtime, name)]
    if users:
        verdict = in_use_verdict(users)
        connection = runtime.arrays.get(name)
        if not runtime.settings.sharded:  # the default shard alone writes and announces InfiniBoxes
            if connection is not None:
                await runtime.write_array_status(body, connection, users)
            kopf.warn(
                body, reason="DeletionBlocked", message=f"InfiniBox {name} cannot go yet: {verdict.message}"
            )
        raise kopf.TemporaryError(f"still {verdict.message}", delay=DELETION_RETRY_SECONDS)
    await runtime.arrays.remove(name)


async def _users_in_other_shards(runtime: Runtime, array: str) -> list[Mapping[str, Any]]:
    """The replication objects of every other shard that name ``array`` (this shard's index
    cannot see them). Every shard's kopf shares the InfiniBox finalizer, so each must know."""
    try:
        found = await other_shards_objects(runtime.kube, runtime.settings)
    except KubeError as error:
        raise kopf.TemporaryError(
            f"cannot tell who else uses it: {error}", delay=DELETION_RETRY_SECONDS
        ) from None
    return [
        body for body in found if array in (body["spec"]["source"]["array"], body["spec"]["target"]["array"])
    ]


# -- Replica and ConsistencyGroupReplica ------------------------------------------------------------
def _deletes_replica(spec: Mapping[str, Any]) -> bool:
    """Whether this object's deletion removes its replica on the arrays (else it is left, and said so)."""
    deletion = str(spec.get("deletionPolicy", DeletionPolicy.DELETE))
    management = str(spec.get("managementPolicy", ManagementPolicy.FULL))
    return deletion == DeletionPolicy.DELETE and management == ManagementPolicy.FULL


#: Set in an object's kopf memo once its deletion was handled (replica removed, or Orphaned posted).
_DELETION_HANDLED = "deletion_handled"


async def _reconcile(body: kopf.Body, memo: kopf.Memo, trigger: Trigger) -> None:
    runtime = _runtime(memo)
    await runtime.reconciler.reconcile(_snapshot(body), trigger, runtime.lookup)


for _plural in REPLICATION_KINDS:

    @kopf.on.create(GROUP, VERSION, _plural)
    @kopf.on.update(GROUP, VERSION, _plural)
    async def apply_spec(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
        """A new or changed object: bring the arrays in line now rather than at the next poll."""
        await _reconcile(body, memo, Trigger.EVENT)

    @kopf.on.resume(GROUP, VERSION, _plural)
    async def resume(body: kopf.Body, memo: kopf.Memo, status: kopf.Status, **_: Any) -> None:
        """After a restart: objects without a replica id may have been half-created; look now."""
        if status.get("replicaId") is None:
            await _reconcile(body, memo, Trigger.EVENT)

    @kopf.on.delete(GROUP, VERSION, _plural)
    async def delete_replica(
        body: kopf.Body, spec: kopf.Spec, status: kopf.Status, memo: kopf.Memo, **_: Any
    ) -> None:
        """Every object carries the finalizer, so every deletion is seen, also one made while no
        operator ran or right after a policy change it had not seen yet: deletionPolicy Delete
        removes the replica on the arrays before the object goes; Orphan and ObserveOnly leave it
        and post ``Orphaned``. (A finalizer on Delete objects only let an Orphan object flipped
        to Delete, or one deleted while the operator was down, go without a word: a silent leak.)"""
        runtime = _runtime(memo)
        if not _deletes_replica(spec):
            await _report_orphaned(
                body, spec, status, runtime, await _marked_left(body, spec, status, runtime)
            )
            memo[_DELETION_HANDLED] = True
            _forget(body, runtime)
            return
        outcome = await runtime.reconciler.reconcile(_snapshot(body), Trigger.DELETE, runtime.lookup)
        done = outcome.plan.release or (outcome.results and all(r.problem is None for r in outcome.results))
        if not done or outcome.held is not None:
            problem = outcome.held or outcome.plan.blocked
            problem = problem or next((r.problem for r in outcome.results if r.problem), None)
            raise kopf.TemporaryError(
                problem.message if problem else "waiting to delete the replica", delay=DELETION_RETRY_SECONDS
            )
        memo[_DELETION_HANDLED] = True
        _forget(body, runtime)

    @kopf.on.event(GROUP, VERSION, _plural, when=lambda type, **_: type == "DELETED")
    async def forget(
        body: kopf.Body, spec: kopf.Spec, status: kopf.Status, memo: kopf.Memo, **_: Any
    ) -> None:
        """The object is gone: if it went without our deletion handler (its finalizer removed by
        hand), say what it left on the arrays; drop what we kept about it."""
        runtime = _runtime(memo)
        if not memo.get(_DELETION_HANDLED):  # not our deletion handler's doing: gone, or moved?
            if await _moved_to_another_shard(body, runtime):
                log.info(
                    "%s %s/%s left shard %s: another shard handles it now",
                    body["kind"],
                    body["metadata"]["namespace"],
                    body["metadata"]["name"],
                    _shard(runtime),
                )
                _forget(body, runtime)
                return
            await _report_orphaned(body, spec, status, runtime)
        _forget(body, runtime)


async def _moved_to_another_shard(body: kopf.Body, runtime: Runtime) -> bool:
    """Whether a DELETED watch event means "relabelled out of this shard's selector" (the object
    still exists, same uid) rather than a deletion. The API server sends the object as it was
    before the change, so only a read can tell."""
    meta = body["metadata"]
    resource = CONSISTENCY_GROUP_REPLICA if body["kind"] == CONSISTENCY_GROUP_REPLICA.kind else REPLICA
    try:
        now = await runtime.kube.read_object(resource, meta["namespace"], meta["name"])
    except KubeError as error:
        log.warning(
            "%s %s/%s: cannot tell whether it was deleted: %s",
            body["kind"],
            meta["namespace"],
            meta["name"],
            error,
        )
        return False
    return (
        now is not None
        and now["metadata"].get("uid") == meta["uid"]
        and not now["metadata"].get("deletionTimestamp")
    )


async def _marked_left(
    body: kopf.Body, spec: kopf.Spec, status: kopf.Status, runtime: Runtime
) -> tuple[ArrayReplica, ...]:
    """What a Full object that status names no replica of leaves anyway: the replicas carrying its
    mark (a create whose answer was lost before a crash, a take-over half done), found by a pass
    that sends nothing (Orphan: the rules release it). ObserveOnly objects mark nothing."""
    if status.get("replicaId") is not None or spec.get("managementPolicy") == ManagementPolicy.OBSERVE_ONLY:
        return ()
    outcome = await runtime.reconciler.reconcile(_snapshot(body), Trigger.DELETE, runtime.lookup)
    observation = outcome.plan.observation
    return observation.marked if observation is not None else ()


async def _report_orphaned(
    body: kopf.Body,
    spec: kopf.Spec,
    status: kopf.Status,
    runtime: Runtime,
    marked: tuple[ArrayReplica, ...] = (),
) -> None:
    """An ``Orphaned`` Event naming the replica this object leaves on the arrays (if it had one)."""
    named = _left_behind(spec, status) or _marked_named(marked)
    if named is None:
        return
    if spec.get("managementPolicy") == ManagementPolicy.OBSERVE_ONLY:
        why = "managementPolicy is ObserveOnly"
    elif spec.get("deletionPolicy") == DeletionPolicy.ORPHAN:
        why = "deletionPolicy is Orphan"
    else:
        why = "the object went without the operator's finalizer"
    await runtime.kube.post_event(
        _snapshot(body),
        type="Normal",
        reason="Orphaned",
        message=f"{named}: {why}",
    )


def _left_behind(spec: Mapping[str, Any], status: Mapping[str, Any]) -> str | None:
    """ "replica <id> (source array <InfiniBox>)", the SOURCE now, and its peer, each with the array
    it is on: after a switch the SOURCE is spec.target's replica (status keeps ids by spec side)."""
    here, there = status.get("replicaId"), status.get("remoteReplicaId")
    source, target = spec["source"]["array"], spec["target"]["array"]
    if here is None:
        return None
    if (status.get("currentSource") or {}).get("array") == target and there is not None and source != target:
        here, there, source, target = there, here, target, source
    peer = f", with its peer replica {there} on {target}," if there is not None else ""
    return f"replica {here} (source array {source}){peer} is left on the arrays"


def _marked_named(marked: tuple[ArrayReplica, ...]) -> str | None:
    """The marked replicas in the words of :func:`_left_behind`: the SOURCE first, then the rest."""
    if not marked:
        return None
    first, *rest = sorted(marked, key=lambda replica: not replica.is_source)
    others = "".join(f", with replica {r.id} on {r.array}," for r in rest)
    return f"replica {first.id} (source array {first.array}){others} is left on the arrays"


def _forget(body: Mapping[str, Any], runtime: Runtime) -> None:
    runtime.forget(body)
