"""The InfiniBox array client: the only code in the operator that talks to arrays.

::

    from replica_operator.array import CreateReplicaRequest, DeleteOptions, EntityType, InfiniBoxClient

    async with InfiniBoxClient(url, username=user, password=password, ca_pem=ca, name="ibox-1",
                               remote_credentials=peer_login) as array:
        capabilities = await array.read_capabilities()       # version and features, once
        volume = await array.find_volume("db-data")
        link = await array.find_link("to-ibox-2")
        request = CreateReplicaRequest.create_target(
            link_id=link.id, entity_type=EntityType.VOLUME, local_entity_id=volume.id,
            remote_pool_id=remote_pool.id, rpo=timedelta(minutes=5), description=owner_tag,
        )
        try:
            replica = await array.create_replica(request)
        except OutcomeUnknown:
            replica = next(iter(await array.find_replicas(description=owner_tag)), None)
        ...
        await array.delete_replica(replica.id, options=DeleteOptions.for_delete_policy())

``peer_login(link)`` returns the peer array's :class:`PeerCredentials` (or None); they are
sent only when an array answers ``403 REMOTE_PERMISSION_REQUIRED`` (:mod:`.remote`).
"""

from replica_operator.array.capabilities import ArrayVersion, Capabilities, Feature
from replica_operator.array.client import DEFAULT_TIMEOUT, InfiniBoxClient
from replica_operator.array.errors import (
    ArrayError,
    BadRequest,
    Conflict,
    InvalidState,
    NotFound,
    OutcomeUnknown,
    RemoteAuthorizationRequired,
    Unauthorized,
    Unavailable,
)
from replica_operator.array.listing import Listing
from replica_operator.array.models import (
    ConsistencyGroup,
    Dataset,
    EntityPair,
    EntityType,
    Filesystem,
    JobState,
    Link,
    LinkState,
    Page,
    Pool,
    Replica,
    ReplicaJob,
    ReplicaPage,
    ReplicaState,
    ReplicationType,
    Role,
    SyncState,
    SystemInfo,
    Volume,
)
from replica_operator.array.nas import Export, NetworkSpace
from replica_operator.array.observe import Observer, RequestRecord
from replica_operator.array.parsing import ParseIssue
from replica_operator.array.query import Filter, Filters, eq, in_, is_null, like, ne, not_null
from replica_operator.array.remote import PeerCredentials, RemoteCredentials
from replica_operator.array.replicas import DeleteOptions
from replica_operator.array.requests import (
    DEFAULT_RPO,
    DEFAULT_SYNC_INTERVAL,
    BaseAction,
    CreateReplicaRequest,
    EntityPairRequest,
    ReplicationOptions,
    SnapshotBase,
)
from replica_operator.array.retry import RetryPolicy
from replica_operator.array.session import user_agent

__all__ = [
    "DEFAULT_RPO",
    "DEFAULT_SYNC_INTERVAL",
    "DEFAULT_TIMEOUT",
    "ArrayError",
    "ArrayVersion",
    "BadRequest",
    "BaseAction",
    "Capabilities",
    "Conflict",
    "ConsistencyGroup",
    "CreateReplicaRequest",
    "Dataset",
    "DeleteOptions",
    "EntityPair",
    "EntityPairRequest",
    "EntityType",
    "Export",
    "Feature",
    "Filesystem",
    "Filter",
    "Filters",
    "InfiniBoxClient",
    "InvalidState",
    "JobState",
    "Link",
    "LinkState",
    "Listing",
    "NetworkSpace",
    "NotFound",
    "Observer",
    "OutcomeUnknown",
    "Page",
    "ParseIssue",
    "PeerCredentials",
    "Pool",
    "RemoteAuthorizationRequired",
    "RemoteCredentials",
    "Replica",
    "ReplicaJob",
    "ReplicaPage",
    "ReplicaState",
    "ReplicationOptions",
    "ReplicationType",
    "RequestRecord",
    "RetryPolicy",
    "Role",
    "SnapshotBase",
    "SyncState",
    "SystemInfo",
    "Unauthorized",
    "Unavailable",
    "Volume",
    "eq",
    "in_",
    "is_null",
    "like",
    "ne",
    "not_null",
    "user_agent",
]
