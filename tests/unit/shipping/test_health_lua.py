"""The Argo CD health checks, executed in Lua 5.1 on the testdata of their health_test.yaml files."""

from __future__ import annotations

import copy

import pytest
import yaml

from tests.unit.shipping.lua_health import KINDS, HealthCase, all_cases, cases, evaluate, kind_dir

CASES = all_cases()


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_health_test_yaml_case(case: HealthCase) -> None:
    script = (kind_dir(case.kind) / "health.lua").read_text()
    assert evaluate(script, case.load()) == case.expected


@pytest.mark.parametrize(
    ("kind", "states"),
    [
        ("Replica", {"Healthy", "Progressing", "Degraded", "Suspended"}),
        ("ConsistencyGroupReplica", {"Healthy", "Progressing", "Degraded", "Suspended"}),
        ("InfiniBox", {"Healthy", "Progressing", "Degraded"}),
    ],
)
def test_every_health_state_is_covered(kind: str, states: set[str]) -> None:
    assert {case.expected.status for case in cases(kind)} == states


@pytest.mark.parametrize("kind", KINDS)
def test_every_testdata_file_is_a_case_of_the_right_kind(kind: str) -> None:
    listed = {case.input_path for case in cases(kind)}
    on_disk = {f"testdata/{path.name}" for path in (kind_dir(kind) / "testdata").glob("*.yaml")}
    assert listed == on_disk
    for case in cases(kind):
        obj = case.load()
        assert obj["apiVersion"] == "replication.infinibox.io/v1alpha1"
        assert obj["kind"] == kind


def test_replication_kinds_share_one_script() -> None:
    """Replica and ConsistencyGroupReplica have the same status; only the header comment differs."""
    replica = (kind_dir("Replica") / "health.lua").read_text().splitlines()
    group = (kind_dir("ConsistencyGroupReplica") / "health.lua").read_text().splitlines()
    assert replica[1:] == group[1:]


def _replica(name: str) -> dict:
    return next(c for c in cases("Replica") if c.input_path == f"testdata/{name}.yaml").load()


def test_degraded_message_is_the_condition_message_or_its_reason() -> None:
    script = (kind_dir("Replica") / "health.lua").read_text()
    obj = _replica("array-unreachable")
    synced = next(c for c in obj["status"]["conditions"] if c["type"] == "Synced")
    synced["message"] = ""
    assert evaluate(script, obj).message == "ArrayUnreachable: ArrayUnreachable"


def test_type_change_deferred_is_not_an_error_even_when_initializing_ends() -> None:
    script = (kind_dir("Replica") / "health.lua").read_text()
    obj = _replica("type-change-deferred")
    obj["status"]["syncState"] = "SYNCHRONIZED"
    obj["status"]["conditions"][0] = {
        **obj["status"]["conditions"][0],
        "status": "True",
        "reason": "Replicating",
    }
    health = evaluate(script, obj)
    assert health.status == "Progressing"
    assert health.message.startswith("Change to SYNC deferred")


def test_suspended_without_the_arrays_agreement_is_not_suspended() -> None:
    script = (kind_dir("Replica") / "health.lua").read_text()
    obj = _replica("suspended")
    obj["status"]["state"] = "ACTIVE"
    assert evaluate(script, obj).status == "Progressing"


def test_an_error_outranks_suspension() -> None:
    script = (kind_dir("Replica") / "health.lua").read_text()
    obj = copy.deepcopy(_replica("suspended"))
    obj["status"]["conditions"][1] = {
        **obj["status"]["conditions"][1],
        "status": "False",
        "reason": "ArrayUnreachable",
        "message": "ibox-1 is down",
    }
    assert evaluate(script, obj).status == "Degraded"


def test_missing_observed_generation_falls_back_to_the_ready_condition() -> None:
    script = (kind_dir("Replica") / "health.lua").read_text()
    obj = _replica("stale-generation")
    del obj["status"]["observedGeneration"]
    health = evaluate(script, obj)
    assert health.status == "Progressing"
    assert "generation 3" in health.message


def test_health_test_yaml_is_argo_cds_format() -> None:
    for kind in KINDS:
        spec = yaml.safe_load((kind_dir(kind) / "health_test.yaml").read_text())
        assert set(spec) == {"tests"}
        for test in spec["tests"]:
            assert set(test) == {"healthStatus", "inputPath"}
            assert set(test["healthStatus"]) == {"status", "message"}
