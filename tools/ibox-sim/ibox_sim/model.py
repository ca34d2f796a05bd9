"""The in-memory world: simulated systems and the objects on them.

Plain pydantic models, so the whole world saves to and loads from the state file as
JSON. Values that follow from others (``rmr_source``, ``has_children``, counts, names of
related objects, replica state) are not stored; :mod:`ibox_sim.render` and
:mod:`ibox_sim.replicas.render` derive them.
Times are seconds since the epoch on the simulator clock; the API shows milliseconds.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from ibox_sim.config import SimConfig
from ibox_sim.state import ReplicationSession

DatasetKind = Literal["VOLUME", "FILESYSTEM"]
EntityType = Literal["VOLUME", "FILESYSTEM", "CONSISTENCY_GROUP"]
Role = Literal["SOURCE", "TARGET"]

#: The version every simulated system reports (>= 4.0: sync replication; >= 3.0: job states).
SYSTEM_VERSION = "7.3.10.0"


class Pool(BaseModel):
    id: int
    name: str
    created_at: float
    updated_at: float
    physical_capacity: int
    virtual_capacity: int
    physical_capacity_warning: int = 80
    physical_capacity_critical: int = 90
    ssd_enabled: bool = True
    compression_enabled: bool = True
    max_extend: int = -1
    type: str = "STANDARD"
    state: str = "NORMAL"


class Dataset(BaseModel):
    """A volume or filesystem; a snapshot is a dataset with a ``parent_id``."""

    id: int
    kind: DatasetKind
    name: str
    size: int
    pool_id: int
    provtype: str = "THICK"
    parent_id: int = 0
    family_id: int
    depth: int = 0
    created_at: float
    updated_at: float
    cg_id: int | None = None
    write_protected: bool = False
    #: Mapped to a host (a LUN). The simulator has no hosts: ``PUT /_sim/volumes/{system}/{id}/mapped``.
    mapped: bool = False
    ssd_enabled: bool = True
    compression_enabled: bool = True
    lock_expires_at: int | None = None
    snapshot_retention: int | None = None
    child_ids: list[int] = []
    #: Replicas on this system that replicate this dataset (directly or through its CG).
    replica_ids: list[int] = []

    @property
    def is_snapshot(self) -> bool:
        return self.parent_id != 0


class ConsGroup(BaseModel):
    """A consistency group, or a snapshot group (``parent_id`` set) of snapshots of its members."""

    id: int
    name: str
    pool_id: int
    parent_id: int = 0
    created_at: float
    updated_at: float
    member_ids: list[int] = []
    child_ids: list[int] = []
    replica_ids: list[int] = []
    lock_expires_at: int | None = None
    snapshot_retention: int | None = None


class NetworkSpace(BaseModel):
    id: int
    name: str
    service: str
    network_config: dict[str, Any] = {}
    interfaces: list[int] = []
    ips: list[dict[str, Any]] = []
    mtu: int = 9000
    rate_limit: int | None = None
    properties: dict[str, Any] = {}
    automatic_ip_failback: bool = False
    created_at: float = 0.0


class Export(BaseModel):
    """An NFS export of a filesystem (or of a filesystem snapshot)."""

    id: int
    filesystem_id: int
    export_path: str
    permissions: list[dict[str, Any]] = []
    transport_protocols: str = "TCP"
    privileged_port: bool = False
    snapdir_visible: bool = False
    enabled: bool = True
    created_at: float = 0.0


class Link(BaseModel):
    id: int
    name: str
    local_replication_network_space_id: int | None
    remote_host: str
    #: Name of the simulated system at the other end (None: nothing answers at remote_host).
    remote_system: str | None = None
    remote_link_id: int | None = None
    remote_replication_network_space_id: int | None = None
    #: The link's connectivity, switched by ``PUT /_sim/links/...``.
    up: bool = True
    created_at: float
    last_connection_timestamp: float


class Pair(BaseModel):
    """One (local dataset, remote dataset) pair of a replica, as seen from its side."""

    id: int
    local_entity_id: int
    remote_entity_id: int
    local_base_action: str | None = None
    remote_base_action: str | None = None
    local_base_entity_id: int | None = None
    remote_base_entity_id: int | None = None
    remote_pair_id: int | None = None


class Replica(BaseModel):
    id: int
    session_id: int
    role: Role
    link_id: int
    peer_system: str
    remote_replica_id: int
    entity_type: EntityType
    pairs: list[Pair]
    local_cg_id: int | None = None
    remote_cg_id: int | None = None
    remote_pool_id: int | None = None
    description: str | None = None
    base_action: str | None = None
    created_at: float
    updated_at: float
    permanent_failure_wait_interval: int = 86_400_000
    temporary_failure_retry_interval: int = 300_000
    temporary_failure_retry_count: int = 3
    including_snapshots: bool = False
    snapshots_retention: int | None = None
    remote_snapshot_suffix: str | None = None
    lock_remote_snapshot_retention: int | None = None
    #: Fields shown instead of the rendered ones (``PUT /_sim/replicas/.../fields``), for odd values.
    overrides: dict[str, Any] = {}


class MetadataEntry(BaseModel):
    """One key of an object's metadata (``PUT metadata/<object id>``)."""

    id: int
    key: str
    value: str


class System(BaseModel):
    """One simulated InfiniBox and everything on it; ids are unique across its collections."""

    name: str
    index: int
    serial: int
    version: str = SYSTEM_VERSION
    next_id: int
    pools: dict[int, Pool] = {}
    volumes: dict[int, Dataset] = {}
    filesystems: dict[int, Dataset] = {}
    cgs: dict[int, ConsGroup] = {}
    network_spaces: dict[int, NetworkSpace] = {}
    exports: dict[int, Export] = {}
    links: dict[int, Link] = {}
    replicas: dict[int, Replica] = {}
    #: Object id -> its metadata keys (replicas are not metadata holders).
    metadata: dict[int, dict[str, MetadataEntry]] = {}

    def allocate_id(self) -> int:
        ident = self.next_id
        self.next_id += 1
        return ident

    def datasets(self, kind: DatasetKind) -> dict[int, Dataset]:
        return self.volumes if kind == "VOLUME" else self.filesystems

    def dataset(self, ident: int) -> Dataset | None:
        """A volume or filesystem (or snapshot of either) by id."""
        return self.volumes.get(ident) or self.filesystems.get(ident)


class World(BaseModel):
    """Every system plus the replication sessions shared between their replicas."""

    format: int = 1
    systems: dict[str, System] = {}
    sessions: dict[int, ReplicationSession] = {}
    next_session_id: int = 1
    #: Sessions waiting for an initialization slot, oldest first (``max_concurrent_inits``).
    pending: list[int] = []
    config: SimConfig = Field(default_factory=SimConfig)

    def system(self, name: str) -> System:
        return self.systems[name]
