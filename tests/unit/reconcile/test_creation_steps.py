"""The Create step carries what the array is sent: its values, its mark, and where a re-create goes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from replica_operator.api import TargetMode
from replica_operator.reconcile import Create, RemoteSide, SideName
from replica_operator.reconcile.creation import create_step, recreate_step
from replica_operator.reconcile.desired import MAX_GROUP_NAME, owned_group_name
from tests.unit.reconcile.builders import UID, desired

CG_TARGET = {"array": "ibox-2", "pool": "pool-1"}


def test_a_new_replica_is_marked_with_the_objects_uid_and_name_and_sends_the_schedule() -> None:
    step = create_step(desired({"rpo": "10m", "syncInterval": "30s"}), entity_id=77)
    assert step.description == f"k8s-uid={UID} k8s-object=ns/rep"
    assert (step.rpo, step.sync_interval) == (timedelta(minutes=10), timedelta(seconds=30))
    assert (step.side, step.entity, step.entity_id) == (SideName.SOURCE, "vol-1", 77)
    assert not step.recreate  # a first create: the remote entity is made from the spec


def test_a_group_created_as_new_names_its_remote_group() -> None:
    wanted = desired({"target": {**CG_TARGET, "name": "cg-1-dr"}}, kind="ConsistencyGroupReplica")
    assert create_step(wanted).remote == RemoteSide(mode=TargetMode.CREATE, pool="pool-1", name="cg-1-dr")


@pytest.mark.parametrize(
    "status",
    [
        {"replicaId": 101},  # status never saw the target
        {"replicaId": 101, "currentTarget": {"array": "ibox-3", "entity": "vol-1-dr"}},  # another array
    ],
)
def test_a_re_create_without_a_known_target_on_the_spec_array_builds_the_target_from_the_spec(
    status: dict[str, object],
) -> None:
    step = recreate_step(desired({"rpo": "10m"}, status))
    assert isinstance(step, Create)
    assert step.remote == RemoteSide(mode=TargetMode.CREATE, pool="pool-1")
    assert step.recreate
    assert step.description == f"k8s-uid={UID} k8s-object=ns/rep"
    assert step.rpo == timedelta(minutes=10)


def test_a_re_created_group_pairs_only_the_members_whose_both_sides_are_known() -> None:
    status = {
        "replicaId": 101,
        "currentTarget": {"array": "ibox-2", "entity": "cg-1-dr"},
        "members": [{"local": "m1", "remote": "m1-dr"}, {"local": "m2"}, {"remote": "m3-dr"}],
    }
    step = recreate_step(desired({"target": CG_TARGET}, status, kind="ConsistencyGroupReplica"))
    assert step.remote == RemoteSide(mode=TargetMode.EXISTING, name="cg-1-dr", members=(("m1", "m1-dr"),))
    assert step.recreate


def test_a_re_created_group_with_no_known_member_pair_builds_the_target_from_the_spec() -> None:
    status = {
        "replicaId": 101,
        "currentTarget": {"array": "ibox-2", "entity": "cg-1-dr"},
        "members": [{"local": "m1"}],
    }
    step = recreate_step(desired({"target": CG_TARGET}, status, kind="ConsistencyGroupReplica"))
    assert step.remote == RemoteSide(mode=TargetMode.CREATE, pool="pool-1")
    assert step.recreate


def test_a_group_from_base_snapshots_pairs_the_member_snapshots() -> None:
    target = {
        **CG_TARGET,
        "mode": "BaseSnapshot",
        "memberMappings": [{"localSnapshot": "m1-snap", "remoteSnapshot": "m1-dr-snap"}],
    }
    step = create_step(desired({"target": target}, kind="ConsistencyGroupReplica"))
    assert step.remote == RemoteSide(
        mode=TargetMode.BASE_SNAPSHOT, name="cg-1", member_snapshots=(("m1-snap", "m1-dr-snap"),)
    )


def test_an_owned_group_name_is_readable_unique_per_object_and_fits() -> None:
    uid, other = "3fb33b04-0000-4000-8000-000000000001", "3fb33b04-0000-4000-8000-000000000002"
    name = owned_group_name("app", "db", uid)
    assert name.startswith("iro-app-db-")
    assert name == owned_group_name("app", "db", uid)  # found again after a restart
    assert name != owned_group_name("app", "db", other)  # a re-created object gets its own group
    long = owned_group_name("n" * 63, "x" * 253, uid)
    assert len(long) == MAX_GROUP_NAME
    assert long.startswith(f"iro-{'n' * 10}")
    assert long.endswith(name.rsplit("-", 1)[1])  # the uid's digest survives the cut
