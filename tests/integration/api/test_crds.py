"""The generated CRDs on a real API server: served, printed, explained, updatable, never defaulted."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from pydantic.alias_generators import to_camel

from replica_operator.api import (
    ClaimReference,
    Condition,
    ConditionStatus,
    ConsistencyGroupReplicaStatus,
    ConsistencyGroupSource,
    ConsistencyGroupTarget,
    DrillClaim,
    DrillExport,
    DrillMemberClaim,
    DrillReplicaRef,
    Endpoint,
    GroupTargetClaims,
    InfiniBoxStatus,
    LabelSelector,
    LocalClaim,
    MemberStatus,
    ReplicaDrillStatus,
    ReplicaSource,
    ReplicaStatus,
    ReplicaTarget,
    ReplicationType,
    ResolvedSource,
    TargetClaim,
)
from tests.integration.api.manifests import cg_replica, infinibox, replica, to_yaml
from tests.support.kube import Cluster
from tests.support.wait import wait_for

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _condition(condition_type: str, status: ConditionStatus, reason: str) -> Condition:
    return Condition(type=condition_type, status=status, last_transition_time=NOW, reason=reason, message="")


def _set_status(
    cluster: Cluster, resource: str, name: str, namespace: str | None, status: dict[str, object]
) -> None:
    where = ["-n", namespace] if namespace else []
    cluster.kubectl(
        *where,
        "patch",
        resource,
        name,
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps({"status": status}),
    )


def _table(cluster: Cluster, *args: str) -> list[list[str]]:
    return [line.split() for line in cluster.kubectl("get", *args).stdout.splitlines()]


def test_every_crd_is_established_with_its_names(cluster: Cluster, crds: list[str]) -> None:
    for name in crds:
        crd = cluster.kubectl_json("get", "crd", name)
        conditions = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
        assert conditions["Established"] == "True", name
        assert conditions["NamesAccepted"] == "True", name
        assert crd["status"]["acceptedNames"]["categories"] == ["infinibox"]
    resources = cluster.kubectl("api-resources", "--api-group=replication.infinibox.io", "-o", "wide").stdout
    for expected in ("infiniboxes   ibox", "replicas   rep", "consistencygroupreplicas   cgrep"):
        assert " ".join(expected.split()) in " ".join(resources.split())


def test_replica_status_round_trips_and_fills_the_printer_columns(
    cluster: Cluster, module_namespace: str
) -> None:
    cluster.kubectl("create", "-f", "-", input=to_yaml(replica("printed", module_namespace)))
    status = ReplicaStatus(
        observed_generation=1,
        replica_id=7,
        state="ACTIVE",
        sync_state="SYNCHRONIZED",
        replication_type="ASYNC",
        rpo=timedelta(minutes=5),
        sync_interval=timedelta(minutes=1),
        role="SOURCE",
        current_source=Endpoint(array="ibox-1", entity="db-vol-1"),
        progress=100,
        last_synchronized=NOW,
        pending_replication_type=ReplicationType.SYNC,
        conditions=[
            _condition("Ready", ConditionStatus.TRUE, "Healthy"),
            _condition("Synced", ConditionStatus.FALSE, "TypeChangeDeferred"),
        ],
    ).to_cr()
    _set_status(cluster, "replicas", "printed", module_namespace, status)
    assert cluster.kubectl_json("-n", module_namespace, "get", "replica", "printed")["status"] == status

    header, row = _table(cluster, "-n", module_namespace, "replicas", "printed")
    assert header == ["NAME", "SOURCE", "TARGET", "TYPE", "STATE", "SYNC", "READY", "AGE"]
    assert row[:-1] == ["printed", "ibox-1", "ibox-2", "ASYNC", "ACTIVE", "SYNCHRONIZED", "True"]
    header, row = _table(cluster, "-n", module_namespace, "replicas", "printed", "-o", "wide")
    assert header == [
        "NAME",
        "SOURCE",
        "TARGET",
        "TYPE",
        "STATE",
        "SYNC",
        "READY",
        "ROLE",
        "PROGRESS",
        "PENDING",
        "REASON",
        "AGE",
    ]
    assert row[7:-1] == ["SOURCE", "100", "SYNC", "TypeChangeDeferred"]


def test_consistency_group_status_and_columns(cluster: Cluster, module_namespace: str) -> None:
    cluster.kubectl("create", "-f", "-", input=to_yaml(cg_replica("printed-cg", module_namespace)))
    status = ConsistencyGroupReplicaStatus(
        state="ACTIVE",
        members=[MemberStatus(local="app-vol-1", remote="app-vol-1-dr")],
        conditions=[_condition("Ready", ConditionStatus.FALSE, "NotFound")],
    ).to_cr()
    _set_status(cluster, "cgrep", "printed-cg", module_namespace, status)
    assert cluster.kubectl_json("-n", module_namespace, "get", "cgrep", "printed-cg")["status"] == status
    header, row = _table(cluster, "-n", module_namespace, "cgrep", "printed-cg")
    assert header == ["NAME", "SOURCE", "TARGET", "TYPE", "STATE", "SYNC", "READY", "AGE"]
    assert row[:3] == ["printed-cg", "ibox-1", "ibox-2"]
    assert "False" in row


def test_infinibox_status_and_columns(cluster: Cluster, module_namespace: str) -> None:
    name = f"{module_namespace}-printed"
    cluster.kubectl("create", "-f", "-", input=to_yaml(infinibox(name)))
    try:
        status = InfiniBoxStatus(
            serial=40123,
            system_name="ibox-1",
            last_polled=NOW,
            replica_count=3,
            conditions=[_condition("Connected", ConditionStatus.TRUE, "LoggedIn")],
        ).to_cr()
        _set_status(cluster, "infiniboxes", name, None, status)
        assert cluster.kubectl_json("get", "ibox", name)["status"] == status
        header, row = _table(cluster, "ibox", name)
        assert header == ["NAME", "URL", "CONNECTED", "SERIAL", "AGE"]
        assert row[:-1] == [name, "https://ibox-1.example.com", "True", "40123"]
    finally:
        cluster.kubectl("delete", "ibox", name, "--wait=false")


def test_explain_prints_the_descriptions(cluster: Cluster, crds: list[str]) -> None:
    def explain() -> str | None:
        result = cluster.kubectl("explain", "replica.spec.target", check=False)
        return " ".join(result.stdout.split()) if result.returncode == 0 else None

    text = wait_for(explain, timeout=30, what="the Replica schema to be published")
    assert "FIELD: target <Object>" in text
    assert (
        "Where the replica goes: the remote array, the link, and where the remote entity comes from." in text
    )
    assert (
        "pool <string> Pool on the target array to create the remote entity in. Required when mode is "
        "Create, not allowed otherwise. Immutable." in text
    )
    assert "mode <string> enum: Create, Existing, BaseSnapshot" in text
    assert "Default: Create." in text
    assert "array <string> -required-" in text


def test_mutable_fields_can_be_changed(cluster: Cluster, namespace: str, crds: list[str]) -> None:
    manifest = replica("mutable", namespace)
    cluster.kubectl("apply", "--server-side", "--field-manager=api-tests", "-f", "-", input=to_yaml(manifest))

    cluster.kubectl(
        "-n",
        namespace,
        "patch",
        "replica",
        "mutable",
        "--type=merge",
        "-p",
        json.dumps({"spec": {"rpo": "10m", "syncInterval": "2m30s", "suspended": True}}),
    )
    stored = cluster.kubectl_json("-n", namespace, "get", "replica", "mutable")
    assert (stored["spec"]["rpo"], stored["spec"]["syncInterval"], stored["spec"]["suspended"]) == (
        "10m",
        "2m30s",
        True,
    )

    to_sync = {"spec": {"replicationType": "SYNC", "rpo": None, "syncInterval": None, "suspended": False}}
    cluster.kubectl("-n", namespace, "patch", "replica", "mutable", "--type=merge", "-p", json.dumps(to_sync))
    stored = cluster.kubectl_json("-n", namespace, "get", "replica", "mutable")
    assert stored["spec"]["replicationType"] == "SYNC"
    assert "rpo" not in stored["spec"]
    assert "syncInterval" not in stored["spec"]
    assert stored["spec"]["suspended"] is False
    assert stored["spec"]["source"] == manifest["spec"]["source"]
    assert stored["metadata"]["generation"] == 3


def test_the_server_adds_no_defaults(cluster: Cluster, namespace: str, crds: list[str]) -> None:
    minimal = replica("minimal", namespace, rpo=None, syncInterval=None, target={"link": None})
    cluster.kubectl("apply", "--server-side", "--field-manager=api-tests", "-f", "-", input=to_yaml(minimal))
    stored = cluster.kubectl_json("-n", namespace, "get", "replica", "minimal")
    assert stored["spec"] == {
        "source": {"array": "ibox-1", "volume": "db-vol-1"},
        "target": {"array": "ibox-2", "pool": "pool-1"},
    }


def test_explain_prints_the_array_facts_and_auto_resume(cluster: Cluster, crds: list[str]) -> None:
    def explain(field: str) -> str | None:
        result = cluster.kubectl("explain", field, check=False)
        return " ".join(result.stdout.split()) if result.returncode == 0 else None

    features = wait_for(lambda: explain("infinibox.status.features"), timeout=30, what="InfiniBox schema")
    assert "FIELD: features <[]string>" in features
    assert "The enabled features the array lists (GET _features)" in features
    links = wait_for(lambda: explain("infinibox.status.links"), timeout=30, what="InfiniBox schema")
    for field in ("name <string>", "remoteSystem <string>", "state <string>"):
        assert field in links
    resume = wait_for(lambda: explain("replica.spec.autoResume"), timeout=30, what="Replica schema")
    assert "FIELD: autoResume <boolean>" in resume
    assert "Default: true." in resume


def test_explain_documents_the_claim_fields(cluster: Cluster, crds: list[str]) -> None:
    """Every field of issue 17, explained with its model's description (kubectl wraps; spaces normalised)."""
    fields = {
        "replica.spec.source.persistentVolumeClaim": ReplicaSource.model_fields["persistent_volume_claim"],
        "replica.spec.target.persistentVolumeClaim": ReplicaTarget.model_fields["persistent_volume_claim"],
        "replica.spec.source.localClaim": ReplicaSource.model_fields["local_claim"],
        "replicadrill.spec.replicaRef.kind": DrillReplicaRef.model_fields["kind"],
        "replicadrill.status.members": ReplicaDrillStatus.model_fields["members"],
        "replicadrill.status.export": ReplicaDrillStatus.model_fields["export"],
        "replicadrill.spec.claim.networkSpace": DrillClaim.model_fields["network_space"],
        "replica.status.localClaim": ReplicaStatus.model_fields["local_claim"],
        "replica.status.resolvedSource": ReplicaStatus.model_fields["resolved_source"],
        "replica.status.targetClaim": ReplicaStatus.model_fields["target_claim"],
        "replica.status.writableClaim": ReplicaStatus.model_fields["writable_claim"],
        "consistencygroupreplica.spec.source.persistentVolumeClaimSelector": (
            ConsistencyGroupSource.model_fields["persistent_volume_claim_selector"]
        ),
        "consistencygroupreplica.spec.target.persistentVolumeClaim": ConsistencyGroupTarget.model_fields[
            "persistent_volume_claim"
        ],
    }
    for model, prefix in (
        (TargetClaim, "replica.spec.target.persistentVolumeClaim"),
        (LocalClaim, "replica.spec.source.localClaim"),
        (ClaimReference, "replica.status.localClaim"),
        (DrillMemberClaim, "replicadrill.status.members"),
        (DrillExport, "replicadrill.status.export"),
        (GroupTargetClaims, "consistencygroupreplica.spec.target.persistentVolumeClaim"),
        (LabelSelector, "consistencygroupreplica.spec.source.persistentVolumeClaimSelector"),
        (ResolvedSource, "replica.status.resolvedSource"),
        (ClaimReference, "replica.status.targetClaim"),
        (ClaimReference, "replica.status.writableClaim"),
    ):
        for name, info in model.model_fields.items():
            fields[f"{prefix}.{to_camel(name)}"] = info

    def explain(path: str) -> str | None:
        result = cluster.kubectl("explain", path, check=False)
        return " ".join(result.stdout.split()) if result.returncode == 0 else None

    wait_for(lambda: explain("replica.spec.source.persistentVolumeClaim"), timeout=30, what="Replica schema")
    for path, info in fields.items():
        text = explain(path)
        assert text is not None, f"kubectl explain {path} failed"
        assert " ".join(str(info.description).split()) in text, f"{path}: {text}"
