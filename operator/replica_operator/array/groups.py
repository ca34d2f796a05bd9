"""Consistency groups the operator makes and owns (issue 17: a claim selector's group), as
infinisdk's ``ConsGroup`` does it (infinibox-api.md §5.4), and the object metadata that marks
them as ours (§9: CGs are metadata holders, they have no description field).

Member changes are not repeated by the session on a lost answer when they are POSTs; the
caller re-reads the members before acting again.
"""

from __future__ import annotations

from collections.abc import Mapping

from replica_operator.array.errors import NotFound
from replica_operator.array.listing import ReadingCore
from replica_operator.array.models import ConsistencyGroup

__all__ = ["GroupsMixin"]


class GroupsMixin(ReadingCore):
    async def create_consistency_group(self, name: str, pool_id: int) -> ConsistencyGroup:
        """``POST cgs`` ``{name, pool_id}`` (its members must be datasets of that pool)."""
        reply = await self._session.call("POST", "/cgs", body={"name": name, "pool_id": pool_id})
        return self._parse(ConsistencyGroup, reply.result)

    async def delete_consistency_group(self, cg_id: int) -> None:
        """Delete a group, never its members (``delete_members=false``: the datasets stay)."""
        await self._session.call("DELETE", "/cgs/{id}", ident=cg_id, params=(("delete_members", "false"),))

    async def add_cg_member(self, cg_id: int, dataset_id: int) -> None:
        """``POST cgs/<id>/members`` ``{"dataset_id"}``: infinisdk's ``ConsGroup.add_member(member)``
        without ``remote_entity`` (its docstring: ``remote_entity`` "assuming this CG is currently
        being replicated, specifies the remote entity", so without it the array makes one)."""
        await self._session.call("POST", "/cgs/{id}/members", ident=cg_id, body={"dataset_id": dataset_id})

    async def remove_cg_member(self, cg_id: int, dataset_id: int) -> None:
        """``DELETE cgs/<id>/members/<dataset id>``, as infinisdk's ``remove_member(member)`` with its
        defaults (it sends a flag only when true: no staging area kept, no replica of its own made):
        the dataset leaves the group and its replication; its counterpart on the target leaves the
        remote group and stays (replication never deletes datasets)."""
        await self._session.call("DELETE", "/cgs/{id}/members/{member}", ident=cg_id, member=dataset_id)

    async def get_metadata_value(self, object_id: int, key: str) -> str | None:
        """One metadata key of an object (``GET metadata/<id>/<key>``), None when it has none."""
        try:
            reply = await self._session.call("GET", f"/metadata/{{id}}/{key}", ident=object_id)
        except NotFound:
            return None
        value = reply.result.get("value") if isinstance(reply.result, Mapping) else None
        return value if isinstance(value, str) else None

    async def set_metadata(self, object_id: int, values: Mapping[str, str]) -> None:
        """Set (upsert) metadata keys of an object (``PUT metadata/<id>``)."""
        await self._session.call("PUT", "/metadata/{id}", ident=object_id, body=dict(values))
