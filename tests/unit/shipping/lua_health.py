"""Run Argo CD health scripts the way Argo CD does: Lua 5.1, a global ``obj`` table, a returned ``hs``.

Argo CD runs them in gopher-lua (Lua 5.1) with the object converted from JSON: objects become
tables, arrays 1-based tables, null nil. lupa's embedded Lua 5.1 gives the same language.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from lupa import lua51

ROOT = Path(__file__).resolve().parents[3]
CUSTOMIZATIONS = ROOT / "deploy" / "argocd" / "resource_customizations"
GROUP = "replication.infinibox.io"
KINDS = ("Replica", "ConsistencyGroupReplica", "InfiniBox")


def kind_dir(kind: str) -> Path:
    return CUSTOMIZATIONS / GROUP / kind


@dataclass(frozen=True)
class Health:
    status: str
    message: str


def _to_lua(runtime: Any, value: Any) -> Any:
    if isinstance(value, dict):
        return runtime.table_from({key: _to_lua(runtime, item) for key, item in value.items()})
    if isinstance(value, list):
        return runtime.table_from([_to_lua(runtime, item) for item in value])
    return value


def evaluate(script: str, obj: dict[str, Any]) -> Health:
    """Run ``script`` on ``obj`` in a fresh Lua 5.1 runtime; return ``hs``."""
    runtime = lua51.LuaRuntime(unpack_returned_tuples=True)
    runtime.globals().obj = _to_lua(runtime, obj)
    hs = runtime.execute(script)
    assert hs is not None, "the script returned nothing"
    status, message = hs["status"], hs["message"]
    assert isinstance(status, str), f"hs.status is {status!r}"
    return Health(status=status, message=message if isinstance(message, str) else "")


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
