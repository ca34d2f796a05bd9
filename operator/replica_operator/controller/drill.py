"""ReplicaDrill: take the snapshot, make its PersistentVolume and claim, report; undo it all (issue 18).

The only array calls are on the snapshot: a look-up by name, ``POST /volumes`` with
``parent_id`` (once; a lost answer is found again by name at the next pass) and, when the
drill ends, ``DELETE`` of that snapshot. The replica, and the target volume the snapshot is
taken of, are only read. Kubernetes objects the drill made carry its uid as a label; it
deletes only those.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from replica_operator.api import (
    CONSISTENCY_GROUP_REPLICA,
    REPLICA,
    REPLICA_DRILL,
    ReplicaDrillSpec,
    format_timestamp,
)
from replica_operator.array import ArrayError, NotFound
from replica_operator.kube import Kube, KubeError
from replica_operator.reconcile import (
    DRILL_LABEL,
    DrillTarget,
    Problem,
    claim_manifests,
    drill_conditions,
    is_filesystem,
    is_group,
    marked_in_another_namespace,
    protocol_problem,
    snapshot_name,
    target_of,
    volume_name,
)

from .adapter import problem_from
from .connections import Arrays
from .drill_claims import expose
from .drill_group import end_group, start_group
from .drill_nfs import end_filesystem, start_filesystem
from .ports import ArrayClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DrillOutcome:
    """What one pass left: None when the drill is Ready (or gone), else why it is not (yet)."""

    problem: Problem | None


class DrillController:
    """Starts and ends drills with the operator's own array connections and Kubernetes client."""

    def __init__(self, kube: Kube, arrays: Arrays) -> None:
        self.kube = kube
        self.arrays = arrays

    async def start(self, body: Mapping[str, Any]) -> DrillOutcome:
        """Bring the drill to Ready (each step skipped when done); write status; say what is left."""
        meta = body["metadata"]
        spec = ReplicaDrillSpec.model_validate(dict(body["spec"]))
        status: dict[str, Any] = {}
        try:
            problem = await self._start(body, spec, status)
        except KubeError as error:
            problem = Problem("KubernetesError", str(error))
        except ArrayError as error:
            problem = problem_from(error)
        previous = (body.get("status") or {}).get("conditions") or []
        snapshot_id = (status.get("snapshot") or {}).get("id")
        message = f"claim {status.get('persistentVolumeClaim')} holds snapshot {snapshot_id}"
        if status.get("export"):
            message += f" (exported at {status['export']['address']}:{status['export']['path']})"
        if status.get("members"):
            message = f"{len(status['members'])} claims hold the snapshot group {snapshot_id}"
        if problem is None:
            # Only a started drill says it was handled at this generation: kopf (handlers/persistence.py)
            # takes an object whose observedGeneration is current for one whose create is done, and
            # would not retry a start that is still waiting (a claim not bound yet).
            status["observedGeneration"] = meta.get("generation")
        status["conditions"] = drill_conditions(
            previous, problem, message, generation=int(meta.get("generation") or 0), now=datetime.now(UTC)
        )
        await self.kube.patch_status(REPLICA_DRILL, meta["namespace"], meta["name"], status)
        return DrillOutcome(problem)

    async def _start(
        self, body: Mapping[str, Any], spec: ReplicaDrillSpec, status: dict[str, Any]
    ) -> Problem | None:
        meta = body["metadata"]
        namespace, name, uid = meta["namespace"], meta["name"], meta["uid"]
        recorded = (body.get("status") or {}).get("snapshot")
        group = is_group(spec)
        if recorded:  # a drill stays with the snapshot it took, wherever the pair's target went since
            target: DrillTarget | Problem = DrillTarget(
                recorded["array"], recorded["parent"], group, filesystem=is_filesystem(spec)
            )
        else:
            target = await self._target(namespace, spec, starting=True)
        if isinstance(target, Problem):
            return target
        wrong = None if target.group else protocol_problem(spec, target)
        if wrong is not None:
            return wrong
        client = self._client(target.array)
        if isinstance(client, Problem):
            return client
        if target.filesystem:
            started = (body.get("status") or {}).get("startedAt") or format_timestamp(datetime.now(UTC))
            status["startedAt"] = started
            return await start_filesystem(
                self.kube, client, body, spec, target, snapshot_name(name, uid), status
            )
        if target.group:
            started = (body.get("status") or {}).get("startedAt") or format_timestamp(datetime.now(UTC))
            status["startedAt"] = started
            return await start_group(self.kube, client, body, spec, target, snapshot_name(name, uid), status)
        snapshot = await client.find_volume(snapshot_name(name, uid))
        if snapshot is not None and not snapshot.is_snapshot:
            return Problem(
                "Conflict",
                f"{snapshot.name} on {target.array} is a volume, not this drill's snapshot",
                retryable=False,
            )
        if snapshot is None and recorded:
            return Problem(
                "SnapshotNotFound", f"the drill's snapshot {recorded['name']} is gone from {target.array}"
            )
        if snapshot is None:
            parent = await client.find_volume(target.volume)
            if parent is None:
                return Problem("EntityNotFound", f"volume {target.volume} not found on {target.array}")
            snapshot = await client.create_snapshot(parent.id, snapshot_name(name, uid))
            log.info(
                "drill %s/%s: snapshot %s of %s on %s",
                namespace,
                name,
                snapshot.id,
                target.volume,
                target.array,
            )
        started = (body.get("status") or {}).get("startedAt") or format_timestamp(datetime.now(UTC))
        status.update(
            snapshot={
                "array": target.array,
                "id": snapshot.id,
                "name": snapshot.name,
                "parent": target.volume,
            },
            startedAt=started,
        )
        volume, claim = claim_manifests(
            spec, namespace=namespace, drill=name, uid=uid, snapshot_id=snapshot.id, size=snapshot.size or 1
        )
        made = await expose(self.kube, volume, claim, uid)
        if isinstance(made, Problem):
            return made
        status.update(made)
        return None

    async def _target(
        self, namespace: str, spec: ReplicaDrillSpec, *, starting: bool = False
    ) -> DrillTarget | Problem:
        """The replica's current target (volume, or consistency group for a group drill); when
        ``starting``, refused if the pair is another namespace's (see ``_not_another_namespaces``)."""
        group = is_group(spec)
        resource = CONSISTENCY_GROUP_REPLICA if group else REPLICA
        replica = await self.kube.read_object(resource, namespace, spec.replica_ref.name)
        target = target_of(replica, spec.replica_ref.name, group=group)
        if starting and replica is not None and not isinstance(target, Problem):
            return await self._not_another_namespaces(replica, namespace) or target
        return target

    async def end(self, body: Mapping[str, Any]) -> Problem | None:
        """Delete the claim, the PersistentVolume and the snapshot (only what this drill made)."""
        meta = body["metadata"]
        namespace, name, uid = meta["namespace"], meta["name"], meta["uid"]
        status = body.get("status") or {}
        spec = ReplicaDrillSpec.model_validate(dict(body["spec"]))
        try:
            if is_group(spec):
                return await self._end_group(body, spec, namespace, snapshot_name(name, uid))
            claim = status.get("persistentVolumeClaim")
            if claim:
                found = await self.kube.read_volume_object("PersistentVolumeClaim", namespace, claim)
                if found is not None and (found["metadata"].get("labels") or {}).get(DRILL_LABEL) == uid:
                    await self.kube.delete_volume_object("PersistentVolumeClaim", claim, namespace)
                    # Kubernetes keeps a claim while a pod uses it: the snapshot must outlive it.
                    return Problem("ClaimInUse", f"waiting for claim {claim} to go (a pod may still use it)")
            pv = volume_name(namespace, name, uid)
            if await self.kube.read_volume_object("PersistentVolume", None, pv) is not None:
                await self.kube.delete_volume_object("PersistentVolume", pv)
                return Problem("VolumeInUse", f"waiting for PersistentVolume {pv} to go")
            array = (status.get("snapshot") or {}).get("array")
            if array is None:  # a crash between the snapshot and its status: where would it be?
                target = await self._target(namespace, spec)
                if isinstance(target, Problem):
                    return None if target.reason == "ReplicaNotFound" else target
                array = target.array
            if is_filesystem(spec):
                client = self._client(array)
                if isinstance(client, Problem):
                    return client
                return await end_filesystem(client, body, snapshot_name(name, uid))
            return await self._delete_snapshot(array, snapshot_name(name, uid))
        except KubeError as error:
            return Problem("KubernetesError", str(error))
        except ArrayError as error:
            return problem_from(error)

    async def _end_group(
        self, body: Mapping[str, Any], spec: ReplicaDrillSpec, namespace: str, name: str
    ) -> Problem | None:
        array = ((body.get("status") or {}).get("snapshot") or {}).get("array")
        if array is None:
            target = await self._target(namespace, spec)
            if isinstance(target, Problem):
                return None if target.reason == "ReplicaNotFound" else target
            array = target.array
        return await end_group(self.kube, self._client(array), body, spec, name)

    async def _delete_snapshot(self, array: str, name: str) -> Problem | None:
        client = self._client(array)
        if isinstance(client, Problem):
            return client
        found = await client.find_volume(name)
        if found is None:
            return None
        if not found.is_snapshot:
            return Problem(
                "Conflict", f"{name} on {array} is not a snapshot; it is left alone", retryable=False
            )
        with contextlib.suppress(NotFound):  # gone already: that is what was wanted
            await client.delete_snapshot(found.id)
        return None

    async def _not_another_namespaces(self, replica: Mapping[str, Any], namespace: str) -> Problem | None:
        """Refuse to expose a pair another namespace's object marked (read on each array that
        answers; a side that does not answer is left out, as ownership decisions do)."""
        spec, status = replica.get("spec") or {}, replica.get("status") or {}
        descriptions = []
        for array, replica_id in (
            ((spec.get("source") or {}).get("array"), status.get("replicaId")),
            ((spec.get("target") or {}).get("array"), status.get("remoteReplicaId")),
        ):
            if not array or replica_id is None:
                continue
            client = self._client(str(array))
            if isinstance(client, Problem):
                continue
            try:
                descriptions.append((await client.get_replica(int(replica_id))).description)
            except ArrayError:
                continue
        owner = marked_in_another_namespace(replica["metadata"]["uid"], namespace, descriptions)
        if owner is None:
            return None
        return Problem(
            "NotOwned",
            f"Replica {replica['metadata']['name']} reports a replica of {owner}: a drill exposes only "
            f"data of namespace {namespace}",
            retryable=False,
        )

    def _client(self, array: str) -> ArrayClient | Problem:
        connection = self.arrays.get(array)
        if connection is None or connection.client is None or not connection.ready:
            problem = connection.problem if connection is not None else None
            return problem or Problem("ArrayUnreachable", f"{array} is not connected")
        return connection.client
