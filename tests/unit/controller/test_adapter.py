"""The adapter: array models and enums into the rules' vocabulary, once."""

from __future__ import annotations

from typing import Any

from replica_operator import array
from replica_operator.api import ReplicationType
from replica_operator.controller import problem_from, to_array_replica
from replica_operator.controller.adapter import array_replication_type, entity_type
from replica_operator.reconcile import EntityKind, Role


def _replica(**fields: Any) -> array.Replica:
    return array.Replica.model_validate({"id": 5, "entity_type": "VOLUME", **fields})


def test_the_replication_type_becomes_the_api_enum() -> None:
    assert (
        to_array_replica(_replica(replication_type="SYNC"), "ibox-1").replication_type is ReplicationType.SYNC
    )
    view = to_array_replica(_replica(replication_type="ASYNC"), "ibox-1")
    assert view.replication_type is ReplicationType.ASYNC
    assert view.type_name == "ASYNC"


def test_a_type_the_rules_do_not_manage_is_none_but_still_shown() -> None:
    view = to_array_replica(_replica(replication_type="ACTIVE_ACTIVE"), "ibox-1")
    assert view.replication_type is None
    assert view.type_name == "ACTIVE_ACTIVE"


def test_roles_become_the_rules_roles() -> None:
    assert to_array_replica(_replica(role="SOURCE"), "a").role is Role.SOURCE
    assert to_array_replica(_replica(role="TARGET"), "a").role is Role.TARGET
    assert to_array_replica(_replica(), "a").role is Role.SOURCE  # no role reported: the source side
    assert to_array_replica(_replica(role="PRIMARY"), "a").role is Role.TARGET  # unknown: never the writer


def test_array_words_arrive_upper_cased() -> None:
    view = to_array_replica(_replica(state="active", sync_state="synchronized", rpo_state="ok"), "a")
    assert (view.state, view.sync_state, view.rpo_state) == ("ACTIVE", "SYNCHRONIZED", "OK")


def test_initializing_is_read_from_the_sync_state_or_the_initial_job() -> None:
    assert to_array_replica(_replica(sync_state="INITIALIZING_PENDING"), "a").initializing
    jobs = [{"id": 1, "state": "INITIALIZING"}]
    assert to_array_replica(_replica(is_initial=True, jobs=jobs), "a").initializing
    assert not to_array_replica(_replica(is_initial=False, jobs=jobs), "a").initializing


def test_group_members_pair_up_by_name() -> None:
    pairs = [
        {"local_entity_name": "m1", "remote_entity_name": "r1"},
        {"local_entity_name": "m2", "remote_entity_name": "r2"},
    ]
    view = to_array_replica(
        _replica(
            entity_type="CONSISTENCY_GROUP", local_cg_name="cg", remote_cg_name="cg-dr", entity_pairs=pairs
        ),
        "a",
    )
    assert (view.local_entity, view.remote_entity) == ("cg", "cg-dr")
    assert view.members == (("m1", "r1"), ("m2", "r2"))


def test_the_other_direction_speaks_the_arrays_words() -> None:
    assert array_replication_type(ReplicationType.SYNC) is array.ReplicationType.SYNC
    assert entity_type(EntityKind.FILESYSTEM) is array.EntityType.FILESYSTEM


def test_refused_credentials_are_not_retried_and_say_so() -> None:
    problem = problem_from(array.Unauthorized("ibox-1", "bad password", status_code=401))
    assert (problem.reason, problem.retryable) == ("Unauthorized", False)
    assert problem_from(array.Unavailable("ibox-1", "refused")).reason == "ArrayUnreachable"
