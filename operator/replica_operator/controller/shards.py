"""What one shard must learn about the others: their objects are not in its indexes.

Rare questions only (an InfiniBox deletion, a take-over), each answered with one LIST per
kind, selected server-side (``sharding.other_shards_selector``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from replica_operator import sharding
from replica_operator.api import CONSISTENCY_GROUP_REPLICA, REPLICA
from replica_operator.kube import KubeError
from replica_operator.settings import OperatorSettings

from .ports import KubeSide

if TYPE_CHECKING:
    from .runtime import Indexes


async def other_shards_objects(kube: KubeSide, settings: OperatorSettings) -> list[dict[str, Any]]:
    """The Replicas and ConsistencyGroupReplicas of every other shard, in the watched namespaces."""
    selector = sharding.other_shards_selector(settings.shard)
    return [
        body
        for resource in (REPLICA, CONSISTENCY_GROUP_REPLICA)
        for body in await kube.list_objects(resource, selector, settings.namespaces)
    ]


async def owner_exists(indexes: Indexes, kube: KubeSide, settings: OperatorSettings, uid: str) -> bool:
    """Whether a replication object with this uid exists: in this shard's index, else among the
    other shards' objects. Unreadable: assume it does (a take-over is never allowed on a guess)."""
    if indexes.has_object(uid):
        return True
    try:
        others = await other_shards_objects(kube, settings)
    except KubeError:
        return True
    return any(body["metadata"].get("uid") == uid for body in others)
