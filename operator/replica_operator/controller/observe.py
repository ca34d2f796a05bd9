"""Reading both sides of one object, and searching for a replica to adopt, into an Observation.

A poll reads the last listing (no call per object); an event or a deletion reads the
object's replicas afresh. Only an object with no known replica searches the source array.
"""

from __future__ import annotations

from datetime import UTC, datetime

from replica_operator.array import ArrayError, NotFound
from replica_operator.reconcile import ArrayReplica, Desired, Observation, Problem, Side, adoptable

from .adapter import problem_from, to_array_replica
from .connections import LookupProblem
from .create import find_source
from .ports import InfiniBoxLookup, Registry


class Observer:
    """Builds the Observation of one pass from the array connections."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    async def observe(self, desired: Desired, infiniboxes: InfiniBoxLookup, *, fresh: bool) -> Observation:
        spec, status = desired.spec, desired.status
        now = datetime.now(UTC)
        source = await self._side(desired, spec.source.array, status.replica_id, infiniboxes, fresh)
        remote_id = status.remote_replica_id
        if remote_id is None and source.replica is not None:
            remote_id = source.replica.remote_id
        target = await self._side(desired, spec.target.array, remote_id, infiniboxes, fresh)
        known = status.replica_id is not None or status.remote_replica_id is not None
        if known or source.replica is not None or target.replica is not None:
            return Observation(source, target, now)
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
        )

    async def _side(
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
        if fresh and replica_id is not None and connection.client is not None:
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
            found = await source.client.find_replicas(local_entity_id=entity.id)
        except LookupProblem as error:
            return (), None, error.problem
        except ArrayError as error:
            return (), None, problem_from(error)
        candidates = tuple(to_array_replica(r, source.name) for r in found if r.link_id in (None, link.id))
        return candidates, entity.id, None
