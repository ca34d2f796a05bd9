"""The ASYNC-only schedule rule: one helper, used by the models, the CEL rules and the rules."""

from __future__ import annotations

from datetime import timedelta

from replica_operator.api import ReplicaSpec, ReplicationType, schedule_applies
from replica_operator.api.replication import SPEC_RULES

SPEC = {
    "source": {"array": "a", "volume": "v"},
    "target": {"array": "b", "pool": "p"},
    "rpo": "5m",
    "syncInterval": "1m",
}


def test_only_async_has_a_schedule() -> None:
    assert schedule_applies(ReplicationType.ASYNC)
    assert not schedule_applies(ReplicationType.SYNC)
    assert not schedule_applies(None)


def test_the_spec_asks_for_its_schedule_only_when_async() -> None:
    assert ReplicaSpec.model_validate(SPEC).schedule() == (timedelta(minutes=5), timedelta(minutes=1))
    sync = ReplicaSpec.model_validate({**SPEC, "replicationType": "SYNC"})
    assert sync.schedule() == (None, None)


def test_the_cel_rules_forbid_a_schedule_outside_async() -> None:
    rules = {
        rule["fieldPath"]: rule["rule"] for rule in SPEC_RULES if rule.get("reason") == "FieldValueForbidden"
    }
    expected = "(!has(self.replicationType) || self.replicationType == 'ASYNC')"
    assert rules[".rpo"] == f"!has(self.rpo) || {expected}"
    assert rules[".syncInterval"] == f"!has(self.syncInterval) || {expected}"
