"""The consistency group a claim-selector ConsistencyGroupReplica owns, by name: the operator finds it
again by that name after a restart, so the name is exactly ``iro-<namespace>-<name>-<digest>``."""

from __future__ import annotations

from replica_operator.reconcile import owned_group_name

UID = "3fb33b04-0000-4000-8000-000000000000"
DIGEST = "845105e5f8"  # the first 10 hex digits of sha256(UID)


def test_the_group_is_named_after_its_object_and_a_digest_of_its_uid() -> None:
    assert owned_group_name("app", "db", UID) == f"iro-app-db-{DIGEST}"


def test_dots_of_an_object_name_become_dashes() -> None:
    assert owned_group_name("app", "db.v2", UID) == f"iro-app-db-v2-{DIGEST}"


def test_a_long_name_is_cut_to_64_characters_without_a_dash_before_the_digest() -> None:
    name = "a" * 44 + "-" + "b" * 10  # the cut falls just after that dash
    assert owned_group_name("app", name, UID) == f"iro-app-{'a' * 44}-{DIGEST}"
    assert owned_group_name("app", "c" * 80, UID) == f"iro-app-{'c' * 45}-{DIGEST}"
    assert len(owned_group_name("app", "c" * 80, UID)) == 64
