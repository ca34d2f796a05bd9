"""The findings that keep the rules from acting on a replica as read say which replica, where and why."""

from __future__ import annotations

from replica_operator.reconcile.caveats import unreadable_replica
from tests.unit.reconcile.builders import replica


def test_every_unreadable_field_is_named_and_nothing_is_changed() -> None:
    problem = unreadable_replica(replica(parse_problems=("progress: 'lots'", "rpo: -1")), "ibox-1")
    assert problem is not None
    assert problem.reason == "UnreadableField"
    assert problem.retryable
    assert problem.message == (
        "replica 101 on ibox-1 has fields the operator cannot read (progress: 'lots'; rpo: -1); "
        "nothing is changed until the array reports them readably"
    )


def test_an_unreadable_field_wins_over_an_unmanaged_type() -> None:
    odd = replica(parse_problems=("state: ?",), replication_type=None, unmanaged_type="ACTIVE_ACTIVE")
    problem = unreadable_replica(odd, "ibox-2")
    assert problem is not None
    assert problem.reason == "UnreadableField"


def test_an_unmanaged_type_is_named_as_the_array_words_it() -> None:
    problem = unreadable_replica(replica(replication_type=None, unmanaged_type="ACTIVE_ACTIVE"), "ibox-2")
    assert problem is not None
    assert problem.reason == "UnmanagedType"
    assert problem.message == (
        "replica 101 on ibox-2 is ACTIVE_ACTIVE, which the operator does not manage; it only reports it"
    )


def test_a_replica_with_no_type_at_all_says_so() -> None:
    problem = unreadable_replica(replica(replication_type=None, unmanaged_type=None), "ibox-2")
    assert problem is not None
    assert "replica 101 on ibox-2 is of no replication type, which" in problem.message


def test_a_readable_managed_replica_has_no_caveat() -> None:
    assert unreadable_replica(replica(), "ibox-1") is None
