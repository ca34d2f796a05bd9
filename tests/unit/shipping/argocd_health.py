"""Our Argo CD health scripts and their testdata, evaluated through the health helper.

One script serves both replication kinds (their status is the same): deploy/argocd/health/
replication.lua; the InfiniBox has its own. Each kind keeps Argo CD's test layout: a
``health_test.yaml`` listing ``testdata/`` objects and the health each must get.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.unit.shipping.health_tool import Health, Verdict, judge

ROOT = Path(__file__).resolve().parents[3]
HEALTH_DIR = ROOT / "deploy" / "argocd" / "health"
CONFIGMAP = ROOT / "deploy" / "argocd" / "argocd-cm.yaml"
GROUP = "replication.infinibox.io"
SCRIPTS = {
    "Replica": HEALTH_DIR / "replication.lua",
    "ConsistencyGroupReplica": HEALTH_DIR / "replication.lua",
    "InfiniBox": HEALTH_DIR / "infinibox.lua",
}
KINDS = tuple(SCRIPTS)


def kind_dir(kind: str) -> Path:
    """Where a kind's health_test.yaml and testdata/ live."""
    return HEALTH_DIR / kind


def key(kind: str) -> str:
    """Argo CD's name for a kind's customization: ``<group>_<Kind>``."""
    return f"{GROUP}_{kind}"


def installed(objects: list[Mapping[str, Any]]) -> list[Verdict]:
    """The verdicts with the scripts as the argocd-cm snippet installs them."""
    return judge(objects, argocd_cm=CONFIGMAP)


def evaluate(obj: Mapping[str, Any]) -> Health:
    """Argo CD's health of one object, by the installed script of its kind; a Lua error fails."""
    (verdict,) = installed([obj])
    assert verdict.lua_error is None, f"the health script failed: {verdict.lua_error}"
    assert verdict.argocd is not None, f"no health script is installed for {obj['kind']}"
    return verdict.argocd


@dataclass(frozen=True)
class HealthCase:
    kind: str
    input_path: str
    expected: Health

    @property
    def id(self) -> str:
        return f"{self.kind}/{Path(self.input_path).stem}"

    def load(self) -> dict[str, Any]:
        data = yaml.safe_load((kind_dir(self.kind) / self.input_path).read_text())
        assert isinstance(data, dict)
        return data


def cases(kind: str) -> list[HealthCase]:
    """The cases of ``<kind>/health_test.yaml``, in Argo CD's format."""
    spec = yaml.safe_load((kind_dir(kind) / "health_test.yaml").read_text())
    return [
        HealthCase(
            kind=kind,
            input_path=test["inputPath"],
            expected=Health(status=test["healthStatus"]["status"], message=test["healthStatus"]["message"]),
        )
        for test in spec["tests"]
    ]


def all_cases() -> list[HealthCase]:
    return [case for kind in KINDS for case in cases(kind)]
