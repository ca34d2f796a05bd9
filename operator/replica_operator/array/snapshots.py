"""Writable snapshots for DR drills (issue 18): create one of a volume, delete it again; the same
for a snapshot group of a consistency group.

As infinisdk's ``Volume.create_snapshot(name=..., write_protected=False)`` does
(``infinisdk/infinibox/dataset.py`` ``_create_child``: ``POST /volumes`` with ``name`` and
``parent_id``, plus the creation fields given): a snapshot is a volume with a ``parent_id``.
"""

from __future__ import annotations

from replica_operator.array.listing import ReadingCore
from replica_operator.array.models import ConsistencyGroup, Volume

__all__ = ["SnapshotsMixin"]


class SnapshotsMixin(ReadingCore):
    async def create_snapshot(self, parent_id: int, name: str, *, write_protected: bool = False) -> Volume:
        """A snapshot of volume ``parent_id`` (writable unless asked otherwise). Not repeated on a lost
        answer (a POST): the caller finds it again by its name."""
        body = {"name": name, "parent_id": parent_id, "write_protected": write_protected}
        reply = await self._session.call("POST", "/volumes", body=body)
        return self._parse(Volume, reply.result)

    async def delete_snapshot(self, snapshot_id: int) -> None:
        """Delete one snapshot by id (the caller checked it is a snapshot it made)."""
        await self._session.call("DELETE", "/volumes/{id}", ident=snapshot_id)

    async def create_snapshot_group(self, cg_id: int, name: str) -> ConsistencyGroup:
        """A snapshot group of consistency group ``cg_id``: one snapshot per member, taken together.
        As infinisdk's ``ConsGroup.create_snapgroup(name=...)``: ``POST /cgs`` with ``name`` and
        ``parent_id`` (infinibox-api.md, "Snapshot group"). Not repeated on a lost answer: the caller
        finds it again by name."""
        reply = await self._session.call("POST", "/cgs", body={"name": name, "parent_id": cg_id})
        return self._parse(ConsistencyGroup, reply.result)

    async def delete_snapshot_group(self, sg_id: int) -> None:
        """Delete a snapshot group with its member snapshots (``delete_members=true``; the caller
        checked it is the snapshot group it made)."""
        params = (("delete_members", "true"),)
        await self._session.call("DELETE", "/cgs/{id}", ident=sg_id, params=params)

    async def unprotect(self, snapshot_id: int) -> None:
        """Make a snapshot writable (``PUT /volumes/<id> {"write_protected": false}``): a member of a
        snapshot group the drill made, should the array have made it write-protected."""
        body = {"write_protected": False}
        await self._session.call("PUT", "/volumes/{id}", ident=snapshot_id, body=body)
