"""The API server itself refuses every invalid manifest, naming the field and saying why."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from replica_operator.api import RESOURCES, crdgen
from tests.integration.api.manifests import (
    Manifest,
    cg_replica,
    drill,
    infinibox,
    merge_patch,
    replica,
    to_yaml,
)
from tests.support.kube import Cluster

EXISTING = "existing"
_BUILDERS: dict[str, Callable[[str, str], Manifest]] = {
    "Replica": lambda name, namespace: replica(name, namespace),
    "ConsistencyGroupReplica": lambda name, namespace: cg_replica(name, namespace),
    "InfiniBox": lambda name, namespace: infinibox(f"{namespace}-{name}"),
    "ReplicaDrill": lambda name, namespace: drill(name, namespace),
}


@dataclass(frozen=True)
class Invalid:
    """A valid base manifest of ``kind`` broken by ``patch`` (a JSON merge patch of the whole object)."""

    id: str
    kind: str
    patch: dict[str, Any]
    path: str
    message: str
    update: bool = False  # submit as a change of an existing object instead of a create


def _spec(**fields: Any) -> dict[str, Any]:
    return {"spec": fields}


REP, CG, IBOX, DRILL = "Replica", "ConsistencyGroupReplica", "InfiniBox", "ReplicaDrill"
VOLUME_PAIRS = [{"local": "v1", "remote": "v1-dr"}]
SNAPSHOT_PAIRS = [{"localSnapshot": "s1", "remoteSnapshot": "s1-dr"}]

CASES = [
    # --- spec.source: exactly one of volume | filesystem
    Invalid(
        "both-volume-and-filesystem",
        REP,
        _spec(source={"filesystem": "fs-1"}),
        "spec.source",
        "exactly one of volume, filesystem or persistentVolumeClaim must be set",
    ),
    Invalid(
        "neither-volume-nor-filesystem",
        REP,
        _spec(source={"volume": None}),
        "spec.source",
        "exactly one of volume, filesystem or persistentVolumeClaim must be set",
    ),
    Invalid(
        "both-volume-and-claim",
        REP,
        _spec(source={"persistentVolumeClaim": "data"}),
        "spec.source",
        "exactly one of volume, filesystem or persistentVolumeClaim must be set",
    ),
    Invalid(
        "local-claim-with-a-source-claim",
        REP,
        _spec(source={"volume": None, "persistentVolumeClaim": "data", "localClaim": {"name": "data-b"}}),
        "spec.source.localClaim",
        "localClaim is only allowed with volume or filesystem",
    ),
    Invalid(
        "local-claim-without-name",
        REP,
        _spec(source={"localClaim": {"namespace": "dr"}}),
        "spec.source.localClaim.name",
        "Required value",
    ),
    Invalid(
        "target-claim-without-name",
        REP,
        _spec(target={"persistentVolumeClaim": {"storageClassName": "ibox-dr"}}),
        "spec.target.persistentVolumeClaim.name",
        "Required value",
    ),
    Invalid(
        "group-with-selector-and-consistency-group",
        CG,
        _spec(source={"persistentVolumeClaimSelector": {"matchLabels": {"app": "db"}}}),
        "spec.source",
        "exactly one of consistencyGroup or persistentVolumeClaimSelector must be set",
    ),
    Invalid(
        "group-without-consistency-group-or-selector",
        CG,
        _spec(source={"consistencyGroup": None}),
        "spec.source",
        "exactly one of consistencyGroup or persistentVolumeClaimSelector must be set",
    ),
    Invalid(
        "group-target-claims-without-name",
        CG,
        _spec(target={"persistentVolumeClaim": {"namespace": "dr"}}),
        "spec.target.persistentVolumeClaim.name",
        "Required value",
    ),
    Invalid(
        "group-target-claims-name-without-member",
        CG,
        _spec(target={"persistentVolumeClaim": {"name": "db-dr"}}),
        "spec.target.persistentVolumeClaim.name",
        "name must contain {member}: one claim is made per member",
    ),
    Invalid(
        "empty-volume-name",
        REP,
        _spec(source={"volume": ""}),
        "spec.source.volume",
        "should be at least 1 chars long",
    ),
    Invalid(
        "array-not-a-k8s-name", REP, _spec(source={"array": "IBOX_1"}), "spec.source.array", "should match"
    ),
    # --- spec.target per mode
    Invalid(
        "create-without-pool",
        REP,
        _spec(target={"pool": None}),
        "spec.target.pool",
        "pool is required when mode is Create (the default)",
    ),
    Invalid(
        "explicit-create-without-pool",
        REP,
        _spec(target={"mode": "Create", "pool": None}),
        "spec.target.pool",
        "pool is required when mode is Create",
    ),
    Invalid(
        "existing-with-pool",
        REP,
        _spec(target={"mode": "Existing", "name": "dr"}),
        "spec.target.pool",
        "pool is only allowed when mode is Create",
    ),
    Invalid(
        "existing-without-name",
        REP,
        _spec(target={"mode": "Existing", "pool": None}),
        "spec.target.name",
        "name is required when mode is Existing",
    ),
    Invalid(
        "base-snapshot-with-name",
        REP,
        _spec(
            target={
                "mode": "BaseSnapshot",
                "pool": None,
                "name": "dr",
                "baseSnapshot": {"local": "s", "remote": "s-dr"},
            }
        ),
        "spec.target.name",
        "name is not allowed when mode is BaseSnapshot",
    ),
    Invalid(
        "base-snapshot-without-snapshots",
        REP,
        _spec(target={"mode": "BaseSnapshot", "pool": None}),
        "spec.target.baseSnapshot",
        "baseSnapshot is required when mode is BaseSnapshot",
    ),
    Invalid(
        "create-with-base-snapshot",
        REP,
        _spec(target={"baseSnapshot": {"local": "s", "remote": "s-dr"}}),
        "spec.target.baseSnapshot",
        "baseSnapshot is only allowed when mode is BaseSnapshot",
    ),
    Invalid(
        "base-snapshot-without-remote",
        REP,
        _spec(target={"mode": "BaseSnapshot", "pool": None, "baseSnapshot": {"local": "s"}}),
        "spec.target.baseSnapshot.remote",
        "Required value",
    ),
    Invalid(
        "unknown-mode",
        REP,
        _spec(target={"mode": "Clone"}),
        "spec.target.mode",
        'supported values: "Create", "Existing", "BaseSnapshot"',
    ),
    Invalid(
        "target-without-array", REP, _spec(target={"array": None}), "spec.target.array", "Required value"
    ),
    # --- ConsistencyGroupReplica memberMappings per mode
    Invalid(
        "cg-create-with-mappings",
        CG,
        _spec(target={"memberMappings": VOLUME_PAIRS}),
        "spec.target.memberMappings",
        "memberMappings is only allowed when mode is Existing or BaseSnapshot",
    ),
    Invalid(
        "cg-existing-without-mappings",
        CG,
        _spec(target={"mode": "Existing", "name": "cg-dr", "pool": None}),
        "spec.target.memberMappings",
        "memberMappings is required when mode is Existing or BaseSnapshot",
    ),
    Invalid(
        "cg-existing-empty-mappings",
        CG,
        _spec(target={"mode": "Existing", "name": "cg-dr", "pool": None, "memberMappings": []}),
        "spec.target.memberMappings",
        "should have at least 1 items",
    ),
    Invalid(
        "cg-existing-snapshot-mappings",
        CG,
        _spec(target={"mode": "Existing", "name": "cg-dr", "pool": None, "memberMappings": SNAPSHOT_PAIRS}),
        "spec.target.memberMappings",
        "with mode Existing every memberMappings item needs local and remote",
    ),
    Invalid(
        "cg-existing-half-a-pair",
        CG,
        _spec(
            target={"mode": "Existing", "name": "cg-dr", "pool": None, "memberMappings": [{"local": "v1"}]}
        ),
        "spec.target.memberMappings",
        "with mode Existing every memberMappings item needs local and remote",
    ),
    Invalid(
        "cg-base-snapshot-volume-mappings",
        CG,
        _spec(target={"mode": "BaseSnapshot", "pool": None, "memberMappings": VOLUME_PAIRS}),
        "spec.target.memberMappings",
        "with mode BaseSnapshot every memberMappings item needs localSnapshot and remoteSnapshot",
    ),
    Invalid(
        "cg-base-snapshot-without-mappings",
        CG,
        _spec(target={"mode": "BaseSnapshot", "pool": None}),
        "spec.target.memberMappings",
        "memberMappings is required when mode is Existing or BaseSnapshot",
    ),
    Invalid(
        "cg-has-no-base-snapshot-field",
        CG,
        _spec(
            target={
                "mode": "BaseSnapshot",
                "pool": None,
                "memberMappings": SNAPSHOT_PAIRS,
                "baseSnapshot": {"local": "s", "remote": "s-dr"},
            }
        ),
        "spec.target.baseSnapshot",
        "unknown field",
    ),
    Invalid(
        "cg-create-without-pool",
        CG,
        _spec(target={"pool": None}),
        "spec.target.pool",
        "pool is required when mode is Create (the default)",
    ),
    Invalid(
        "cg-existing-with-pool",
        CG,
        _spec(target={"mode": "Existing", "name": "cg-dr", "memberMappings": VOLUME_PAIRS}),
        "spec.target.pool",
        "pool is only allowed when mode is Create",
    ),
    Invalid(
        "cg-existing-without-name",
        CG,
        _spec(target={"mode": "Existing", "pool": None, "memberMappings": VOLUME_PAIRS}),
        "spec.target.name",
        "name is required when mode is Existing",
    ),
    Invalid(
        "cg-base-snapshot-with-name",
        CG,
        _spec(
            target={"mode": "BaseSnapshot", "pool": None, "name": "cg-dr", "memberMappings": SNAPSHOT_PAIRS}
        ),
        "spec.target.name",
        "name is not allowed when mode is BaseSnapshot",
    ),
    Invalid(
        "cg-sync-with-rpo",
        CG,
        _spec(replicationType="SYNC", rpo="5m"),
        "spec.rpo",
        "rpo is only allowed when replicationType is ASYNC",
    ),
    Invalid(
        "cg-sync-with-sync-interval",
        CG,
        _spec(replicationType="SYNC", syncInterval="1m"),
        "spec.syncInterval",
        "syncInterval is only allowed when replicationType is ASYNC",
    ),
    Invalid(
        "cg-sync-now-on-sync",
        CG,
        _spec(replicationType="SYNC", action={"id": "now", "type": "SyncNow"}),
        "spec.action.type",
        "action SyncNow is only allowed when replicationType is ASYNC",
    ),
    # --- ASYNC-only fields and their order
    Invalid(
        "sync-with-rpo",
        REP,
        _spec(replicationType="SYNC", syncInterval=None),
        "spec.rpo",
        "rpo is only allowed when replicationType is ASYNC",
    ),
    Invalid(
        "sync-with-sync-interval",
        REP,
        _spec(replicationType="SYNC", rpo=None),
        "spec.syncInterval",
        "syncInterval is only allowed when replicationType is ASYNC",
    ),
    Invalid(
        "sync-interval-longer-than-rpo",
        REP,
        _spec(rpo="1m", syncInterval="1m30s"),
        "spec.syncInterval",
        "syncInterval must not be longer than rpo",
    ),
    Invalid(
        "cg-sync-interval-longer-than-rpo",
        CG,
        _spec(rpo="500ms", syncInterval="1s"),
        "spec.syncInterval",
        "syncInterval must not be longer than rpo",
    ),
    Invalid(
        "rpo-beyond-a-week", REP, _spec(rpo="169h", syncInterval=None), "spec.rpo", "rpo must be at most 168h"
    ),
    Invalid(
        "rpo-beyond-go-durations",
        REP,
        _spec(rpo="2562048h"),
        "spec.rpo",
        "rpo must be at most 168h",
    ),
    Invalid(
        "cg-rpo-beyond-a-week",
        CG,
        _spec(rpo="604801s"),
        "spec.rpo",
        "rpo must be at most 168h",
    ),
    Invalid(
        "sync-interval-beyond-go-durations",
        REP,
        _spec(rpo=None, syncInterval="99999999999999m"),
        "spec.syncInterval",
        "syncInterval must be at most 168h",
    ),
    Invalid(
        "sync-interval-beyond-a-week",
        CG,
        _spec(syncInterval="10081m"),
        "spec.syncInterval",
        "syncInterval must be at most 168h",
    ),
    Invalid("duration-with-words", REP, _spec(rpo="5 minutes"), "spec.rpo", "should match"),
    Invalid("duration-in-days", REP, _spec(syncInterval="1d"), "spec.syncInterval", "should match"),
    Invalid("duration-as-number", REP, _spec(rpo=300), "spec.rpo", "must be of type string"),
    # --- enums and types
    Invalid(
        "lower-case-replication-type",
        REP,
        _spec(replicationType="async"),
        "spec.replicationType",
        'supported values: "ASYNC", "SYNC"',
    ),
    Invalid(
        "unknown-deletion-policy",
        REP,
        _spec(deletionPolicy="Retain"),
        "spec.deletionPolicy",
        'supported values: "Delete", "Orphan"',
    ),
    Invalid(
        "unknown-management-policy",
        REP,
        _spec(managementPolicy="Observe"),
        "spec.managementPolicy",
        'supported values: "Full", "ObserveOnly"',
    ),
    Invalid(
        "unknown-drift-policy",
        CG,
        _spec(driftPolicy="Ignore"),
        "spec.driftPolicy",
        'supported values: "Correct", "Report"',
    ),
    Invalid("suspended-as-string", REP, _spec(suspended="yes"), "spec.suspended", "must be of type boolean"),
    # --- unknown and missing fields
    Invalid(
        "unknown-target-field",
        REP,
        _spec(target={"remotePool": "pool-2"}),
        "spec.target.remotePool",
        "unknown field",
    ),
    Invalid(
        "unknown-spec-field", REP, _spec(replicationMode="ASYNC"), "spec.replicationMode", "unknown field"
    ),
    Invalid("missing-source", REP, _spec(source=None), "spec.source", "Required value"),
    Invalid("missing-spec", REP, {"spec": None}, "spec", "Required value"),
    # --- one-shot action
    Invalid(
        "sync-now-on-sync",
        REP,
        _spec(replicationType="SYNC", rpo=None, syncInterval=None, action={"id": "a1", "type": "SyncNow"}),
        "spec.action.type",
        "action SyncNow is only allowed when replicationType is ASYNC",
    ),
    Invalid(
        "action-id-bad-characters",
        REP,
        _spec(action={"id": "-failover-", "type": "SwitchRole"}),
        "spec.action.id",
        "should match",
    ),
    Invalid(
        "action-id-too-long",
        REP,
        _spec(action={"id": "a" * 64, "type": "SwitchRole"}),
        "spec.action.id",
        "may not be more than 63 bytes",
    ),
    Invalid(
        "action-unknown-type",
        REP,
        _spec(action={"id": "a1", "type": "Failover"}),
        "spec.action.type",
        'supported values: "SyncNow", "SwitchRole", "ChangeRole"',
    ),
    Invalid("action-without-id", REP, _spec(action={"type": "SyncNow"}), "spec.action.id", "Required value"),
    # --- immutability (updates of an existing object)
    Invalid(
        "change-source",
        REP,
        _spec(source={"volume": "db-vol-2"}),
        "spec.source",
        "spec.source is immutable: delete this object and create a new one",
        update=True,
    ),
    Invalid(
        "change-target",
        REP,
        _spec(target={"pool": "pool-2"}),
        "spec.target",
        "spec.target is immutable: delete this object and create a new one",
        update=True,
    ),
    Invalid(
        "drill-change-spec",
        DRILL,
        _spec(replicaRef={"name": "db-vol-2"}),
        "spec",
        "spec is immutable: delete this drill and create a new one",
        update=True,
    ),
    Invalid("drill-without-replica", DRILL, _spec(replicaRef=None), "spec.replicaRef", "Required value"),
    Invalid(
        "drill-of-an-unknown-kind",
        DRILL,
        _spec(replicaRef={"kind": "InfiniBox", "name": "db-vol-1"}),
        "spec.replicaRef.kind",
        'supported values: "Replica", "ConsistencyGroupReplica"',
    ),
    Invalid(
        "drill-unknown-protocol",
        DRILL,
        _spec(claim={"protocol": "nvme"}),
        "spec.claim.protocol",
        'supported values: "iscsi", "fc", "nfs"',
    ),
    Invalid(
        "cg-change-source",
        CG,
        _spec(source={"consistencyGroup": "app-cg-2"}),
        "spec.source",
        "spec.source is immutable",
        update=True,
    ),
    Invalid(
        "cg-change-target",
        CG,
        _spec(target={"link": "to-ibox-3"}),
        "spec.target",
        "spec.target is immutable",
        update=True,
    ),
    Invalid(
        "source-and-target-the-same-array",
        REP,
        _spec(target={"array": "ibox-1"}),
        "spec.target.array",
        "target.array must name another array than source.array",
    ),
    Invalid(
        "group-source-and-target-the-same-array",
        CG,
        _spec(target={"array": "ibox-1"}),
        "spec.target.array",
        "target.array must name another array than source.array",
    ),
    # --- InfiniBox
    Invalid("ibox-ftp-url", IBOX, _spec(url="ftp://ibox-1.example.com"), "spec.url", "should match"),
    Invalid("ibox-url-without-scheme", IBOX, _spec(url="ibox-1.example.com"), "spec.url", "should match"),
    Invalid(
        "ibox-zero-concurrency",
        IBOX,
        _spec(maxConcurrentRequests=0),
        "spec.maxConcurrentRequests",
        "should be greater than or equal to 1",
    ),
    Invalid(
        "ibox-too-much-concurrency",
        IBOX,
        _spec(maxConcurrentRequests=65),
        "spec.maxConcurrentRequests",
        "should be less than or equal to 64",
    ),
    Invalid(
        "ibox-missing-credentials",
        IBOX,
        _spec(credentialsSecretRef=None),
        "spec.credentialsSecretRef",
        "Required value",
    ),
    Invalid(
        "ibox-secret-without-namespace",
        IBOX,
        _spec(credentialsSecretRef={"namespace": None}),
        "spec.credentialsSecretRef.namespace",
        "Required value",
    ),
    Invalid("ibox-bad-poll-interval", IBOX, _spec(pollInterval="10"), "spec.pollInterval", "should match"),
    Invalid(
        "ibox-zero-poll-interval",
        IBOX,
        _spec(pollInterval="0s"),
        "spec.pollInterval",
        "pollInterval must be at least 1s",
    ),
    Invalid(
        "ibox-huge-poll-interval",
        IBOX,
        _spec(pollInterval="61m"),
        "spec.pollInterval",
        "pollInterval must be at least 1s and at most 1h",
    ),
    Invalid(
        "ibox-huge-request-timeout",
        IBOX,
        _spec(requestTimeout="10m1s"),
        "spec.requestTimeout",
        "requestTimeout must be at least 1s and at most 10m",
    ),
    Invalid(
        "ibox-url-with-password",
        IBOX,
        _spec(url="https://admin:s3cret@ibox-1.example.com"),
        "spec.url",
        "url must not carry credentials",
    ),
    Invalid(
        "ibox-url-with-user",
        IBOX,
        _spec(url="https://admin@ibox-1.example.com:8443/"),
        "spec.url",
        "url must not carry credentials",
    ),
    Invalid(
        "ibox-url-port-too-large",
        IBOX,
        _spec(url="https://ibox-1.example.com:65536"),
        "spec.url",
        "url must be http(s)://host[:port] with a port from 1 to 65535",
    ),
    Invalid(
        "ibox-url-port-zero",
        IBOX,
        _spec(url="https://ibox-1.example.com:0/api"),
        "spec.url",
        "with a port from 1 to 65535",
    ),
    Invalid(
        "ibox-url-port-not-a-number",
        IBOX,
        _spec(url="https://ibox-1.example.com:https"),
        "spec.url",
        "with a port from 1 to 65535",
    ),
    Invalid(
        "ibox-tiny-request-timeout",
        IBOX,
        _spec(requestTimeout="500ms"),
        "spec.requestTimeout",
        "requestTimeout must be at least 1s",
    ),
    Invalid(
        "ibox-ca-and-skip-verify",
        IBOX,
        _spec(tls={"insecureSkipVerify": True, "caSecretRef": {"name": "ca", "namespace": "ops"}}),
        "spec.tls.caSecretRef",
        "caSecretRef and insecureSkipVerify exclude each other",
    ),
    Invalid(
        "ibox-duplicate-namespace",
        IBOX,
        _spec(allowedNamespaces=["team-a", "team-a"]),
        "spec.allowedNamespaces[1]",
        "Duplicate value",
    ),
    Invalid(
        "ibox-skip-verify-as-string",
        IBOX,
        _spec(tls={"insecureSkipVerify": "true"}),
        "spec.tls.insecureSkipVerify",
        "must be of type boolean",
    ),
]


@pytest.fixture(scope="module")
def existing(cluster: Cluster, module_namespace: str) -> str:
    """The valid base objects, really created, for the update cases to change."""
    for kind in (REP, CG, DRILL):
        cluster.kubectl("create", "-f", "-", input=to_yaml(_BUILDERS[kind](EXISTING, module_namespace)))
    return module_namespace


def _submit(cluster: Cluster, manifest: Manifest, *, update: bool) -> str:
    """Send ``manifest`` as a server-side dry run with strict field validation; return kubectl's stderr."""
    verb = "replace" if update else "create"
    result = cluster.kubectl(
        verb, "--dry-run=server", "--validate=strict", "-f", "-", input=to_yaml(manifest), check=False
    )
    return result.stderr if result.returncode != 0 else ""


def _rule_messages(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        yield from (entry["message"] for entry in node.get("x-kubernetes-validations", []))
        for child in node.values():
            yield from _rule_messages(child)


def test_the_table_covers_every_cel_rule_of_every_kind() -> None:
    assert len(CASES) >= 30
    assert len({case.id for case in CASES}) == len(CASES)
    for resource in RESOURCES:
        schema = crdgen.build_crd(resource)["spec"]["versions"][0]["schema"]
        for message in _rule_messages(schema):
            assert any(case.kind == resource.kind and case.message in message for case in CASES), (
                f"no invalid {resource.kind} case for the rule {message!r}"
            )


@pytest.mark.parametrize("kind", [REP, CG, IBOX, DRILL])
def test_the_base_manifests_are_valid(cluster: Cluster, existing: str, kind: str) -> None:
    assert _submit(cluster, _BUILDERS[kind]("valid-base", existing), update=False) == ""
    if kind != IBOX:
        assert _submit(cluster, _BUILDERS[kind](EXISTING, existing), update=True) == ""


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_invalid_manifest_is_rejected(cluster: Cluster, existing: str, case: Invalid) -> None:
    name = EXISTING if case.update else case.id
    manifest = merge_patch(_BUILDERS[case.kind](name, existing), case.patch)
    error = _submit(cluster, manifest, update=case.update)
    assert error, f"the API server accepted {case.id}"
    # The path stands on its own: `spec.target.pool: ...` or `unknown field "spec.target.pool"`.
    assert re.search(rf'(?<![\w.]){re.escape(case.path)}(: |")', error), f"no {case.path!r} in:\n{error}"
    assert case.message in error, f"no {case.message!r} in:\n{error}"
    assert "evaluating rule" not in error, f"a CEL rule failed to evaluate instead of reporting:\n{error}"
