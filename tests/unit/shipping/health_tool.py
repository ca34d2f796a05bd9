"""The health helper (tools/health): kstatus and Argo CD health of objects, from the real libraries.

kstatus is sigs.k8s.io/cli-utils' ``status.Compute`` (what Flux's health checks read); Argo CD's
health is the Lua customization run in gopher-lua with only what Argo CD opens (base, package,
table, its safe os), ``obj`` as a table and a 1 s timeout. The binary is built once and cached by
``controlplane.binaries.ensure_health`` (``make binaries``).
"""

from __future__ import annotations

import functools
import json
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HELPER_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Health:
    status: str
    message: str


@dataclass(frozen=True)
class Verdict:
    """The helper's answer for one object."""

    kind: str
    namespace: str
    name: str
    kstatus: Health
    argocd: Health | None
    lua_error: str | None


@functools.cache
def binary() -> Path:
    from controlplane.binaries import ensure_health

    return ensure_health()


def judge(
    objects: Sequence[Mapping[str, Any]],
    *,
    argocd_cm: Path | None = None,
    scripts: Mapping[str, Path] | None = None,
) -> list[Verdict]:
    """Run the helper on ``objects``; scripts by Argo CD key (``group_Kind``) or from an argocd-cm."""
    argv = [str(binary())]
    if argocd_cm is not None:
        argv += ["-argocd-cm", str(argocd_cm)]
    for key, path in (scripts or {}).items():
        argv += ["-script", f"{key}={path}"]
    stdin = json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)})
    result = subprocess.run(
        argv, input=stdin, capture_output=True, text=True, timeout=HELPER_TIMEOUT_SECONDS, check=False
    )
    assert result.returncode == 0, f"the health helper failed: {result.stderr}"
    verdicts = [_verdict(json.loads(line)) for line in result.stdout.splitlines()]
    assert len(verdicts) == len(objects), result.stdout
    return verdicts


def _verdict(line: Mapping[str, Any]) -> Verdict:
    argocd = line.get("argocd")
    return Verdict(
        kind=line["kind"],
        namespace=line.get("namespace", ""),
        name=line["name"],
        kstatus=Health(**line["kstatus"]),
        argocd=Health(**argocd) if argocd is not None else None,
        lua_error=line.get("luaError"),
    )
