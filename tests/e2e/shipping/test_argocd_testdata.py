"""The health checks' testdata are objects the real API server accepts: spec and status, per the CRDs;
and what the server stores gets the health health_test.yaml expects, from the scripts as installed,
run in gopher-lua as Argo CD runs them (the health helper)."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from typing import Any

import kubernetes
import pytest

from tests.conftest import ROOT
from tests.support.kube import Cluster
from tests.support.operator import OperatorProcess
from tests.unit.shipping.argocd_health import HealthCase, all_cases, evaluate

CASES = all_cases()
CRDS = ROOT / "crds"
GROUP, VERSION = "replication.infinibox.io", "v1alpha1"


@pytest.fixture
def testdata_crds(crds: list[str], exclusive_operator: OperatorProcess) -> None:
    """The CRDs as the session installed them, and no operator: it would write its own status."""


def _as_new_object(obj: dict[str, Any], namespace: str) -> dict[str, Any]:
    """The testdata object as a user would create it: server-set metadata dropped, unique names."""
    new = copy.deepcopy(obj)
    new.pop("status", None)
    metadata = {"name": f"{new['metadata']['name']}-{uuid.uuid4().hex[:6]}"}
    if "namespace" in new["metadata"]:
        metadata["namespace"] = namespace
    new["metadata"] = metadata
    return new


@pytest.fixture(scope="module")
def testdata_namespace(cluster: Cluster) -> Iterator[str]:
    """One namespace for the module: every case creates and deletes its own uniquely named object."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    cluster.kubectl("create", "namespace", name)
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture(scope="module")
def custom_objects(cluster: Cluster) -> Iterator[kubernetes.client.CustomObjectsApi]:
    with cluster.api_client() as client:
        yield kubernetes.client.CustomObjectsApi(client)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_testdata_object_is_valid_for_the_api_server(
    testdata_crds: None,
    custom_objects: kubernetes.client.CustomObjectsApi,
    testdata_namespace: str,
    case: HealthCase,
) -> None:
    obj = case.load()
    namespace = testdata_namespace
    new = _as_new_object(obj, namespace)
    name = new["metadata"]["name"]
    plural = {"Replica": "replicas", "ConsistencyGroupReplica": "consistencygroupreplicas"}.get(
        case.kind, "infiniboxes"
    )
    api = custom_objects
    if "namespace" in new["metadata"]:
        where: tuple[str, ...] = (GROUP, VERSION, namespace, plural)
        create, patch_status = api.create_namespaced_custom_object, api.patch_namespaced_custom_object_status
        get, delete = api.get_namespaced_custom_object, api.delete_namespaced_custom_object
    else:
        where = (GROUP, VERSION, plural)
        create, patch_status = api.create_cluster_custom_object, api.patch_cluster_custom_object_status
        get, delete = api.get_cluster_custom_object, api.delete_cluster_custom_object
    create(*where, new)
    try:
        if "status" in obj:
            patch_status(*where, name, {"status": obj["status"]})
            assert get(*where, name)["status"] == obj["status"], "the API server pruned or changed the status"
        stored = get(*where, name)
        assert stored["spec"] == obj["spec"], "no schema defaults, no pruning: spec stored as written"
        # The server owns metadata (generation 1, new uid); spec and status are what is under test.
        assert evaluate({**stored, "metadata": obj["metadata"]}) == case.expected
    finally:
        delete(*where, name)
