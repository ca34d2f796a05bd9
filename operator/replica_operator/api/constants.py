"""Names of the API that other code (handlers, RBAC, Helm chart, tests) must spell the same way."""

from __future__ import annotations

GROUP = "replication.infinibox.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
CATEGORY = "infinibox"
FINALIZER = f"{GROUP}/finalizer"

INFINIBOX_KIND = "InfiniBox"
REPLICA_KIND = "Replica"
CONSISTENCY_GROUP_REPLICA_KIND = "ConsistencyGroupReplica"
REPLICA_DRILL_KIND = "ReplicaDrill"

INFINIBOX_PLURAL = "infiniboxes"
REPLICA_PLURAL = "replicas"
CONSISTENCY_GROUP_REPLICA_PLURAL = "consistencygroupreplicas"
REPLICA_DRILL_PLURAL = "replicadrills"
