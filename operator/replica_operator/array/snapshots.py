"""Writable snapshots for DR drills (issue 18): create one of a volume, delete it again.

As infinisdk's ``Volume.create_snapshot(name=..., write_protected=False)`` does
(``infinisdk/infinibox/dataset.py`` ``_create_child``: ``POST /volumes`` with ``name`` and
``parent_id``, plus the creation fields given): a snapshot is a volume with a ``parent_id``.
"""

from __future__ import annotations

from replica_operator.array.listing import ReadingCore
from replica_operator.array.models import Volume

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
