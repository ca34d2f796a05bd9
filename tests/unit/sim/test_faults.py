"""Fault decisions, made from a seeded generator without any I/O."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from pydantic import ValidationError

from ibox_sim.faults import PASS, FaultInjector, FaultSpec


def _injector(seed: int = 1, **spec: object) -> FaultInjector:
    injector = FaultInjector(random.Random(seed))
    injector.set(FaultSpec.model_validate(spec))
    return injector


def test_nothing_happens_without_faults() -> None:
    injector = FaultInjector(random.Random(0))
    assert injector.decide("ibox-1", "/api/rest/system") is PASS
    injector.set(FaultSpec(latency_ms=5))
    injector.clear()
    assert injector.decide("ibox-1", "/api/rest/system") is PASS


def test_latency_only() -> None:
    decision = _injector(latency_ms=250).decide("ibox-1", "/api/rest/pools")
    assert (decision.latency_seconds, decision.action, decision.status) == (0.25, "pass", None)


def test_error_rate_picks_5xx_statuses() -> None:
    injector = _injector(error_rate=0.5)
    decisions = [injector.decide("ibox-1", "/api/rest/replicas") for _ in range(2000)]
    errors = [d for d in decisions if d.action == "error"]
    assert 850 < len(errors) < 1150
    statuses = Counter(d.status for d in errors)
    assert set(statuses) == {500, 502, 503}
    assert {d.code for d in errors} == {"INTERNAL_ERROR", "SERVICE_UNAVAILABLE"}


def test_drop_rate() -> None:
    injector = _injector(drop_rate=0.25)
    actions = Counter(injector.decide("ibox-1", "/api/rest/replicas").action for _ in range(4000))
    assert 850 < actions["drop"] < 1150
    assert actions["error"] == 0


def test_same_seed_same_decisions() -> None:
    a, b = _injector(7, error_rate=0.3, drop_rate=0.2), _injector(7, error_rate=0.3, drop_rate=0.2)
    first = [a.decide("a", "/x") for _ in range(200)]
    assert first == [b.decide("a", "/x") for _ in range(200)]
    assert len({d.action for d in first}) == 3  # the sequence mixes pass, error and drop


def test_certain_faults() -> None:
    assert _injector(error_rate=1.0).decide("ibox-1", "/api/rest/x").action == "error"
    assert _injector(drop_rate=1.0, error_rate=1.0).decide("ibox-1", "/api/rest/x").action == "drop"


def test_scope_by_system_and_path() -> None:
    injector = _injector(error_rate=1.0, systems=["ibox-2"], path_regex=r"^/api/rest/replicas")
    assert injector.decide("ibox-1", "/api/rest/replicas").action == "pass"
    assert injector.decide("ibox-2", "/api/rest/pools").action == "pass"
    assert injector.decide("ibox-2", "/api/rest/replicas/5").action == "error"
    assert injector.applies("ibox-2", "/api/rest/replicas")
    assert not injector.applies("ibox-1", "/api/rest/replicas")


def test_scope_by_method_and_phase() -> None:
    injector = _injector(drop_rate=1.0, methods=["post"], phase="after")
    assert injector.decide("ibox-1", "/api/rest/replicas", "GET").action == "pass"
    dropped = injector.decide("ibox-1", "/api/rest/replicas", "POST")
    assert dropped.action == "drop"
    assert dropped.after
    assert not _injector(drop_rate=1.0).decide("ibox-1", "/api/rest/replicas", "POST").after


@pytest.mark.parametrize(
    "spec",
    [
        {"error_rate": 1.5},
        {"drop_rate": -0.1},
        {"latency_ms": -1},
        {"path_regex": "("},
        {"surprise": 1},
        {"phase": "during"},
    ],
)
def test_invalid_specs(spec: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        FaultSpec.model_validate(spec)
