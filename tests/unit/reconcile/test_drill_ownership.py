"""Which pairs a ReplicaDrill may expose: never one another namespace's object marked."""

from __future__ import annotations

import pytest

from replica_operator.reconcile import marked_in_another_namespace, owner_mark

pytestmark = pytest.mark.unit

OURS = "11111111-1111-1111-1111-111111111111"
THEIRS = "22222222-2222-2222-2222-222222222222"


def test_a_pair_the_replica_itself_marked_may_be_drilled() -> None:
    assert marked_in_another_namespace(OURS, "app", [owner_mark(OURS, "app", "db"), None]) is None


def test_a_pair_marked_by_an_object_of_the_same_namespace_may_be_drilled() -> None:
    """The DR site: the marking object is site A's, under the same namespace, in the other cluster."""
    assert marked_in_another_namespace(OURS, "app", [owner_mark(THEIRS, "app", "db")]) is None


def test_a_pair_of_another_namespace_is_refused_naming_its_owner() -> None:
    owner = marked_in_another_namespace(OURS, "evil", [None, owner_mark(THEIRS, "app", "db")])
    assert owner == f"the object app/db (uid {THEIRS})"


def test_one_foreign_side_is_enough_to_refuse() -> None:
    sides = [owner_mark(THEIRS, "evil", "x"), owner_mark("33333333-3333-3333-3333-333333333333", "app", "db")]
    assert marked_in_another_namespace(OURS, "evil", sides) is not None


def test_a_namespace_that_only_starts_alike_is_another_namespace() -> None:
    assert marked_in_another_namespace(OURS, "app", [owner_mark(THEIRS, "app-prod", "db")]) is not None


def test_a_pair_nobody_marked_or_nobody_could_read_is_not_refused_here() -> None:
    assert marked_in_another_namespace(OURS, "app", ["made by hand", None]) is None
    assert marked_in_another_namespace(OURS, "app", []) is None


def test_a_pair_the_replica_marked_on_one_side_is_its_own_whatever_the_other_side_says() -> None:
    sides = [owner_mark(THEIRS, "evil", "x"), owner_mark(OURS, "app", "db")]
    assert marked_in_another_namespace(OURS, "app", sides) is None
