"""The Argo CD health checks, run as Argo CD runs them: gopher-lua with only base, package, table and
its safe os open (the health helper, tools/health), on the testdata of their health_test.yaml files."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.shipping.argocd_health import (
    KINDS,
    SCRIPTS,
    HealthCase,
    all_cases,
    cases,
    evaluate,
    installed,
    key,
    kind_dir,
)
from tests.unit.shipping.health_tool import Health, Verdict, judge

CASES = all_cases()


def test_health_test_yaml_cases() -> None:
    """Every case in one run of the helper, with the scripts as argocd-cm installs them."""
    verdicts = installed([case.load() for case in CASES])
    answers = {case.id: verdict.argocd for case, verdict in zip(CASES, verdicts, strict=True)}
    assert answers == {case.id: case.expected for case in CASES}
    assert all(verdict.lua_error is None for verdict in verdicts)


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
    assert SCRIPTS["Replica"] == SCRIPTS["ConsistencyGroupReplica"]
    assert SCRIPTS["Replica"].name == "replication.lua"


def _case(kind: str, name: str) -> HealthCase:
    return next(c for c in cases(kind) if c.input_path == f"testdata/{name}.yaml")


def _replica(name: str) -> dict[str, Any]:
    return _case("Replica", name).load()


def _condition(obj: dict[str, Any], ctype: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in obj["status"]["conditions"] if c["type"] == ctype)
    return found


def _without(obj: dict[str, Any], *ctypes: str) -> dict[str, Any]:
    """The object as an operator that does not write these conditions (yet) would leave it."""
    trimmed = copy.deepcopy(obj)
    conditions = trimmed["status"]["conditions"]
    trimmed["status"]["conditions"] = [c for c in conditions if c["type"] not in ctypes]
    return trimmed


def test_degraded_message_is_the_condition_message_or_its_reason() -> None:
    obj = _replica("array-unreachable")
    _condition(obj, "Synced")["message"] = ""
    assert evaluate(obj).message == "ArrayUnreachable: ArrayUnreachable"


def test_type_change_deferred_is_not_an_error_even_when_initializing_ends() -> None:
    obj = _replica("type-change-deferred")
    obj["status"]["syncState"] = "SYNCHRONIZED"
    _condition(obj, "Ready").update(status="True", reason="Replicating")
    health = evaluate(obj)
    assert health.status == "Progressing"
    assert health.message.startswith("Change to SYNC deferred")


def test_suspended_without_the_arrays_agreement_is_not_suspended() -> None:
    obj = _replica("suspended")
    obj["status"]["state"] = "ACTIVE"
    assert evaluate(obj).status == "Progressing"


def test_an_error_outranks_suspension() -> None:
    obj = _replica("suspended")
    _condition(obj, "Synced").update(status="False", reason="ArrayUnreachable", message="ibox-1 is down")
    assert evaluate(obj).status == "Degraded"


def test_missing_observed_generation_falls_back_to_the_ready_condition() -> None:
    obj = _replica("stale-generation")
    del obj["status"]["observedGeneration"]
    health = evaluate(obj)
    assert health.status == "Progressing"
    assert "generation 3" in health.message


def test_stalled_is_degraded_whatever_else_the_status_says() -> None:
    """kstatus says Failed for Stalled=True; Argo CD must not call it healthy or progressing."""
    obj = _replica("healthy")
    _condition(obj, "Stalled").update(status="True", reason="Unauthorized", message="HTTP 403 from ibox-1")
    assert evaluate(obj) == Health("Degraded", "Unauthorized: HTTP 403 from ibox-1")


def test_reconciling_is_progressing_even_while_ready_says_not_created() -> None:
    """Creating: Ready False NotCreated is no error while the operator says the work is under way."""
    obj = _replica("healthy")
    _condition(obj, "Ready").update(
        status="False", reason="NotCreated", message="the replica does not exist yet"
    )
    _condition(obj, "Reconciling").update(status="True", reason="Creating", message="creating the replica")
    health = evaluate(obj)
    assert (health.status, health.message) == ("Progressing", "creating the replica")
    _condition(obj, "Reconciling").update(status="False", reason="Idle")
    assert evaluate(obj).status == "Degraded"


@pytest.mark.parametrize("name", ["initializing", "type-change-deferred", "action-in-progress"])
def test_work_in_progress_reads_the_same_without_the_kstatus_conditions(name: str) -> None:
    """Status written before the operator had Reconciling/Stalled keeps its health and message."""
    case = _case("Replica", name)
    assert evaluate(_without(case.load(), "Reconciling", "Stalled")) == case.expected


def test_health_test_yaml_is_argo_cds_format() -> None:
    for kind in KINDS:
        spec = yaml.safe_load((kind_dir(kind) / "health_test.yaml").read_text())
        assert set(spec) == {"tests"}
        for test in spec["tests"]:
            assert set(test) == {"healthStatus", "inputPath"}
            assert set(test["healthStatus"]) == {"status", "message"}


# -- the interpreter is Argo CD's, not a full Lua ---------------------------------------------------
def _run(tmp_path: Path, script: str) -> Verdict:
    path = tmp_path / "health.lua"
    path.write_text(script)
    (verdict,) = judge([_replica("healthy")], scripts={key("Replica"): path})
    return verdict


@pytest.mark.parametrize(
    ("script", "error"),
    [
        ('local i = string.find("abc", "b")\nreturn {status = "Healthy"}', "with key 'find'"),
        ('local s = "abc"\nreturn {status = "Healthy", message = s:sub(1, 2)}', "with key 'sub'"),
        ("return {status = 'Healthy', message = '' .. math.floor(1.5)}", "with key 'floor'"),
        ("return {status = 'Healthy', message = '' .. os.time()}", "with key 'time'"),
        ("while true do end", "context deadline exceeded"),
    ],
    ids=["string.find", "string-method", "math", "global-os", "1s-timeout"],
)
def test_what_argo_cd_does_not_open_fails_in_the_helper(tmp_path: Path, script: str, error: str) -> None:
    verdict = _run(tmp_path, script)
    assert verdict.lua_error is not None
    assert error in verdict.lua_error
    assert verdict.argocd == Health("Unknown", verdict.lua_error)


def test_what_argo_cd_opens_works_in_the_helper(tmp_path: Path) -> None:
    script = (
        'local os = require("os")\nlocal t = {}\ntable.insert(t, tostring(os.date("!%Y", 0)))\n'
        "table.insert(t, type(obj.status.conditions))\n"
        'return {status = "Healthy", message = t[1] .. " " .. t[2]}'
    )
    verdict = _run(tmp_path, script)
    assert verdict.lua_error is None
    assert verdict.argocd == Health("Healthy", "1970 table")


def test_an_invalid_health_status_is_unknown_as_in_argo_cd(tmp_path: Path) -> None:
    verdict = _run(tmp_path, 'return {status = "Fine", message = "x"}')
    assert verdict.argocd is not None
    assert (verdict.argocd.status, verdict.argocd.message) == (
        "Unknown",
        "Lua returned an invalid health status",
    )


_LIBRARY_USE = re.compile(
    r"\b(string|math|io|debug|coroutine|os|utf8)\s*\.|[\w)\]\"']\s*:\s*[A-Za-z_]\w*\s*\("
)
_COMMENT_OR_STRING = re.compile(r"--[^\n]*|\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'")


@pytest.mark.parametrize("path", sorted(set(SCRIPTS.values())), ids=lambda path: path.name)
def test_scripts_call_no_library_argo_cd_leaves_closed_on_any_branch(path: Path) -> None:
    """The runs above cover the branches the testdata reach; this covers every line."""
    code = _COMMENT_OR_STRING.sub('""', path.read_text())
    assert not _LIBRARY_USE.findall(code)
