"""Replica operations, in the forms infinisdk 289.1.4 sends them (``infinibox/replica.py``).

Every change is a POST, PUT or DELETE under ``/api/rest/replicas`` with ``approved=true``;
intervals travel in milliseconds. Where this client says more than the SDK (explicit delete
flags, default RPO and interval on ASYNC creates), the docstrings say why.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from replica_operator.array.listing import Listing, ReadingCore
from replica_operator.array.models import Replica, ReplicaPage, ReplicationType
from replica_operator.array.query import MAX_PAGE_SIZE, Filters, eq
from replica_operator.array.requests import CreateReplicaRequest, to_ms

__all__ = ["DeleteOptions", "ReplicasMixin"]

_ENDPOINT = "/replicas"


@dataclass(frozen=True, slots=True)
class DeleteOptions:
    """The flags of ``DELETE replicas/<id>``; each is sent explicitly, ``true`` or ``false``.

    infinisdk sends a flag only when passed, and on arrays with ``replica_auto_create`` it
    assumes the staging area is kept unless told otherwise; so an unsaid flag leaves the
    choice to the array. Saying every one keeps deletes the same on every array version.
    ``keep_serial_on_local`` is sent only when set. See docs/compatibility.md for the
    flags per ``deletionPolicy``.
    """

    #: Keep the last replicated snapshot as a child of each side's dataset (False: leave nothing behind).
    retain_staging_area: bool = False
    #: Delete locally even when the peer cannot be told (peer unreachable or refusing).
    force_if_remote_error: bool = False
    #: Allow deleting on the TARGET side (the SOURCE's replica then stays).
    force_on_target: bool = False
    #: Delete locally when the array has no credentials for the peer.
    force_if_no_remote_credentials: bool = False
    keep_serial_on_local: bool | None = None

    @classmethod
    def for_delete_policy(cls, *, on_target: bool = False) -> DeleteOptions:
        """``deletionPolicy: Delete``: remove the replica on both sides, keep no snapshot, force nothing."""
        return cls(force_on_target=on_target)

    def to_params(self) -> tuple[tuple[str, str], ...]:
        """Query parameters in infinisdk's order (``Replica.delete``), booleans as ``true``/``false``."""
        flags: dict[str, bool | None] = {
            "force_if_remote_error": self.force_if_remote_error,
            "force_on_target": self.force_on_target,
            "force_if_no_remote_credentials": self.force_if_no_remote_credentials,
            "keep_serial_on_local": self.keep_serial_on_local,
            "retain_staging_area": self.retain_staging_area,
        }
        return tuple((key, "true" if value else "false") for key, value in flags.items() if value is not None)


class ReplicasMixin(ReadingCore):
    # -- reading

    async def get_replica(self, replica_id: int) -> Replica:
        """The replica now; :class:`~.errors.NotFound` only when the array answers 404."""
        reply = await self._session.call("GET", "/replicas/{id}", ident=replica_id)
        return self._parse(Replica, reply.result, "/api/rest/replicas/{id}")

    async def list_replicas(
        self, *, filters: Filters | None = None, page: int = 1, page_size: int = MAX_PAGE_SIZE
    ) -> ReplicaPage:
        """One page of replicas (array order); ``filters`` maps field names to values (see :mod:`.query`)."""
        return await self._page(
            _ENDPOINT, self._parser(Replica), filters=filters, page=page, page_size=page_size
        )

    async def iter_replicas(
        self, *, filters: Filters | None = None, page_size: int = MAX_PAGE_SIZE
    ) -> AsyncIterator[Replica]:
        """Every replica matching ``filters``, page by page, each once (see :meth:`scan_replicas`)."""
        seen: set[int] = set()
        async for page in self._pages(_ENDPOINT, self._parser(Replica), filters=filters, page_size=page_size):
            for replica in page.items:
                if replica.id not in seen:
                    seen.add(replica.id)
                    yield replica

    async def scan_replicas(
        self, filters: Filters | None = None, *, page_size: int = MAX_PAGE_SIZE
    ) -> Listing[Replica]:
        """Every replica matching ``filters``, with whether the collection changed while it was read.

        When ``changed_during_listing`` is true, an expected replica that is missing may
        only have moved between pages: confirm with :meth:`get_replica` before acting.
        """
        return await self._listing(_ENDPOINT, self._parser(Replica), filters=filters, page_size=page_size)

    async def list_all_replicas(
        self, filters: Filters | None = None, *, page_size: int = MAX_PAGE_SIZE
    ) -> list[Replica]:
        return (await self.scan_replicas(filters, page_size=page_size)).items

    async def find_replicas(
        self,
        *,
        local_entity_id: int | None = None,
        link_id: int | None = None,
        description: str | None = None,
        local_cg_id: int | None = None,
    ) -> list[Replica]:
        """Replicas matching every criterion given (all replicas if none is).

        A consistency group's replicas are found by ``local_cg_id``, as infinisdk's
        ``ConsGroup.get_replicas`` finds them.
        """
        criteria = {
            "local_entity_id": local_entity_id,
            "link_id": link_id,
            "description": description,
            "local_cg_id": local_cg_id,
        }
        return await self.list_all_replicas(
            {key: eq(value) for key, value in criteria.items() if value is not None}
        )

    # -- changing

    async def create_replica(self, request: CreateReplicaRequest) -> Replica:
        """Create a replica (and its peer on the remote array).

        Never repeated once it may have reached the array: if the answer is lost this
        raises :class:`~.errors.OutcomeUnknown`; look for the replica (e.g. with
        ``find_replicas(description=...)``) before creating it again.
        """
        reply = await self._session.call("POST", _ENDPOINT, body=request.to_body())
        return await self._replica_from(reply.result, None)

    async def update_replica(
        self,
        replica_id: int,
        *,
        rpo: timedelta | None = None,
        sync_interval: timedelta | None = None,
        description: str | None = None,
    ) -> Replica:
        """Change the RPO, the sync interval (ASYNC only) and/or the description."""
        changes = {"rpo_value": to_ms(rpo), "sync_interval": to_ms(sync_interval), "description": description}
        body = {key: value for key, value in changes.items() if value is not None}
        if not body:
            raise ValueError("nothing to update: give rpo, sync_interval or description")
        reply = await self._session.call("PUT", "/replicas/{id}", ident=replica_id, body=body)
        return await self._replica_from(reply.result, replica_id)

    async def change_type(
        self,
        replica_id: int,
        to: ReplicationType,
        *,
        rpo: timedelta | None = None,
        sync_interval: timedelta | None = None,
    ) -> None:
        """Turn an ASYNC replica SYNC, or a SYNC one ASYNC (optionally with its RPO and interval).

        The array refuses while the replica is INITIALIZING (:class:`~.errors.InvalidState`).
        """
        if to is ReplicationType.SYNC:
            if rpo is not None or sync_interval is not None:
                raise ValueError("rpo and sync_interval apply to ASYNC replicas only")
            body: dict[str, Any] = {}
        elif to is ReplicationType.ASYNC:
            values = {"rpo_value": to_ms(rpo), "sync_interval": to_ms(sync_interval)}
            body = {key: value for key, value in values.items() if value is not None}
        else:
            raise ValueError(f"a replica's type can change to ASYNC or SYNC, not {to}")
        await self._session.call(
            "POST", f"/replicas/{{id}}/change_type_to_{to.value.lower()}", ident=replica_id, body=body
        )

    async def suspend(self, replica_id: int) -> None:
        await self._session.call("POST", "/replicas/{id}/suspend", ident=replica_id)

    async def resume(self, replica_id: int) -> None:
        await self._session.call("POST", "/replicas/{id}/resume", ident=replica_id)

    async def sync_now(self, replica_id: int) -> None:
        """Start an ASYNC replication job now instead of at the next interval."""
        await self._session.call(
            "POST", "/replicas/{id}/sync", ident=replica_id, headers=(("X-INFINIDAT-RAW-RESPONSE", "true"),)
        )

    async def switch_role(self, replica_id: int) -> None:
        """Swap SOURCE and TARGET on both arrays (SYNC replicas; call it on the SOURCE)."""
        await self._session.call("POST", "/replicas/{id}/switch_role", ident=replica_id)

    async def change_role(self, replica_id: int) -> None:
        """Flip this side's role only (failover); the replica must be suspended or its link down."""
        await self._session.call("POST", "/replicas/{id}/change_role", ident=replica_id, body=None)

    async def delete_replica(
        self,
        replica_id: int,
        *,
        options: DeleteOptions | None = None,
        force_on_target: bool = False,
        force_if_remote_error: bool = False,
        force_if_no_remote_credentials: bool = False,
        retain_staging_area: bool | None = None,
        keep_serial_on_local: bool | None = None,
    ) -> Replica | None:
        """Delete a replica (from the SOURCE: its peer too); datasets are never deleted.

        ``options`` says every flag at once; without it the keyword flags make one (an unset
        ``retain_staging_area`` is sent as ``false``). Returns the replica as last seen when
        the array answers with it (with the ids of the snapshots kept by ``retain_staging_area``).
        A replica that is already gone raises :class:`~.errors.NotFound`, also when a
        repeated delete finds its own work done.
        """
        flags = options or DeleteOptions(
            retain_staging_area=bool(retain_staging_area),
            force_if_remote_error=force_if_remote_error,
            force_on_target=force_on_target,
            force_if_no_remote_credentials=force_if_no_remote_credentials,
            keep_serial_on_local=keep_serial_on_local,
        )
        reply = await self._session.call(
            "DELETE", "/replicas/{id}", ident=replica_id, params=flags.to_params()
        )
        if isinstance(reply.result, Mapping):
            return self._parse_item(Replica, reply.result, "/api/rest/replicas/{id}")
        return None

    async def _replica_from(self, result: Any, replica_id: int | None) -> Replica:
        """The replica a POST or PUT answered with, or read back when the answer is not the whole object."""
        if isinstance(result, Mapping):
            ident = result.get("id")
            replica_id = ident if isinstance(ident, int) and not isinstance(ident, bool) else replica_id
            if "entity_type" in result:
                parsed = self._parse_item(Replica, result, _ENDPOINT)
                if parsed is not None:
                    return parsed
        if replica_id is None:
            raise self._invalid("the array did not say which replica it created")
        return await self.get_replica(replica_id)
