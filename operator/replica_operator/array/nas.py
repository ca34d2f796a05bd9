"""What a drill of a filesystem replica needs for an NFS claim (issue 18): a writable snapshot of the
filesystem, an export of it, and an address of the DR array's NAS network space.

As infinibox-csi-driver makes an NFS volume from a snapshot (``storage/nfs/nfscontroller.go``
``createVolumeFromPVCSource``): a filesystem snapshot with ``write_protected: false``, then
``createExportPath``: ``POST /exports`` with ``filesystem_id``, ``export_path``,
``transport_protocols: "TCP"``, ``privileged_port``, ``snapdir_visible``, ``permissions``; the
PV's ``ipAddress`` is an IP of the StorageClass's ``network_space`` (``GetNetworkSpaceIP``: the
driver picks one at random; here the first enabled one).
"""

from __future__ import annotations

from typing import Any

from replica_operator.array.listing import ReadingCore
from replica_operator.array.models import Filesystem, Flag, _ArrayModel
from replica_operator.array.query import eq

__all__ = ["Export", "NasMixin", "NetworkSpace"]


class Export(_ArrayModel):
    id: int
    filesystem_id: int
    export_path: str


class NetworkSpace(_ArrayModel):
    id: int
    name: str
    service: str | None = None
    ips: tuple[dict[str, Any], ...] = ()
    enabled: Flag = True

    def first_ip(self) -> str | None:
        """The first enabled address of the space (None: it has none)."""
        for ip in self.ips:
            if ip.get("enabled", True) and ip.get("ip_address"):
                return str(ip["ip_address"])
        return None


class NasMixin(ReadingCore):
    async def create_filesystem_snapshot(self, parent_id: int, name: str) -> Filesystem:
        """A writable snapshot of filesystem ``parent_id``. Not repeated on a lost answer (a POST):
        the caller finds it again by its name."""
        body = {"name": name, "parent_id": parent_id, "write_protected": False}
        reply = await self._session.call("POST", "/filesystems", body=body)
        return self._parse(Filesystem, reply.result)

    async def delete_filesystem_snapshot(self, snapshot_id: int) -> None:
        """Delete one filesystem snapshot by id (the caller checked it is one it made)."""
        await self._session.call("DELETE", "/filesystems/{id}", ident=snapshot_id)

    async def find_export(self, path: str) -> Export | None:
        found = await self._page(
            "/exports", self._parser(Export), filters={"export_path": eq(path)}, page=1, page_size=1
        )
        return found.items[0] if found.items else None

    async def find_export_of(self, filesystem_id: int) -> Export | None:
        """An export of ``filesystem_id`` (the first one the array lists), or None."""
        found = await self._page(
            "/exports",
            self._parser(Export),
            filters={"filesystem_id": eq(filesystem_id)},
            page=1,
            page_size=1,
        )
        return found.items[0] if found.items else None

    async def create_export(self, filesystem_id: int, path: str) -> Export:
        """An NFS export of ``filesystem_id`` at ``path``, no client rules: the driver's
        ControllerPublishVolume adds the node's address when a pod mounts the claim."""
        body = {
            "filesystem_id": filesystem_id,
            "export_path": path,
            "transport_protocols": "TCP",
            "privileged_port": False,
            "snapdir_visible": False,
            "permissions": [],
        }
        reply = await self._session.call("POST", "/exports", body=body)
        return self._parse(Export, reply.result)

    async def delete_export(self, export_id: int) -> None:
        await self._session.call("DELETE", "/exports/{id}", ident=export_id)

    async def find_network_space(self, name: str) -> NetworkSpace | None:
        return await self._find("/network/spaces", self._parser(NetworkSpace), name)
