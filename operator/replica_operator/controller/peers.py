"""The peer array's credentials, for arrays that ask for them (``403 REMOTE_PERMISSION_REQUIRED``).

infinisdk answers that refusal by repeating the request with an ``X-Remote-Authorization``
header built from the peer's login (infinisdk 289.1.4 ``core/api/api.py``). The operator
holds every array's login in its InfiniBox object's Secret, so for a link it finds the
InfiniBox whose system is the link's remote system (by serial number, else by name) and
reads that one Secret: only that peer's credentials, and only when an array asks.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

import httpx

from replica_operator.array import Link, PeerCredentials, RemoteCredentials
from replica_operator.kube import KubeError

from .ports import KubeSide

if TYPE_CHECKING:
    from .connections import ArrayConnection

log = logging.getLogger(__name__)


class PeerLogins:
    """Finds, for one array's link, the login of the array at its other end."""

    def __init__(self, kube: KubeSide, connections: Mapping[str, ArrayConnection]) -> None:
        self._kube = kube
        self._connections = connections

    def for_array(self, name: str) -> RemoteCredentials:
        """The ``remote_credentials`` callable of array ``name``'s client."""

        async def lookup(link: Link) -> PeerCredentials | None:
            return await self.credentials(name, link)

        return lookup

    def peer_of(self, name: str, link: Link) -> ArrayConnection | None:
        """The connection (other than ``name``) whose system is the link's remote system."""
        for connection in self._connections.values():
            system = connection.system
            if connection.name == name or system is None or connection.spec is None:
                continue
            if link.remote_system_serial_number is not None:
                if system.serial == link.remote_system_serial_number:
                    return connection
            elif link.remote_system_name is not None and system.name == link.remote_system_name:
                return connection
        return None

    async def credentials(self, name: str, link: Link) -> PeerCredentials | None:
        """The peer's login from its Secret, read now; None when no InfiniBox object is that peer."""
        peer = self.peer_of(name, link)
        if peer is None or peer.spec is None:
            log.warning(
                "array %s: asked for the credentials of the peer over link %s; none known", name, link.name
            )
            return None
        ref = peer.spec.credentials_secret_ref
        try:
            secret = await self._kube.read_secret(ref.namespace, ref.name)
        except KubeError as error:
            log.warning(
                "array %s: the peer's Secret %s/%s is unreadable: %s", name, ref.namespace, ref.name, error
            )
            return None
        username = secret.get("username") if secret is not None else None
        password = secret.get("password") if secret is not None else None
        if username is None or password is None:
            return None
        log.info("array %s: sending the credentials of %s, as the array asked", name, peer.name)
        address = httpx.URL(peer.spec.url).host
        return PeerCredentials(address=address, username=username.get_secret_value(), password=password)
