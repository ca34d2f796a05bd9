"""Leader election on a ``coordination.k8s.io/v1`` Lease: only the leader runs the operator.

kopf's peering is not leader election (a paused peer keeps its own tasks running); this is
client-go's algorithm instead. ``decision`` is the pure rule, ``lease`` the Kubernetes calls,
``elector`` the loops, ``standby`` the endpoints a standby serves, ``run`` the start-up sequence
of ``replica-operator run``. Only the light ``config`` is imported here, so that importing the
CLI does not import the Kubernetes client.
"""

from .config import (
    DEFAULT_LEASE_DURATION,
    DEFAULT_LEASE_NAME,
    DEFAULT_RENEW_DEADLINE,
    DEFAULT_RETRY_PERIOD,
    LOST_EXIT_CODE,
    ElectionConfig,
    default_identity,
    default_namespace,
)

__all__ = [
    "DEFAULT_LEASE_DURATION",
    "DEFAULT_LEASE_NAME",
    "DEFAULT_RENEW_DEADLINE",
    "DEFAULT_RETRY_PERIOD",
    "LOST_EXIT_CODE",
    "ElectionConfig",
    "default_identity",
    "default_namespace",
]
