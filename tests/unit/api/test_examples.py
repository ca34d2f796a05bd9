"""Every example is a manifest the models accept, so the examples cannot rot silently."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from replica_operator.api import API_VERSION, RESOURCES, ActionType, ReplicaSpec, ReplicationType

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
FILES = sorted(EXAMPLES.rglob("*.yaml"))
SPEC_MODELS: dict[str, type[BaseModel]] = {resource.kind: resource.spec_model for resource in RESOURCES}


def _documents(path: Path) -> list[dict[str, Any]]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document]


def test_examples_exist_for_every_kind() -> None:
    kinds = {document["kind"] for path in FILES for document in _documents(path)}
    assert set(SPEC_MODELS) <= kinds


@pytest.mark.parametrize("path", FILES, ids=lambda path: str(path.relative_to(EXAMPLES)))
def test_example_specs_validate_against_the_models(path: Path) -> None:
    for document in _documents(path):
        if document["kind"] in SPEC_MODELS:
            assert document["apiVersion"] == API_VERSION
            SPEC_MODELS[document["kind"]].model_validate(document["spec"])


def test_planned_failover_is_a_sync_switch_role() -> None:
    (document,) = _documents(EXAMPLES / "day-2" / "planned-failover.yaml")
    spec = ReplicaSpec.model_validate(document["spec"])
    assert spec.replication_type is ReplicationType.SYNC
    assert spec.action is not None
    assert spec.action.type is ActionType.SWITCH_ROLE
    assert spec.action.id == "failover-2026-11-25"
