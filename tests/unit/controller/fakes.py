"""In-memory collaborators of the controller: a Kubernetes side and arrays, sharing one call log.

No sockets and no threads: the fakes record each call in order, so a test can assert what
was called, with what, and in which order (e.g. the status patch before the role call).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pydantic import SecretStr

from replica_operator.api import CustomResource, InfiniBoxSpec
from replica_operator.array import (
    Capabilities,
    ConsistencyGroup,
    CreateReplicaRequest,
    Dataset,
    DeleteOptions,
    EntityType,
    Feature,
    Link,
    NotFound,
    Pool,
    RemoteCredentials,
    Replica,
    ReplicationType,
    SystemInfo,
)
from replica_operator.controller import Arrays
from replica_operator.kube import KubeError, Listing, SecretData

Call = tuple[Any, ...]


@dataclass
class CallLog:
    calls: list[Call] = field(default_factory=list)

    def add(self, *call: Any) -> None:
        self.calls.append(call)

    def names(self, array: str | None = None) -> list[str]:
        """The method names called, in order (on one array, or everywhere)."""
        return [str(c[1]) for c in self.calls if array is None or c[0] == array]

    def index(self, *prefix: Any) -> int:
        return next(i for i, c in enumerate(self.calls) if c[: len(prefix)] == prefix)

    def clear(self) -> None:
        self.calls.clear()


@dataclass
class FakeKube:
    """The Kubernetes side: one credentials Secret, status patches and Events recorded."""

    log: CallLog
    secrets: dict[tuple[str, str], dict[str, str]] = field(
        default_factory=lambda: {
            ("ops", "ibox-credentials"): {"username": "admin", "password": "unit-pw-7c1e"}
        }
    )
    secret_version: str = "1"
    versions: itertools.count[int] = field(default_factory=lambda: itertools.count(100))
    refuse_status: bool = False
    """Refuse every status patch (as an API server whose admission denies it)."""
    listings: dict[str, Listing] = field(default_factory=dict)
    """What ``list_uids`` answers, by plural (default: a listing that proves nothing)."""
    listed: list[dict[str, Any]] = field(default_factory=list)
    """What ``list_objects`` finds (the selector is the caller's business: see the log)."""
    refuse_list: bool = False
    refuse_volumes: bool = False
    """Refuse to create PersistentVolumes and claims (as an API server without the RBAC for them)."""

    volume_objects: dict[tuple[str, str | None, str], dict[str, Any]] = field(default_factory=dict)
    """Claims and PVs by (kind, namespace or None for a PV, name)."""

    async def list_volume_objects(
        self, kind: str, namespace: str | None, label_selector: str
    ) -> list[dict[str, Any]]:
        """Every object of ``kind`` in ``namespace`` (the selector is the caller's: see the log)."""
        self.log.add("kube", "list_volume_objects", kind, namespace, label_selector)
        return [o for (k, ns, _), o in self.volume_objects.items() if k == kind and ns == namespace]

    async def read_cluster_object(self, resource: str, name: str) -> dict[str, Any] | None:
        self.log.add("kube", "read_cluster_object", resource, name)
        return (
            self.volume_objects.get(("PersistentVolume", None, name))
            if resource == "persistentvolumes"
            else None
        )

    async def read_volume_object(self, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        self.log.add("kube", "read_volume_object", kind, namespace, name)
        return self.volume_objects.get((kind, namespace, name))

    async def create_volume_object(self, manifest: dict[str, Any]) -> None:
        self.log.add("kube", "create_volume_object", manifest["kind"], manifest["metadata"]["name"])
        if self.refuse_volumes:
            raise KubeError(403, f"cannot create {manifest['kind']}: Forbidden")
        meta = manifest["metadata"]
        namespace = meta.get("namespace") if manifest["kind"] != "PersistentVolume" else None
        made = {**manifest, "metadata": {**meta, "uid": f"uid-{meta['name']}"}}
        self.volume_objects.setdefault((manifest["kind"], namespace, meta["name"]), made)  # 409: kept

    async def read_secret(self, namespace: str, name: str) -> SecretData | None:
        self.log.add("kube", "read_secret", namespace, name)
        values = self.secrets.get((namespace, name))
        if values is None:
            return None
        return SecretData(self.secret_version, {key: SecretStr(value) for key, value in values.items()})

    async def patch_status(
        self, resource: CustomResource, namespace: str | None, name: str, status: dict[str, Any]
    ) -> str | None:
        self.log.add("kube", "patch_status", resource.kind, name, status)
        if self.refuse_status:
            raise KubeError(403, f"cannot patch status of {name}: Forbidden")
        return str(next(self.versions))

    async def post_event(self, involved: dict[str, Any], *, type: str, reason: str, message: str) -> None:
        self.log.add("kube", "post_event", reason, message)

    async def list_uids(
        self, resource: CustomResource, namespaces: tuple[str, ...] = (), label_selector: str | None = None
    ) -> Listing:
        self.log.add("kube", "list_uids", resource.plural, namespaces, label_selector)
        return self.listings.get(resource.plural, Listing(frozenset(), "", None))

    async def read_object(self, resource: CustomResource, namespace: str, name: str) -> dict[str, Any] | None:
        self.log.add("kube", "read_object", resource.kind, namespace, name)
        return None

    async def read_volume_objects(
        self, namespace: str, claim: str
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        self.log.add("kube", "read_volume_objects", namespace, claim)
        found = self.volume_objects.get(("PersistentVolumeClaim", namespace, claim))
        volume = ((found or {}).get("spec") or {}).get("volumeName")
        return found, self.volume_objects.get(("PersistentVolume", None, volume)) if volume else None

    async def list_objects(
        self, resource: CustomResource, label_selector: str, namespaces: tuple[str, ...] = ()
    ) -> list[dict[str, Any]]:
        self.log.add("kube", "list_objects", resource.kind, label_selector, namespaces)
        if self.refuse_list:
            raise KubeError(403, f"cannot list {resource.plural}: Forbidden")
        return [body for body in self.listed if body["kind"] == resource.kind]


@dataclass
class FakeArray:
    """One array's objects and the calls made on it; ``fail`` maps a method to the error it raises."""

    name: str
    log: CallLog
    system: str = ""
    serial: int = 1
    datasets: dict[str, Dataset] = field(default_factory=dict)
    groups: dict[str, ConsistencyGroup] = field(default_factory=dict)
    members: dict[int, list[Dataset]] = field(default_factory=dict)
    links: list[Link] = field(default_factory=list)
    pools: dict[str, Pool] = field(default_factory=dict)
    replicas: dict[int, Replica] = field(default_factory=dict)
    fail: dict[str, Exception] = field(default_factory=dict)
    created: list[CreateReplicaRequest] = field(default_factory=list)
    delete_options: list[DeleteOptions | None] = field(default_factory=list)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(500))
    metadata: dict[int, dict[str, str]] = field(default_factory=dict)
    version: str = "7.3"
    features: tuple[str, ...] = ("sync_replication", "filesystem_replicas", "replica_auto_create")

    def _call(self, method: str, *args: Any) -> None:
        self.log.add(self.name, method, *args)
        if method in self.fail:
            raise self.fail[method]

    # -- what the test sets up
    def add_dataset(
        self, name: str, kind: EntityType = EntityType.VOLUME, parent_id: int | None = None
    ) -> Dataset:
        dataset = Dataset(
            id=next(self.ids), name=name, dataset_type=kind.value, parent_id=parent_id, pool_id=11
        )
        self.datasets[name] = dataset
        return dataset

    def add_group(self, name: str, members: tuple[str, ...] = ()) -> ConsistencyGroup:
        group = ConsistencyGroup(id=next(self.ids), name=name)
        self.groups[name] = group
        self.members[group.id] = [self.add_dataset(member) for member in members]
        return group

    def add_replica(self, **fields: Any) -> Replica:
        replica = Replica.model_validate({"id": next(self.ids), "entity_type": "VOLUME", **fields})
        self.replicas[replica.id] = replica
        return replica

    # -- the ArrayClient protocol
    async def login(self) -> None:
        self._call("login")

    async def aclose(self) -> None:
        self.log.add(self.name, "aclose")

    async def get_system(self) -> SystemInfo:
        self._call("get_system")
        return SystemInfo(name=self.system or self.name, serial=self.serial, version="7.3")

    async def read_capabilities(self) -> Capabilities:
        self._call("read_capabilities")
        system = SystemInfo(name=self.system or self.name, serial=self.serial, version=self.version)
        return Capabilities(system=system, features={name: Feature(name, 0) for name in self.features})

    async def list_all_replicas(self) -> list[Replica]:
        self._call("list_all_replicas")
        return list(self.replicas.values())

    async def get_replica(self, replica_id: int) -> Replica:
        self._call("get_replica", replica_id)
        if replica_id not in self.replicas:
            raise NotFound(self.name, f"replica {replica_id} not found", code="REPLICA_NOT_FOUND")
        return self.replicas[replica_id]

    async def find_replicas(
        self,
        *,
        local_entity_id: int | None = None,
        local_cg_id: int | None = None,
        description: str | None = None,
    ) -> list[Replica]:
        if local_cg_id is not None:
            self._call("find_replicas", "local_cg_id", local_cg_id)
            return [r for r in self.replicas.values() if r.local_cg_id == local_cg_id]
        self._call("find_replicas", local_entity_id)
        if description is not None:
            return [r for r in self.replicas.values() if r.description == description]
        return [r for r in self.replicas.values() if r.local_entity_id == local_entity_id]

    async def find_volume(self, name: str) -> Dataset | None:
        self._call("find_volume", name)
        return self.datasets.get(name)

    async def find_filesystem(self, name: str) -> Dataset | None:
        self._call("find_filesystem", name)
        return self.datasets.get(name)

    async def find_snapshot(
        self, name: str, *, entity_type: EntityType = EntityType.VOLUME
    ) -> Dataset | None:
        self._call("find_snapshot", name, entity_type)
        found = self.datasets.get(name)
        return found if found is not None and found.parent_id is not None else None

    async def get_volume(self, volume_id: int) -> Dataset:
        self._call("get_volume", volume_id)
        found = next((d for d in self.datasets.values() if d.id == volume_id), None)
        if found is None:
            raise NotFound(self.name, f"volume {volume_id} not found", code="VOLUME_NOT_FOUND")
        return found

    async def create_consistency_group(self, name: str, pool_id: int) -> ConsistencyGroup:
        self._call("create_consistency_group", name, pool_id)
        group = ConsistencyGroup(id=next(self.ids), name=name, pool_id=pool_id)
        self.groups[name] = group
        self.members[group.id] = []
        return group

    async def delete_consistency_group(self, cg_id: int) -> None:
        self._call("delete_consistency_group", cg_id)
        self.groups = {n: g for n, g in self.groups.items() if g.id != cg_id}

    async def add_cg_member(self, cg_id: int, dataset_id: int) -> None:
        self._call("add_cg_member", cg_id, dataset_id)
        dataset = next(d for d in self.datasets.values() if d.id == dataset_id)
        self.members.setdefault(cg_id, []).append(dataset)

    async def remove_cg_member(self, cg_id: int, dataset_id: int) -> None:
        self._call("remove_cg_member", cg_id, dataset_id)
        self.members[cg_id] = [d for d in self.members.get(cg_id, []) if d.id != dataset_id]

    async def get_metadata_value(self, object_id: int, key: str) -> str | None:
        self._call("get_metadata_value", object_id, key)
        return self.metadata.get(object_id, {}).get(key)

    async def set_metadata(self, object_id: int, values: Mapping[str, str]) -> None:
        self._call("set_metadata", object_id, dict(values))
        self.metadata.setdefault(object_id, {}).update(values)

    async def find_consistency_group(self, name: str) -> ConsistencyGroup | None:
        self._call("find_consistency_group", name)
        return self.groups.get(name)

    async def list_cg_members(self, cg_id: int) -> list[Dataset]:
        self._call("list_cg_members", cg_id)
        return self.members.get(cg_id, [])

    async def list_links(self) -> list[Link]:
        self._call("list_links")
        return self.links

    async def find_pool(self, name: str) -> Pool | None:
        self._call("find_pool", name)
        return self.pools.get(name)

    async def create_replica(self, request: CreateReplicaRequest) -> Replica:
        self._call("create_replica", request)
        self.created.append(request)
        pair = request.entity_pairs[0]
        return self.add_replica(
            entity_type=request.entity_type.value,
            role="SOURCE",
            state="ACTIVE",
            sync_state="INITIALIZING",
            replication_type=request.replication_type.value,
            description=request.description,
            local_entity_id=pair.local_entity_id,
            local_cg_id=request.local_cg_id,
            link_id=request.link_id,
        )

    async def update_replica(
        self,
        replica_id: int,
        *,
        rpo: timedelta | None = None,
        sync_interval: timedelta | None = None,
        description: str | None = None,
    ) -> Replica:
        self._call("update_replica", replica_id, rpo, sync_interval)
        if description is not None:
            self.replicas[replica_id] = self.replicas[replica_id].model_copy(
                update={"description": description}
            )
        return self.replicas[replica_id]

    async def change_type(
        self,
        replica_id: int,
        to: ReplicationType,
        *,
        rpo: timedelta | None = None,
        sync_interval: timedelta | None = None,
    ) -> None:
        self._call("change_type", replica_id, to, rpo, sync_interval)

    async def suspend(self, replica_id: int) -> None:
        self._call("suspend", replica_id)

    async def resume(self, replica_id: int) -> None:
        self._call("resume", replica_id)

    async def sync_now(self, replica_id: int) -> None:
        self._call("sync_now", replica_id)

    async def switch_role(self, replica_id: int) -> None:
        self._call("switch_role", replica_id)

    async def change_role(self, replica_id: int) -> None:
        self._call("change_role", replica_id)

    async def delete_replica(
        self, replica_id: int, *, options: DeleteOptions | None = None
    ) -> Replica | None:
        self._call("delete_replica", replica_id, (options or DeleteOptions()).force_on_target)
        self.delete_options.append(options)
        return self.replicas.pop(replica_id, None)


def infinibox_body(name: str) -> dict[str, Any]:
    """An InfiniBox object as the kopf index holds it (loopback URL: nothing ever connects)."""
    return {
        "apiVersion": "replication.infinibox.io/v1alpha1",
        "kind": "InfiniBox",
        "metadata": {"name": name, "resourceVersion": "7"},
        "spec": {
            "url": "https://127.0.0.1:1",
            "credentialsSecretRef": {"name": "ibox-credentials", "namespace": "ops"},
        },
    }


@dataclass
class World:
    """Two fake arrays (``ibox-1`` -> ``ibox-2`` over one link), a fake Kubernetes, the real registry."""

    log: CallLog = field(default_factory=CallLog)
    arrays: dict[str, FakeArray] = field(init=False)
    kube: FakeKube = field(init=False)
    registry: Arrays = field(init=False)

    def __post_init__(self) -> None:
        self.kube = FakeKube(self.log)
        self.arrays = {name: FakeArray(name, self.log) for name in ("ibox-1", "ibox-2")}
        self.arrays["ibox-2"].serial = 2  # two systems: one system behind both names blocks deletion
        self.arrays["ibox-1"].links.append(Link(id=7, name="to-ibox-2", remote_system_name="ibox-2"))
        self.arrays["ibox-2"].pools["pool-1"] = Pool(id=31, name="pool-1")
        self.registry = Arrays(self.kube, client_factory=self._client)
        self.clients_made: list[str] = []
        self.remote_credentials: dict[str, RemoteCredentials | None] = {}

    def _client(
        self,
        name: str,
        spec: InfiniBoxSpec,
        username: str,
        password: SecretStr,
        ca_pem: str | None,
        *,
        remote_credentials: RemoteCredentials | None = None,
    ) -> FakeArray:
        assert username == "admin"  # the factory receives what the Secret holds
        self.clients_made.append(name)
        self.remote_credentials[name] = remote_credentials
        return self.arrays[name]

    def lookup(self, name: str) -> dict[str, Any] | None:
        return infinibox_body(name) if name in self.arrays else None

    async def connect(self) -> None:
        """Connect and list both arrays, as the first poll does."""
        for name in self.arrays:
            await self.registry.ensure_polled(name, infinibox_body(name))
