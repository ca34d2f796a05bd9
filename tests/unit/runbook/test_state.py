"""Issue 18: what the runbook command decides from the two sites' objects alone."""

from __future__ import annotations

from typing import Any

from replica_operator.reconcile import TAKE_OVER_ANNOTATION
from replica_operator.runbook.state import (
    SiteView,
    action_outcome,
    claim_writable,
    handed_over,
    own_claim,
    planned_blocker,
    row,
    unplanned_blocker,
)

SPEC = {"replicationType": "ASYNC", "rpo": "1m", "syncInterval": "10s"}


def _view(
    site: str, *, policy: str = "Full", role: str = "SOURCE", ready: str = "True", **extra: Any
) -> SiteView:
    status: dict[str, Any] = {
        "role": role,
        "replicaId": 7,
        "observedGeneration": 3,
        "conditions": [
            {"type": "Ready", "status": ready, "reason": extra.pop("reason", "Synced")},
            {"type": "Synced", "status": "True", "reason": "Synced"},
        ],
        **extra.pop("status", {}),
    }
    body = {
        "metadata": {"generation": 3, "annotations": extra.pop("annotations", {})},
        "spec": {"source": {"array": f"ibox-{site.lower()}"}, "managementPolicy": policy, **SPEC, **extra},
        "status": status,
    }
    return SiteView(site, body=body)


def test_a_planned_failover_starts_from_the_managing_source_with_matching_specs() -> None:
    assert planned_blocker(_view("A"), _view("B", policy="ObserveOnly", role="TARGET")) is None


def test_a_planned_failover_refuses_when_a_site_is_away_or_the_specs_differ() -> None:
    b = _view("B", policy="ObserveOnly", role="TARGET")
    away = planned_blocker(_view("A"), SiteView("B", error="ConnectTimeoutError"))
    assert away is not None
    assert "site B is unreachable" in away
    differs = planned_blocker(_view("A"), _view("B", policy="ObserveOnly", role="TARGET", rpo="5m"))
    assert differs is not None
    assert "rpo: A='1m' B='5m'" in differs
    not_managing = planned_blocker(_view("A", policy="ObserveOnly"), b)
    assert not_managing is not None
    assert "does not manage" in not_managing
    conflict = planned_blocker(_view("A", reason="RoleConflict", ready="False"), b)
    assert conflict is not None
    assert "RoleConflict" in conflict


def test_a_planned_failover_whose_switch_is_done_goes_on_with_the_hand_over() -> None:
    assert planned_blocker(_view("A", role="TARGET"), _view("B", policy="ObserveOnly")) is None


def test_an_unplanned_failover_refuses_while_the_other_site_reports_the_pair_ready() -> None:
    b = _view("B", policy="ObserveOnly", role="TARGET")
    refused = unplanned_blocker(b, _view("A"))
    assert refused is not None
    assert "planned failover" in refused
    assert unplanned_blocker(b, SiteView("A", error="MaxRetryError")) is None
    assert unplanned_blocker(b, None) is None
    unseen = unplanned_blocker(_view("B", status={"replicaId": None}), None)
    assert unseen is not None
    assert "replicaId" in unseen


def test_action_outcome_follows_last_action_of_that_id_only() -> None:
    def with_last(last: dict[str, Any]) -> SiteView:
        return _view("A", status={"lastAction": last})

    assert action_outcome(with_last({"id": "old", "result": "Succeeded"}), "new")[:2] == (False, None)
    assert action_outcome(with_last({"id": "new", "result": "Succeeded"}), "new")[:2] == (True, None)
    failed = action_outcome(with_last({"id": "new", "result": "Failed", "message": "not SYNC"}), "new")
    assert failed[:2] == (False, "not SYNC")
    running = action_outcome(with_last({"id": "new", "result": "InProgress", "message": "waiting"}), "new")
    assert running == (False, None, "waiting")


def test_handed_over_needs_full_current_source_ready_and_synced() -> None:
    assert handed_over(_view("B")) is None
    left = handed_over(_view("B", role="TARGET"))
    assert left is not None
    assert "role TARGET" in left
    stale = _view("B")
    assert stale.body is not None
    stale.body["metadata"]["generation"] = 4  # type: ignore[index]
    assert handed_over(stale) is not None


def test_status_row_and_take_over_annotation() -> None:
    view = _view("B", policy="ObserveOnly", role="TARGET", annotations={TAKE_OVER_ANNOTATION: "7"})
    line = row(view)
    assert (line["array"], line["policy"], line["role"], line["ready"]) == (
        "ibox-b",
        "ObserveOnly",
        "TARGET",
        "True/Synced",
    )
    assert view.taking_over == 7
    assert line["writableClaim"] == "-"
    assert row(SiteView("A", error="ConnectTimeoutError")) == {
        "site": "A",
        "object": "unreachable: ConnectTimeoutError",
    }


def test_the_claim_is_writable_once_status_names_the_sites_own_claim() -> None:
    local = SiteView(
        "B", {"spec": {"source": {"array": "ibox-b", "volume": "db", "localClaim": {"name": "db"}}}}
    )
    assert own_claim(local) == "db"
    assert claim_writable(local) == "site B: writableClaim - (waiting for db)"
    done = SiteView("B", {**local.body, "status": {"writableClaim": {"name": "db"}}})  # type: ignore[dict-item]
    assert claim_writable(done) is None
    app = SiteView("A", {"spec": {"source": {"array": "ibox-a", "persistentVolumeClaim": "data"}}})
    assert own_claim(app) == "data"
    assert own_claim(SiteView("A", {"spec": {"source": {"array": "ibox-a", "volume": "db"}}})) is None
