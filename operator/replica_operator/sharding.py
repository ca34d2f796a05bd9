"""Shards: which replication objects one operator instance handles (Flux's convention).

An object's shard is the value of its ``replication.infinibox.io/shard`` label. An instance
started with ``--shard NAME`` watches only objects labelled ``NAME``; the instance started
without ``--shard`` (the default shard) watches only objects that have no such label. The
selectors are disjoint whatever shards exist, so adding a shard never makes two instances
handle one object (``notin (shard1, ...)`` on the default shard would, until the default
shard restarts with the new list). Pure: no Kubernetes client, no kopf.
"""

from __future__ import annotations

import re

#: The shard key label on Replica and ConsistencyGroupReplica objects.
SHARD_LABEL = "replication.infinibox.io/shard"
#: A shard name is a DNS label: it is a label value, and part of a Lease and a Deployment name.
_SHARD_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
MAX_SHARD_NAME = 40  # leaves room in the 63-character names derived from it


def check_shard_name(shard: str) -> str:
    """The name, or ValueError saying why it cannot be a shard name."""
    if len(shard) > MAX_SHARD_NAME or not _SHARD_NAME.match(shard):
        raise ValueError(
            f"shard name {shard!r} must be a DNS label (lowercase letters, digits and '-') "
            f"of at most {MAX_SHARD_NAME} characters"
        )
    return shard


def label_selector(shard: str | None) -> str:
    """The server-side selector of the objects this instance handles."""
    return f"{SHARD_LABEL}={shard}" if shard is not None else f"!{SHARD_LABEL}"


def other_shards_selector(shard: str | None) -> str:
    """The selector of every object this instance does not handle (``!=`` also matches unlabelled)."""
    return SHARD_LABEL if shard is None else f"{SHARD_LABEL}!={shard}"


def lease_name(base: str, shard: str | None) -> str:
    """Each shard elects its own leader: ``<base>-<shard>``; the default shard keeps ``base``."""
    return base if shard is None else f"{base}-{shard}"


def shard_of(labels: dict[str, str] | None) -> str | None:
    """The shard an object belongs to (None: the default shard)."""
    return (labels or {}).get(SHARD_LABEL)
