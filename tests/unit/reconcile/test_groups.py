"""A claim selector's group: the selector's query text, which claims make the group or why it
waits, its name, and the member changes (from whatever the array holds now to exactly the claims)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from replica_operator.api import LabelSelector
from replica_operator.reconcile import (
    ClaimVolume,
    Problem,
    membership,
    owned_group_name,
    selected_volumes,
    selector_string,
)
from replica_operator.reconcile.desired import MAX_GROUP_NAME
from replica_operator.reconcile.volumes import CSI_DRIVER

ids = st.sets(st.integers(min_value=1, max_value=60))


@given(wanted=ids, current=ids)
def test_membership_brings_any_group_to_exactly_the_wanted_members(
    wanted: set[int], current: set[int]
) -> None:
    plan = membership(wanted, current)
    assert set(plan.add).isdisjoint(current)
    assert set(plan.remove) <= current
    assert (current - set(plan.remove)) | set(plan.add) == wanted
    assert plan.changes == (wanted != current)
    assert not membership(wanted, wanted).changes  # re-read after acting: nothing left to do


@given(
    namespace=st.from_regex(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", fullmatch=True),
    name=st.from_regex(r"[a-z0-9]([-a-z0-9.]{0,200}[a-z0-9])?", fullmatch=True),
    uids=st.lists(st.uuids().map(str), min_size=2, max_size=2, unique=True),
)
def test_group_names_are_bounded_deterministic_and_one_per_object(
    namespace: str, name: str, uids: list[str]
) -> None:
    first, second = (owned_group_name(namespace, name, uid) for uid in uids)
    assert len(first) <= MAX_GROUP_NAME
    assert first.startswith("iro-")
    assert first == owned_group_name(namespace, name, uids[0])
    assert first != second


def test_selector_text_is_what_the_api_server_parses() -> None:
    selector = LabelSelector.model_validate(
        {
            "matchLabels": {"app": "db", "tier": "data"},
            "matchExpressions": [
                {"key": "zone", "operator": "In", "values": ["a", "b"]},
                {"key": "legacy", "operator": "NotIn", "values": ["yes"]},
                {"key": "replicate", "operator": "Exists"},
                {"key": "scratch", "operator": "DoesNotExist"},
            ],
        }
    )
    assert selector_string(selector) == (
        "app=db,tier=data,zone in (a,b),legacy notin (yes),replicate,!scratch"
    )
    assert selector_string(LabelSelector()) == ""


def _claim(
    name: str, volume: str | None = None, *, phase: str = "Bound", deleting: bool = False
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        **({"deletionTimestamp": "2026-01-01T00:00:00Z"} if deleting else {}),
    }
    return {
        "metadata": meta,
        "spec": {"volumeName": volume},
        "status": {"phase": phase if volume else "Pending"},
    }


def _pv(name: str, handle: str, driver: str = CSI_DRIVER) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"csi": {"driver": driver, "volumeHandle": handle}}}


def test_no_claim_selected_waits_rather_than_making_an_empty_group() -> None:
    problem = selected_volumes([_claim("gone", "pv-1", deleting=True)], {"pv-1": _pv("pv-1", "5$$iscsi")})
    assert isinstance(problem, Problem)
    assert (problem.reason, problem.retryable) == ("NoClaimsSelected", True)


def test_unbound_claims_wait_and_are_named() -> None:
    claims = [_claim("data-1"), _claim("data-0", "pv-0"), _claim("data-2")]
    problem = selected_volumes(claims, {"pv-0": _pv("pv-0", "5$$iscsi")})
    assert isinstance(problem, Problem)
    assert (problem.reason, problem.retryable) == ("ClaimNotBound", True)
    assert "data-1, data-2" in problem.message
    assert "data-0" not in problem.message


def test_claims_the_group_cannot_hold_are_refused_by_name() -> None:
    claims = [_claim("ok", "pv-ok"), _claim("other", "pv-other"), _claim("tq", "pv-tq")]
    volumes = {
        "pv-ok": _pv("pv-ok", "5$$iscsi"),
        "pv-other": _pv("pv-other", "x", driver="ebs.csi.aws.com"),
        "pv-tq": _pv("pv-tq", "7#3$$nfs_treeq"),
    }
    problem = selected_volumes(claims, volumes)
    assert isinstance(problem, Problem)
    assert (problem.reason, problem.retryable) == ("NotInfiniboxVolume", False)
    assert "other:" in problem.message
    assert "tq:" in problem.message
    assert "ok:" not in problem.message


def test_block_and_file_claims_are_not_mixed_in_one_group() -> None:
    claims = [_claim("blk", "pv-1"), _claim("fc", "pv-2"), _claim("files", "pv-3")]
    volumes = {"pv-1": _pv("pv-1", "5$$iscsi"), "pv-2": _pv("pv-2", "6$$fc"), "pv-3": _pv("pv-3", "9$$nfs")}
    problem = selected_volumes(claims, volumes)
    assert isinstance(problem, Problem)
    assert problem.reason == "MixedProtocols"
    assert "blk, fc" in problem.message
    assert "files" in problem.message


def test_bound_claims_of_one_dataset_type_make_the_group_in_name_order() -> None:
    claims = [_claim("data-1", "pv-1"), _claim("data-0", "pv-0")]
    volumes = {"pv-0": _pv("pv-0", "5$$iscsi"), "pv-1": _pv("pv-1", "6$$fc")}
    found = selected_volumes(claims, volumes)
    assert isinstance(found, list)
    assert [(c.claim, c.volume.entity_id) for c in found] == [("data-0", 5), ("data-1", 6)]
    assert all(isinstance(c, ClaimVolume) for c in found)
