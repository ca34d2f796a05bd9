"""An Existing target is overwritten with the source's data: one a host has mapped (another
application's volume, named by mistake or by a hostile tenant) is never replicated onto.
Before: the create was sent and the mapped volume became the target."""

from __future__ import annotations

from tests.integration.operator.conftest import Env, condition_of, is_true


def test_a_mapped_existing_target_is_refused_until_unmapped(env: Env) -> None:
    volume, victim = env.name("vol"), env.name("in-use")
    source = env.arrays.volume("ibox-1", volume)
    target = env.arrays.volume("ibox-2", victim)
    env.arrays.admin("PUT", f"/_sim/volumes/ibox-2/{target['id']}/mapped", {"mapped": True})
    env.objects.apply(
        {
            "kind": "Replica",
            "metadata": {"name": volume, "namespace": env.namespace},
            "spec": {
                "source": {"array": env.source, "volume": volume},
                "target": {"array": env.target, "mode": "Existing", "name": victim},
            },
        }
    )
    refused = env.objects.wait_status(
        "replicas", volume, lambda s: condition_of(s, "Synced").get("reason") == "TargetInUse", timeout=60
    )
    assert victim in condition_of(refused, "Synced")["message"]
    assert "replicaId" not in refused
    assert source["id"] not in env.arrays.replica_creates()  # nothing was sent
    events = env.objects.cluster.kubectl_json("-n", env.namespace, "get", "events")["items"]
    assert any(e["reason"] == "TargetInUse" and e["involvedObject"]["name"] == volume for e in events)

    env.arrays.admin("PUT", f"/_sim/volumes/ibox-2/{target['id']}/mapped", {"mapped": False})
    status = env.objects.wait_status("replicas", volume, lambda s: is_true(s, "Ready"), timeout=60)
    paired = env.arrays.replica("ibox-2", status["remoteReplicaId"])
    assert paired is not None
    assert paired["local_entity_id"] == target["id"]
