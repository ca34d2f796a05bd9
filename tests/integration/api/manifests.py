"""Valid manifests to start from, and JSON merge patches (RFC 7386) to break them one field at a time."""

from __future__ import annotations

import copy
from typing import Any

import yaml

from replica_operator.api import API_VERSION

Manifest = dict[str, Any]


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: dicts merge, ``None`` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def replica(name: str, namespace: str, **spec: Any) -> Manifest:
    """An ASYNC volume Replica in Create mode, with ``spec`` merged over it."""
    base = {
        "source": {"array": "ibox-1", "volume": "db-vol-1"},
        "target": {"array": "ibox-2", "link": "to-ibox-2", "pool": "pool-1"},
        "rpo": "5m",
        "syncInterval": "1m",
    }
    return _object("Replica", name, namespace, merge_patch(base, spec))


def cg_replica(name: str, namespace: str, **spec: Any) -> Manifest:
    """An ASYNC ConsistencyGroupReplica in Create mode, with ``spec`` merged over it."""
    base = {
        "source": {"array": "ibox-1", "consistencyGroup": "app-cg-1"},
        "target": {"array": "ibox-2", "pool": "pool-1"},
    }
    return _object("ConsistencyGroupReplica", name, namespace, merge_patch(base, spec))


def drill(name: str, namespace: str, **spec: Any) -> Manifest:
    """A ReplicaDrill of the Replica ``db-vol-1``, with ``spec`` merged over it."""
    base = {"replicaRef": {"name": "db-vol-1"}, "claim": {"name": f"{name}-claim"}}
    return _object("ReplicaDrill", name, namespace, merge_patch(base, spec))


def infinibox(name: str, **spec: Any) -> Manifest:
    """An InfiniBox, with ``spec`` merged over it."""
    base = {
        "url": "https://ibox-1.example.com",
        "credentialsSecretRef": {"name": "ibox-1-credentials", "namespace": "infinibox-system"},
    }
    return _object("InfiniBox", name, None, merge_patch(base, spec))


def to_yaml(manifest: Manifest) -> str:
    return yaml.safe_dump(manifest, sort_keys=False)


def _object(kind: str, name: str, namespace: str | None, spec: Any) -> Manifest:
    metadata = {"name": name} if namespace is None else {"name": name, "namespace": namespace}
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": spec}
