"""Static checks of what ships: the chart's files, the Dockerfile, .dockerignore and the docs."""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
CHART = ROOT / "charts" / "infinibox-replica-operator"
DOCKERFILE = ROOT / "Dockerfile"


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_chart_crds_are_identical_to_the_generated_crds() -> None:
    top = {path.name: path.read_bytes() for path in (ROOT / "crds").glob("*.yaml")}
    chart = {path.name: path.read_bytes() for path in (CHART / "crds").glob("*.yaml")}
    assert len(top) == 4
    assert chart == top


def test_chart_metadata() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2"
    assert chart["name"] == "infinibox-replica-operator"
    assert chart["appVersion"] == _pyproject()["project"]["version"] == "0.1.0"
    assert "dependencies" not in chart


def test_kopf_peering_is_gone_leader_election_replaced_it() -> None:
    """kopf peering is not leader election (issue 14): no subchart, no peering objects."""
    assert not (CHART / "charts").exists()
    assert not (CHART / "templates/peering.yaml").exists()
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert "peering" not in values
    assert values["leaderElection"]["enabled"] is True
    assert values["replicaCount"] == 2


def _schema_paths(schema: dict[str, Any], prefix: str = "") -> set[str]:
    paths = set()
    for name, sub in schema.get("properties", {}).items():
        paths.add(prefix + name)
        if sub.get("type") == "object" and sub.get("additionalProperties") is False:
            paths |= _schema_paths(sub, prefix + name + ".")
    return paths


def _value_paths(values: dict[str, Any], schema: dict[str, Any], prefix: str = "") -> set[str]:
    paths = set()
    for name, value in values.items():
        paths.add(prefix + name)
        sub = schema.get("properties", {}).get(name, {})
        if isinstance(value, dict) and sub.get("additionalProperties") is False:
            paths |= _value_paths(value, sub, prefix + name + ".")
    return paths


def test_every_value_is_in_the_schema_and_the_schema_is_closed() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert schema["additionalProperties"] is False
    assert _value_paths(values, schema) <= _schema_paths(schema)
    # Every key of the schema but Helm's own (global) has a default in values.yaml.
    assert _schema_paths(schema) - _value_paths(values, schema) == {"global"}


def test_the_schema_needs_no_network() -> None:
    """Helm fetches a remote $schema; draft-07's is built in, and no $ref leaves the file."""
    text = (CHART / "values.schema.json").read_text()
    assert json.loads(text)["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert '"$ref"' not in text


# --- Dockerfile -------------------------------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    result = []
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            instruction, _, arguments = stripped.partition(" ")
            result.append((instruction.upper(), " ".join(arguments.split())))
    return result


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for instruction in _instructions():
        if instruction[0] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def test_dockerfile_is_multi_stage_on_slim_python_311_or_newer() -> None:
    args = dict(a.split("=", 1) for i, a in _instructions() if i == "ARG" and "=" in a)
    image = args["PYTHON_IMAGE"]
    match = re.fullmatch(r"python:3\.(\d+)-slim(-\w+)?", image)
    assert match, image
    assert int(match.group(1)) >= 11, image
    builder, runtime = _stages()
    assert builder[0] == ("FROM", "${PYTHON_IMAGE} AS builder")
    assert runtime[0] == ("FROM", "${PYTHON_IMAGE}")


def test_dockerfile_installs_runtime_dependencies_only() -> None:
    builder, runtime = _stages()
    runs = [a for i, a in builder if i == "RUN" and "pip install" in a]
    assert runs == ["pip install --no-cache-dir ."], "no extras: not [dev]"
    assert not any("pip" in a for i, a in runtime if i == "RUN")
    assert ("COPY", "--from=builder /opt/venv /opt/venv") in runtime


def test_dockerfile_runs_replica_operator_run_as_a_numeric_non_root_user() -> None:
    runtime = _stages()[-1]
    users = [a for i, a in runtime if i == "USER"]
    assert users == ["65532:65532"]
    assert ("ENTRYPOINT", '["replica-operator", "run"]') in runtime
    assert ("EXPOSE", "8080 9090") in runtime
    labels = " ".join(a for i, a in runtime if i == "LABEL")
    for label in ("title", "description", "version", "revision", "licenses", "source"):
        assert f"org.opencontainers.image.{label}=" in labels


def test_dockerignore_lets_in_exactly_what_the_dockerfile_copies() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*", "an allow-list: everything is out unless listed"
    allowed = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    copied = set()
    for instruction, arguments in _stages()[0]:
        if instruction == "COPY" and not arguments.startswith("--from"):
            copied |= {source.rstrip("/") for source in arguments.split()[:-1]}
    assert copied == allowed
    for source in copied:
        assert (ROOT / source).exists(), source
    excluded = [p for p in patterns[1:] if not p.startswith("!")]
    assert any(fnmatch.fnmatch("operator/replica_operator/__pycache__", p) for p in excluded)


# --- docs -------------------------------------------------------------------------------------


def test_install_doc_covers_helm_and_kubectl() -> None:
    text = (ROOT / "docs" / "install.md").read_text()
    assert "helm install" in text
    assert "charts/infinibox-replica-operator" in text
    assert "kubectl apply --server-side -f crds/" in text
    assert "helm template" in text
    assert "### High availability: leader election on a Lease" in text
    assert "kopf peering, which earlier versions offered here,\nis gone" in text


@pytest.mark.parametrize(
    "phrase",
    [
        "argocd.argoproj.io/compare-options: ServerSideDiff=true",
        "SkipDryRunOnMissingResource=true",
        "writes only `status`",
        "no schema defaults",
    ],
)
def test_argocd_doc_says(phrase: str) -> None:
    assert phrase in (ROOT / "docs" / "argocd.md").read_text()
