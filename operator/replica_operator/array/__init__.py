"""The InfiniBox array client: the only code in the operator that talks to arrays.

::

    from replica_operator.array import CreateReplicaRequest, EntityType, InfiniBoxClient, OutcomeUnknown

    async with InfiniBoxClient(url, username=user, password=password, ca_pem=ca, name="ibox-1") as array:
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
"""

from replica_operator.array.client import DEFAULT_TIMEOUT, InfiniBoxClient
from replica_operator.array.errors import (
    ArrayError,
    BadRequest,
    Conflict,
    InvalidState,
    NotFound,
    OutcomeUnknown,
    Unauthorized,
    Unavailable,
)
from replica_operator.array.models import (
    ConsistencyGroup,
    Dataset,
    EntityPair,
    EntityType,
    Filesystem,
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
from replica_operator.array.observe import Observer, RequestRecord
from replica_operator.array.query import Filter, Filters, eq, in_, is_null, like, ne, not_null
from replica_operator.array.requests import (
    BaseAction,
    CreateReplicaRequest,
    EntityPairRequest,
    ReplicationOptions,
    SnapshotBase,
)
from replica_operator.array.retry import RetryPolicy

__all__ = [
    "DEFAULT_TIMEOUT",
    "ArrayError",
    "BadRequest",
    "BaseAction",
    "Conflict",
    "ConsistencyGroup",
    "CreateReplicaRequest",
    "Dataset",
    "EntityPair",
    "EntityPairRequest",
    "EntityType",
    "Filesystem",
    "Filter",
    "Filters",
    "InfiniBoxClient",
    "InvalidState",
    "Link",
    "LinkState",
    "NotFound",
    "Observer",
    "OutcomeUnknown",
    "Page",
    "Pool",
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
]
