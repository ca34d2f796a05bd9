"""`make mutation`: mutmut over the pure rules and the shell's decision points, with a score per area.

mutmut (3.x) imports the mutated copy only from ``./``, ``src/`` or ``source/`` and names each
mutant after its path, so the operator (``operator/replica_operator``) is staged as
``.mutation/src/replica_operator`` beside a copy of ``tests/`` and of ``pyproject.toml`` (whose
``[tool.mutmut]`` section is the configuration). Run from the repository's own layout, mutmut
finds no test for any mutant: the tests import ``replica_operator``, mutmut expects
``operator.replica_operator``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
import tomllib
from collections import Counter
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STAGE = ROOT / ".mutation"
MUTANTS = STAGE / "mutants"
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
# mutmut's exit codes per mutant (mutmut/stats.py): a timeout counts as killed, as mutmut counts it.
_KILLED = {1, 3, 24, 36, 152, 255, -24}
_SURVIVED = {0}
_NO_TESTS = {5, 33}


def stage() -> None:
    """Refresh the staged copy; drop mutmut's copies of the files it does not mutate (it never
    refreshes them itself), so a changed helper module is never tested in its old version."""
    shutil.rmtree(STAGE / "src", ignore_errors=True)
    shutil.rmtree(STAGE / "tests", ignore_errors=True)
    package = STAGE / "src" / "replica_operator"
    shutil.copytree(ROOT / "operator" / "replica_operator", package, ignore=_IGNORE)
    shutil.copytree(ROOT / "tests", STAGE / "tests", ignore=_IGNORE)
    shutil.copy2(ROOT / "pyproject.toml", STAGE / "pyproject.toml")
    copied = MUTANTS / "src"
    if copied.is_dir():
        for path in copied.rglob("*"):
            if path.is_file() and path.suffix != ".meta" and not Path(f"{path}.meta").exists():
                path.unlink()
    shutil.rmtree(MUTANTS / "tests", ignore_errors=True)


def areas() -> dict[str, list[str]]:
    """The areas to score, from ``[tool.mutmut]``'s ``only_mutate``: the rules and the shell."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    patterns: list[str] = config["only_mutate"]
    return {
        "reconcile": [p for p in patterns if "/reconcile/" in p],
        "controller": [p for p in patterns if "/controller/" in p],
    }


def score() -> dict[str, dict[str, int | float]]:
    """Count the verdicts mutmut stored in its ``.meta`` files, per area."""
    result: dict[str, dict[str, int | float]] = {}
    for area, patterns in areas().items():
        counts: Counter[str] = Counter()
        for meta in sorted(MUTANTS.rglob("*.py.meta")):
            source = str(meta.relative_to(MUTANTS))[: -len(".meta")]
            if not any(fnmatch(source, p) for p in patterns):
                continue
            for code in json.loads(meta.read_text())["exit_code_by_key"].values():
                counts[verdict(code)] += 1
        total = sum(counts.values())
        killed = counts["killed"]
        result[area] = {
            "mutants": total,
            **dict(counts),
            "score_percent": round(100 * killed / total, 1) if total else 0.0,
        }
    return result


def verdict(code: int | None) -> str:
    """One word per mutmut exit code; anything unexpected is ``other`` and counts as not killed."""
    if code in _KILLED:
        return "killed"
    if code in _SURVIVED:
        return "survived"
    if code in _NO_TESTS:
        return "no_tests"
    if code is None:
        return "not_checked"
    return "other"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-children", type=int, default=2, help="parallel mutants (2 cores here)")
    parser.add_argument("--fresh", action="store_true", help="forget mutmut's earlier verdicts")
    parser.add_argument("mutants", nargs="*", help="mutant names or globs to (re)run; default all")
    args = parser.parse_args()
    if args.fresh:
        shutil.rmtree(STAGE, ignore_errors=True)
    STAGE.mkdir(exist_ok=True)
    stage()
    mutmut = Path(sys.executable).with_name("mutmut")
    started = time.monotonic()
    run = subprocess.run(
        [str(mutmut), "run", "--max-children", str(args.max_children), *args.mutants], cwd=STAGE, check=False
    )
    elapsed = time.monotonic() - started
    subprocess.run([str(mutmut), "results"], cwd=STAGE, check=False)
    figures = {"seconds": round(elapsed), "areas": score()}
    (STAGE / "score.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
