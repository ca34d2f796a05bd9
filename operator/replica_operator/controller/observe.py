"""Reading both sides of one object, and searching for a replica to adopt, into an Observation.

A poll reads the last listing (no call per object); an event or a deletion reads the
object's replicas afresh, and so does a poll for a replica the listing lacks (a replica is
gone only when the array answers NotFound to a GET). An object with no known replica
searches the source array, and so does one about to recreate a lost replica.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from replica_operator.array import (
    ArrayError,
    Capabilities,
    EntityType,
    Link,
    NotFound,
    ReplicationType,
)
from replica_operator.reconcile import (
    ArrayReplica,
    Desired,
    EntityKind,
    Observation,
    Problem,
    Side,
    adoptable,
    array_changed,
    owner_mark,
)

from .adapter import array_replication_type, entity_type, problem_from, to_array_replica
from .connections import ArrayConnection, LookupProblem
from .create import find_source
from .ports import InfiniBoxLookup, Registry


class Observer:
    """Builds the Observation of one pass from the array connections."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    async def observe(self, desired: Desired, infiniboxes: InfiniBoxLookup, *, fresh: bool) -> Observation:
        observation = await self._observe(desired, infiniboxes, fresh)
        if not desired.deleting:
            return observation
        marked, problem = await self._marked(desired)
        return replace(observation, marked=marked, marked_problem=problem)

    async def _observe(self, desired: Desired, infiniboxes: InfiniBoxLookup, fresh: bool) -> Observation:
        spec, status = desired.spec, desired.status
        now = datetime.now(UTC)
        source = await self._side(desired, spec.source.array, status.replica_id, infiniboxes, fresh)
        remote_id = status.remote_replica_id
        if remote_id is None and source.replica is not None:
            remote_id = source.replica.remote_id
        target = await self._side(desired, spec.target.array, remote_id, infiniboxes, fresh)
        known = status.replica_id is not None or status.remote_replica_id is not None
        unsupported, link_problem = self._unsupported(desired), self._link_problem(source, target)
        if source.replica is not None or target.replica is not None:
            return Observation(source, target, now, unsupported=unsupported, link_problem=link_problem)
        if known and not (desired.recreate_missing and desired.full_management):
            # gone: reported, recreated only when asked
            return Observation(source, target, now, unsupported=unsupported, link_problem=link_problem)
        candidates, entity_id, problem = await self._search(desired)
        adopted = adoptable(desired, candidates)
        if adopted is not None and adopted.remote_id is not None:  # the peer of what will be adopted
            target = await self._side(desired, spec.target.array, adopted.remote_id, infiniboxes, fresh)
        return Observation(
            source,
            target,
            now,
            candidates=candidates,
            searched=True,
            search_problem=problem,
            source_entity_id=entity_id,
            unsupported=unsupported,
            link_problem=self._link_problem(replace(source, replica=adopted or source.replica), target),
        )

    async def _side(
        self, desired: Desired, array: str, replica_id: int | None, infiniboxes: InfiniBoxLookup, fresh: bool
    ) -> Side:
        side = await self._read_side(desired, array, replica_id, infiniboxes, fresh)
        connection = self.registry.get(array)
        system = connection.system if connection is not None else None
        return replace(side, serial=system.serial if system is not None else None)

    async def _read_side(
        self, desired: Desired, array: str, replica_id: int | None, infiniboxes: InfiniBoxLookup, fresh: bool
    ) -> Side:
        body = infiniboxes(array)
        if body is None:
            return Side(
                array, problem=Problem("ArrayNotFound", f"there is no InfiniBox object named {array}")
            )
        connection = await self.registry.ensure_polled(array, body)
        allowed = body["spec"].get("allowedNamespaces") or []
        if allowed and desired.namespace not in allowed:
            return Side(
                array,
                problem=Problem(
                    "NamespaceNotAllowed",
                    f"InfiniBox {array} does not allow namespace {desired.namespace} "
                    "(see its spec.allowedNamespaces)",
                    retryable=False,
                ),
            )
        cached = connection.replicas.get(replica_id) if connection.replicas and replica_id else None
        if connection.problem is not None:
            return Side(array, connection.replicas is not None, connection.problem, cached)
        recorded = _recorded_serial(desired, array)
        now = connection.system.serial if connection.system is not None else None
        if replica_id is not None and recorded is not None and now is not None and now != recorded:
            return Side(array, connection.replicas is not None, array_changed(array, recorded, now))
        # Missing from a listing is not gone: only the array's NotFound to a direct GET says so.
        if (fresh or cached is None) and replica_id is not None and connection.client is not None:
            try:
                found = connection.remember(await connection.client.get_replica(replica_id))
            except NotFound:
                connection.forget(replica_id)
                return Side(array, True, None, None)
            except ArrayError as error:
                return Side(array, connection.replicas is not None, problem_from(error), cached)
            return Side(array, True, None, found)
        return Side(array, connection.replicas is not None, None, cached)

    async def _search(self, desired: Desired) -> tuple[tuple[ArrayReplica, ...], int | None, Problem | None]:
        """Replicas of the entity over the link (what to adopt, or what conflicts), and the entity's id."""
        source = self.registry.get(desired.spec.source.array)
        if source is None or source.client is None or source.problem is not None:
            return (), None, None  # the Side already says why
        try:
            entity = await find_source(source, desired.entity_kind, desired.source_entity)
            link = await self.registry.link(
                source, desired.spec.target.link, self.registry.get(desired.spec.target.array)
            )
            if desired.entity_kind is EntityKind.CONSISTENCY_GROUP:  # as infinisdk's ConsGroup.get_replicas
                found = await source.require_client().find_replicas(local_cg_id=entity.id)
            else:
                found = await source.require_client().find_replicas(local_entity_id=entity.id)
        except LookupProblem as error:
            return (), None, error.problem
        except ArrayError as error:
            return (), None, problem_from(error)
        candidates = tuple(to_array_replica(r, source.name) for r in found if r.link_id in (None, link.id))
        return candidates, entity.id, None

    def _unsupported(self, desired: Desired) -> Problem | None:
        """Whether an array of the object lacks what the spec needs (its capabilities, read at connect)."""
        wanted = array_replication_type(desired.spec.replication_type)
        kind = entity_type(desired.entity_kind)
        for array in (desired.spec.source.array, desired.spec.target.array):
            connection = self.registry.get(array)
            capabilities = connection.capabilities if connection is not None else None
            missing = _missing(capabilities, wanted, kind) if capabilities is not None else None
            if missing is not None:
                return Problem("Unsupported", f"InfiniBox {array}: {missing}", retryable=False)
        return None

    def _link_problem(self, source: Side, target: Side) -> Problem | None:
        """The link the replica uses, if the last link listing shows it not UP (source side first)."""
        for side in (source, target):
            connection = self.registry.get(side.array)
            replica = side.replica
            if connection is None or replica is None or replica.link_id is None:
                continue
            link = connection.link_by_id(replica.link_id)
            if link is not None and not link.is_up:
                return link_down(link, connection)
        return None

    async def _marked(self, desired: Desired) -> tuple[tuple[ArrayReplica, ...], Problem | None]:
        """Every replica on both arrays carrying this object's mark, ids in status or not (issue 14, item 6).

        After a crash between "the array created it" and "status written", status knows no id;
        the mark is what finds the source replica and its peer. A search the array fails is a
        problem (deletion waits); an array not connected is skipped, as before: its side's
        problem blocks the deletion of what status knows.
        """
        mark = owner_mark(desired.uid, desired.namespace, desired.name)
        found: list[ArrayReplica] = []
        for array in (desired.spec.source.array, desired.spec.target.array):
            connection = self.registry.get(array)
            if connection is None or connection.client is None or connection.problem is not None:
                continue
            try:
                replicas = await connection.client.find_replicas(description=mark)
            except ArrayError as error:
                return tuple(found), problem_from(error)
            found.extend(to_array_replica(replica, array) for replica in replicas)
        return tuple(found), None


def _missing(capabilities: Capabilities, wanted: ReplicationType, kind: EntityType) -> str | None:
    """What the array lacks for such a replica: its version and features.

    Infinidat documents filesystems as ASYNC only (support article 6211370060957), and
    ``missing_for`` says so; the operator leaves that rule to the array for now (a refusal
    shows as ``Rejected`` with the array's words), because the examples and the simulator's
    default replicate a filesystem SYNC. An assumption to settle against a real array.
    """
    if kind is EntityType.FILESYSTEM:
        return capabilities.missing_for(wanted, EntityType.VOLUME) or capabilities.missing_for(
            ReplicationType.ASYNC, EntityType.FILESYSTEM
        )
    return capabilities.missing_for(wanted, kind)


def link_down(link: Link, connection: ArrayConnection) -> Problem:
    """The condition of an object whose replica uses a link that is down or degraded."""
    state = str(link.link_state) if link.link_state is not None else "in no state"
    reason = "LinkDown" if state == "DOWN" else "LinkDegraded"
    detail = f": {link.state_description}" if link.state_description else ""
    peer = link.remote_system_name or "the remote array"
    return Problem(
        reason, f"replication link {link.name} on {connection.name} (to {peer}) is {state}{detail}"
    )


def _recorded_serial(desired: Desired, array: str) -> int | None:
    """The serial status recorded with the replica id of this array's side."""
    status = desired.status
    if array == desired.spec.source.array:
        return status.source_serial
    return status.target_serial if array == desired.spec.target.array else None
