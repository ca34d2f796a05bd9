"""Finding what a replica is made of: the system, pools, datasets, consistency groups and links.

Look-ups by name send ``name=eq:<name>&page=1&page_size=1``, as infinisdk's ``get(name=...)``
does (infinibox-api.md §7); reads by id use ``GET /<collection>/<id>``.
"""

from __future__ import annotations

from pydantic import ValidationError

from replica_operator.array.capabilities import Capabilities, features_from
from replica_operator.array.errors import NotFound
from replica_operator.array.listing import Listing, ReadingCore
from replica_operator.array.models import (
    ConsistencyGroup,
    EntityType,
    Filesystem,
    Link,
    Pool,
    SystemInfo,
    Volume,
)

__all__ = ["LookupsMixin"]


class LookupsMixin(ReadingCore):
    _capabilities: Capabilities | None

    async def get_system(self) -> SystemInfo:
        reply = await self._session.call("GET", "/system")
        try:
            return SystemInfo.model_validate(reply.result)
        except ValidationError:
            raise self._invalid("unexpected SystemInfo from the array") from None

    async def read_capabilities(self) -> Capabilities:
        """The version and features, read now (``GET _features``, then ``GET system``) and kept.

        As infinisdk's ``compat``: a 404 for ``_features`` (old arrays) means no features.
        Call it once when connecting; :attr:`capabilities` then answers without I/O.
        """
        try:
            features = features_from((await self._session.call("GET", "/_features")).result)
        except NotFound:
            features = {}
        self._capabilities = Capabilities(system=await self.get_system(), features=features)
        return self._capabilities

    @property
    def capabilities(self) -> Capabilities | None:
        """What :meth:`read_capabilities` last read (None before it ran)."""
        return self._capabilities

    async def find_pool(self, name: str) -> Pool | None:
        return await self._find("/pools", self._parser(Pool), name)

    async def get_pool(self, pool_id: int) -> Pool:
        return self._parse(Pool, (await self._session.call("GET", "/pools/{id}", ident=pool_id)).result)

    async def find_volume(self, name: str) -> Volume | None:
        return await self._find("/volumes", self._parser(Volume), name)

    async def get_volume(self, volume_id: int) -> Volume:
        return self._parse(Volume, (await self._session.call("GET", "/volumes/{id}", ident=volume_id)).result)

    async def find_filesystem(self, name: str) -> Filesystem | None:
        return await self._find("/filesystems", self._parser(Filesystem), name)

    async def get_filesystem(self, filesystem_id: int) -> Filesystem:
        reply = await self._session.call("GET", "/filesystems/{id}", ident=filesystem_id)
        return self._parse(Filesystem, reply.result)

    async def find_snapshot(
        self, name: str, *, entity_type: EntityType = EntityType.VOLUME
    ) -> Volume | Filesystem | None:
        """A snapshot of a volume or filesystem by name (None if absent, or if ``name`` is not a snapshot)."""
        if entity_type is EntityType.VOLUME:
            found: Volume | Filesystem | None = await self.find_volume(name)
        elif entity_type is EntityType.FILESYSTEM:
            found = await self.find_filesystem(name)
        else:
            raise ValueError(f"snapshots are of volumes or filesystems, not {entity_type}")
        return found if found is not None and found.is_snapshot else None

    async def find_consistency_group(self, name: str) -> ConsistencyGroup | None:
        return await self._find("/cgs", self._parser(ConsistencyGroup), name)

    async def get_consistency_group(self, cg_id: int) -> ConsistencyGroup:
        reply = await self._session.call("GET", "/cgs/{id}", ident=cg_id)
        return self._parse(ConsistencyGroup, reply.result)

    async def list_cg_members(self, cg_id: int) -> list[Volume | Filesystem]:
        listing: Listing[Volume | Filesystem] = await self._listing(
            "/cgs/{id}/members", self._dataset, ident=cg_id
        )
        return listing.items

    async def find_link(self, name: str) -> Link | None:
        return await self._find("/links", self._parser(Link), name)

    async def get_link(self, link_id: int) -> Link:
        return self._parse(Link, (await self._session.call("GET", "/links/{id}", ident=link_id)).result)

    async def list_links(self) -> list[Link]:
        return (await self._listing("/links", self._parser(Link))).items
