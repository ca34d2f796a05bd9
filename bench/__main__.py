"""``python -m bench [SCENARIO ...]``: run benchmark scenarios, one JSON object of figures per line."""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import time
from pathlib import Path
from typing import Any


def scenarios() -> dict[str, Any]:
    """Every module in this package that defines ``NAME`` and ``run``."""
    found: dict[str, Any] = {}
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"bench.{info.name}")
        if hasattr(module, "NAME") and hasattr(module, "run"):
            found[module.NAME] = module
    return found


def main(argv: list[str] | None = None) -> int:
    available = scenarios()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "names", nargs="*", help=f"scenarios (default: all of {', '.join(sorted(available))})"
    )
    args = parser.parse_args(argv)
    unknown = set(args.names) - set(available)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    for name in args.names or sorted(available):
        started = time.monotonic()
        figures = available[name].run()
        figures = {"scenario": name, **figures, "wall_seconds": round(time.monotonic() - started, 2)}
        print(json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
