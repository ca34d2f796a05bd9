"""The chaos checker fires: hand-made logs and array states that break each invariant are caught,
and their lawful twins are not (a checker that cannot fail proves nothing)."""

from __future__ import annotations

from typing import Any

from tests.e2e.chaos import invariants as inv

A, B = "op-a", "op-b"
OWNER, INTRUDER = "0b5e1c7a-0000-4000-8000-000000000001", "0b5e1c7a-0000-4000-8000-000000000002"


def req(
    seq: int, method: str, path: str, *, pod: str | None = A, at: float = 10.0, **fields: Any
) -> dict[str, Any]:
    client = "python-httpx/0.28" if pod is None else f"infinibox-replica-operator/0.1.0 ({pod})"
    entry = {"seq": seq, "system": "ibox-1", "method": method, "path": f"/api/rest{path}", "status": 200}
    return {**entry, "array_status": 200, "started": at, "client": client, **fields}


def row(
    replica_id: int, uid: str | None, *, system: str = "ibox-1", entity: int = 7, **fields: Any
) -> dict[str, Any]:
    description = f"k8s-uid={uid} k8s-object=ns/x" if uid else ""
    base = {"id": replica_id, "system": system, "peer_system": "ibox-2", "description": description}
    return {**base, "link_id": 1, "entity_type": "VOLUME", "local_entity_id": entity, **fields}


def test_a_gap_in_the_followed_log_is_a_violation() -> None:
    assert inv.check_log_complete([req(5, "GET", "/replicas"), req(6, "GET", "/replicas")], 5) == []
    [gap] = inv.check_log_complete([req(5, "GET", "/replicas"), req(9, "GET", "/replicas")], 5)
    assert "6..8 lost" in gap


def test_i_a_mutation_of_a_protected_replica_fires() -> None:
    protected = {("ibox-1", 100): "a/owner"}
    log = [
        req(1, "POST", "/replicas/100/suspend", at=5.0),  # before the protected period: setup
        req(2, "GET", "/replicas/100"),  # a read
        req(3, "POST", "/replicas/101/suspend"),  # someone's own replica
        req(4, "PUT", "/replicas/100", pod=None),  # the test's own request
    ]
    assert inv.check_foreign_mutations(log, protected, since=6.0) == []
    found = inv.check_foreign_mutations(
        [*log, req(5, "POST", "/replicas/100/resume"), req(6, "DELETE", "/replicas/100")], protected, 6.0
    )
    assert len(found) == 2
    assert all("a/owner" in f for f in found)


def test_ii_an_action_id_executed_twice_fires() -> None:
    marks = {("ibox-1", 100): {OWNER}}
    actions = [
        inv.ActionSet(OWNER, "sw-1", "SwitchRole", at=1.0),
        inv.ActionSet(OWNER, "sw-2", "SwitchRole", at=20.0),
    ]
    once = [
        req(1, "POST", "/replicas/100/switch_role", at=2.0, status=0),  # answer lost, the array acted
        req(2, "POST", "/replicas/100/switch_role", at=3.0, status=503, array_status=0),  # never reached it
        req(3, "POST", "/replicas/100/switch_role", at=21.0),  # the second id
    ]
    assert inv.check_actions_once(once, actions, marks) == ([], 2)
    twice = [*once[:1], req(4, "POST", "/replicas/100/switch_role", at=4.0, status=500, array_status=200)]
    found, executed = inv.check_actions_once(twice, actions, marks)
    assert executed == 2
    assert len(found) == 1
    assert "ran twice" in found[0]
    # A kind of action that was never asked for, and one on nobody's replica.
    stray = [req(5, "POST", "/replicas/100/sync"), req(6, "POST", "/replicas/555/change_role")]
    found, _ = inv.check_actions_once(stray, actions, marks)
    assert len(found) == 2
    assert "no object's replica" in found[1]
    # A replica taken over by a re-created object: an id of either owner may run on it, once.
    renewed = inv.ActionSet(INTRUDER, "sw-3", "SwitchRole", at=1.5)
    taken = {("ibox-1", 100): {OWNER, INTRUDER}}
    assert inv.check_actions_once(twice, [*actions, renewed], taken) == ([], 2)


def test_iii_a_replica_without_a_live_owner_or_an_orphaned_event_fires() -> None:
    rows = [row(100, OWNER), row(200, INTRUDER), row(300, None)]
    found = inv.check_owners(rows, {OWNER}, set())
    assert [f.split(" is ")[0] for f in found] == [
        "(iii) replica 200 on ibox-1",
        "(iii) replica 300 on ibox-1",
    ]
    events = [
        {
            "reason": "Orphaned",
            "message": "replica 200 (source array src) is left on the arrays: deletionPolicy is Orphan",
        },
        {"reason": "Deleted", "message": "replica 300 (source array src) deleted"},
    ]
    orphaned = inv.orphaned_keys(events, {"src": "ibox-1", "dst": "ibox-2"})
    assert orphaned == {("ibox-1", 200)}
    # The target side of an orphaned pair is covered by its peer's Event.
    target = row(201, INTRUDER, system="ibox-2", remote_replica_id=200, peer_system="ibox-1")
    assert inv.check_owners([*rows[:2], target], {OWNER}, orphaned) == []


def test_iv_two_replicas_of_one_entity_on_one_link_fire() -> None:
    rows = [row(100, OWNER), row(101, OWNER, entity=8), row(102, OWNER, entity=7, link_id=2)]
    assert inv.check_no_duplicates(rows) == []
    [found] = inv.check_no_duplicates([*rows, row(103, INTRUDER)])
    assert "[100, 103]" in found


def test_v_a_request_from_the_standby_fires() -> None:
    tenures = [inv.Tenure(A, 1.0), inv.Tenure(B, 30.0)]
    log = [
        req(1, "GET", "/replicas", pod=A, at=2.0),
        req(2, "GET", "/replicas", pod=A, at=29.9),  # in flight when A was killed: still A's tenure
        req(3, "GET", "/replicas", pod=B, at=31.0),
        req(4, "GET", "/replicas", pod=None, at=15.0),  # the test's own read
    ]
    assert inv.check_only_the_leader(log, tenures) == []
    found = inv.check_only_the_leader(
        [*log, req(5, "GET", "/system", pod=B, at=12.0), req(6, "GET", "/system", pod=A, at=31.5)], tenures
    )
    assert [f.split(" from ")[1] for f in found] == [
        "op-b while op-a held the Lease",
        "op-a while op-b held the Lease",
    ]
    [unnamed] = inv.check_only_the_leader([req(7, "GET", "/system", pod="", at=0.5)], tenures)
    assert "an unnamed pod while nobody" in unnamed


def test_marks_and_pods_are_read_from_the_rows_and_the_user_agent() -> None:
    assert inv.marks_of([row(100, OWNER), row(300, None)]) == {("ibox-1", 100): OWNER}
    assert inv.pod_of(req(1, "GET", "/x", pod=B)) == B
    assert inv.pod_of(req(1, "GET", "/x", pod=None)) is None
