"""The metrics the operator exports, read from prometheus_client's registry in a fresh interpreter.

Every module of replica_operator is imported (metrics may be defined beside the code that sets them,
e.g. leader election), in a subprocess so that kopf's handler registry of the test process stays
untouched. Names are the exposition's sample names: a Counter ``x`` is scraped as ``x_total``, a
Histogram ``h`` as ``h_bucket``, ``h_sum`` and ``h_count``.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from dataclasses import dataclass

_DUMP = r"""
import importlib, json, pkgutil
import replica_operator
from prometheus_client import REGISTRY
for module in pkgutil.walk_packages(replica_operator.__path__, "replica_operator."):
    importlib.import_module(module.name)
families = {}
for collector in set(REGISTRY._names_to_collectors.values()):
    for family in getattr(collector, "describe", collector.collect)():
        families[family.name] = {"type": family.type, "labels": list(getattr(collector, "_labelnames", ()))}
print(json.dumps(families))
"""

_SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
    "info": ("_info",),
}


@dataclass(frozen=True)
class Family:
    name: str
    type: str
    labels: tuple[str, ...]


@functools.cache
def families() -> dict[str, Family]:
    """Metric families by family name (``replica_operator_reconcile``, not ``..._total``)."""
    dumped = subprocess.run(
        [sys.executable, "-c", _DUMP], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    return {
        name: Family(name, spec["type"], tuple(spec["labels"])) for name, spec in json.loads(dumped).items()
    }


@functools.cache
def exported() -> dict[str, Family]:
    """Every sample name a scrape of the operator can show, and the family it belongs to."""
    return {
        family.name + suffix: family
        for family in families().values()
        for suffix in _SUFFIXES.get(family.type, ("",))
    }
