"""What the controller needs from its collaborators, as protocols.

The reconciler and the registry are written against these, not against the concrete
``InfiniBoxClient`` and ``Kube``, so the controller's unit tests run on in-memory fakes
(tests/unit/controller) while the operator passes the real ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import SecretStr

from replica_operator.api import CustomResource, InfiniBoxSpec
from replica_operator.array import (
    Capabilities,
    ConsistencyGroup,
    CreateReplicaRequest,
    Dataset,
    DeleteOptions,
    EntityType,
    Link,
    Pool,
    RemoteCredentials,
    Replica,
    ReplicationType,
    SystemInfo,
)
from replica_operator.kube import Listing, SecretData

if TYPE_CHECKING:
    from .connections import ArrayConnection

InfiniBoxLookup = Callable[[str], Mapping[str, Any] | None]
"""Find an InfiniBox object's body by name (the kopf index), or None when there is none."""


class ArrayClient(Protocol):
    """The calls the controller makes on one array (``replica_operator.array.InfiniBoxClient``)."""

    async def login(self) -> None: ...
    async def aclose(self) -> None: ...
    async def get_system(self) -> SystemInfo: ...
    async def read_capabilities(self) -> Capabilities: ...
    async def list_all_replicas(self) -> list[Replica]: ...
    async def get_replica(self, replica_id: int) -> Replica: ...
    async def get_volume(self, volume_id: int) -> Dataset: ...
    async def get_filesystem(self, filesystem_id: int) -> Dataset: ...
    async def find_replicas(
        self,
        *,
        local_entity_id: int | None = None,
        local_cg_id: int | None = None,
        description: str | None = None,
    ) -> list[Replica]: ...
    async def find_volume(self, name: str) -> Dataset | None: ...
    async def create_snapshot(self, parent_id: int, name: str, *, write_protected: bool = ...) -> Dataset: ...
    async def delete_snapshot(self, snapshot_id: int) -> None: ...
    async def create_snapshot_group(self, cg_id: int, name: str) -> ConsistencyGroup: ...
    async def delete_snapshot_group(self, sg_id: int) -> None: ...
    async def unprotect(self, snapshot_id: int) -> None: ...
    async def find_filesystem(self, name: str) -> Dataset | None: ...
    async def find_snapshot(self, name: str, *, entity_type: EntityType = ...) -> Dataset | None: ...
    async def find_consistency_group(self, name: str) -> ConsistencyGroup | None: ...
    async def list_cg_members(self, cg_id: int) -> Sequence[Dataset]: ...
    async def list_links(self) -> list[Link]: ...
    async def find_pool(self, name: str) -> Pool | None: ...
    async def create_replica(self, request: CreateReplicaRequest) -> Replica: ...
    async def update_replica(
        self,
        replica_id: int,
        *,
        rpo: timedelta | None = None,
        sync_interval: timedelta | None = None,
        description: str | None = None,
    ) -> Replica: ...
    async def change_type(
        self,
        replica_id: int,
        to: ReplicationType,
        *,
        rpo: timedelta | None = None,
        sync_interval: timedelta | None = None,
    ) -> None: ...
    async def suspend(self, replica_id: int) -> None: ...
    async def resume(self, replica_id: int) -> None: ...
    async def sync_now(self, replica_id: int) -> None: ...
    async def switch_role(self, replica_id: int) -> None: ...
    async def change_role(self, replica_id: int) -> None: ...
    async def delete_replica(
        self, replica_id: int, *, options: DeleteOptions | None = None
    ) -> Replica | None: ...


class ClientFactory(Protocol):
    """Builds the client of one array from its InfiniBox spec and credentials (no I/O yet).

    ``remote_credentials`` finds a peer array's credentials for a link, for the arrays that
    answer ``403 REMOTE_PERMISSION_REQUIRED`` (see ``replica_operator.array.remote``).
    """

    def __call__(
        self,
        name: str,
        spec: InfiniBoxSpec,
        username: str,
        password: SecretStr,
        ca_pem: str | None,
        *,
        remote_credentials: RemoteCredentials | None = None,
    ) -> ArrayClient: ...


class KubeSide(Protocol):
    """The Kubernetes calls the controller makes besides kopf's (``replica_operator.kube.Kube``)."""

    async def read_secret(self, namespace: str, name: str) -> SecretData | None: ...

    async def patch_status(
        self, resource: CustomResource, namespace: str | None, name: str, status: dict[str, Any]
    ) -> str | None: ...

    async def post_event(self, involved: dict[str, Any], *, type: str, reason: str, message: str) -> None: ...

    async def list_uids(
        self, resource: CustomResource, namespaces: tuple[str, ...] = (), label_selector: str | None = None
    ) -> Listing: ...

    async def read_object(
        self, resource: CustomResource, namespace: str, name: str
    ) -> dict[str, Any] | None: ...

    async def list_objects(
        self, resource: CustomResource, label_selector: str, namespaces: tuple[str, ...] = ()
    ) -> list[dict[str, Any]]: ...

    async def read_volume_objects(
        self, namespace: str, claim: str
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]: ...

    async def read_cluster_object(self, resource: str, name: str) -> dict[str, Any] | None: ...

    async def create_volume_object(self, manifest: dict[str, Any]) -> None: ...

    async def delete_volume_object(self, kind: str, name: str, namespace: str | None = None) -> None: ...


class Registry(Protocol):
    """The array connections the reconciler works with (``controller.connections.Arrays``)."""

    def get(self, name: str) -> ArrayConnection | None: ...

    async def ensure_polled(self, name: str, body: Mapping[str, Any]) -> ArrayConnection: ...

    async def link(
        self, connection: ArrayConnection, name: str | None, remote: ArrayConnection | None
    ) -> Link: ...

    async def pool_id(self, connection: ArrayConnection, name: str) -> int: ...

    def forget_lookups(self, connection: ArrayConnection) -> None: ...
