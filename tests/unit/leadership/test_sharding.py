"""Shards: the selectors are disjoint, each shard has its Lease, bad names stop the start."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from replica_operator import __version__, sharding
from replica_operator.array import user_agent
from replica_operator.cli import main

NAMES = st.from_regex(r"\A[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?\Z")


def _matches(selector: str, labels: dict[str, str]) -> bool:
    """Kubernetes' meaning of the three selector forms ``sharding`` writes."""
    if selector.startswith("!"):
        return selector[1:] not in labels
    if "!=" in selector:
        key, value = selector.split("!=")
        return labels.get(key) != value
    if "=" in selector:
        key, value = selector.split("=")
        return labels.get(key) == value
    return selector in labels


@given(shards=st.lists(NAMES, unique=True, max_size=4), value=st.none() | NAMES)
def test_every_object_is_selected_by_exactly_one_instance(shards: list[str], value: str | None) -> None:
    """Whatever shards run, an object is one shard's, or the default shard's when unlabelled (an
    object labelled with a shard that does not run is no one's)."""
    labels = {} if value is None else {sharding.SHARD_LABEL: value}
    instances = [None, *shards]
    selecting = [s for s in instances if _matches(sharding.label_selector(s), labels)]
    assert selecting == ([value] if value in instances else [])
    for shard in instances:  # "every other shard" is the complement of this one
        others = _matches(sharding.other_shards_selector(shard), labels)
        assert others != _matches(sharding.label_selector(shard), labels)


def test_each_shard_has_its_own_lease_and_user_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    assert sharding.lease_name("iro", None) == "iro"
    assert sharding.lease_name("iro", "shard1") == "iro-shard1"
    monkeypatch.setenv("POD_NAME", "pod-a")
    assert user_agent("shard1") == f"infinibox-replica-operator/{__version__} shard/shard1 (pod-a)"
    assert user_agent(None) == f"infinibox-replica-operator/{__version__} (pod-a)"  # the default shard


def test_the_shard_option_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPLICA_OPERATOR_SHARD", "shard2")
    assert main.commands["run"].make_context("run", []).params["shard"] == "shard2"


@pytest.mark.parametrize("name", ["Shard1", "shard_1", "-a", "a" * 41])
def test_a_bad_shard_name_stops_the_start(name: str) -> None:
    result = CliRunner().invoke(main, ["run", f"--shard={name}"])
    assert result.exit_code == 2
    assert "must be a DNS label" in result.output
