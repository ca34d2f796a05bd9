"""Consistency-group membership and object metadata as the operator's owned groups use them."""

from __future__ import annotations

from tests.unit.sim.arrays import Arrays


def test_metadata_keys_on_a_group_are_set_read_and_go_with_it(arrays: Arrays) -> None:
    cg = arrays.ok("POST", "/cgs", {"name": "owned", "pool_id": arrays.pool})
    assert arrays.error("GET", f"/metadata/{cg['id']}/k8s-owner") == (404, "METADATA_NOT_FOUND")
    written = arrays.ok("PUT", f"/metadata/{cg['id']}", {"k8s-owner": "k8s-uid=abc"})
    assert [(e["object_type"], e["key"], e["value"]) for e in written] == [("cg", "k8s-owner", "k8s-uid=abc")]
    assert arrays.ok("GET", f"/metadata/{cg['id']}/k8s-owner")["value"] == "k8s-uid=abc"
    arrays.ok("PUT", f"/metadata/{cg['id']}", {"k8s-owner": "k8s-uid=def"})
    assert [e["value"] for e in arrays.ok("GET", f"/metadata/{cg['id']}")] == ["k8s-uid=def"]
    assert arrays.error("PUT", f"/metadata/{cg['id']}", {"n": 1}) == (400, "INVALID_VALUE")
    assert arrays.error("PUT", "/metadata/999999", {"k": "v"}) == (404, "OBJECT_NOT_FOUND")
    arrays.ok("DELETE", f"/cgs/{cg['id']}")
    assert arrays.sim.world.systems["ibox-1"].metadata.get(cg["id"]) is None


def test_metadata_is_refused_on_a_replica(arrays: Arrays) -> None:
    replica = arrays.replicate(arrays.volume("v")["id"])
    assert arrays.error("PUT", f"/metadata/{replica['id']}", {"k": "v"}) == (
        400,
        "METADATA_IS_NOT_SUPPORTED_FOR_ENTITY",
    )


def test_member_removal_takes_the_sdk_flags_and_refuses_others(arrays: Arrays) -> None:
    cg = arrays.ok("POST", "/cgs", {"name": "g", "pool_id": arrays.pool})
    volumes = [arrays.volume(f"m{n}") for n in range(2)]
    for volume in volumes:
        arrays.ok("POST", f"/cgs/{cg['id']}/members", {"dataset_id": volume["id"]})
    first, second = (v["id"] for v in volumes)
    assert arrays.error("DELETE", f"/cgs/{cg['id']}/members/{first}", bogus="1") == (400, "UNKNOWN_PARAMETER")
    assert arrays.error("DELETE", f"/cgs/{cg['id']}/members/{first}", create_replica="true") == (
        400,
        "NOT_SUPPORTED",
    )
    assert arrays.error("DELETE", f"/cgs/{cg['id']}/members/{first}", retain_staging_area="maybe") == (
        400,
        "INVALID_VALUE",
    )
    assert arrays.ok("GET", f"/cgs/{cg['id']}")["members_count"] == 2
    arrays.ok("DELETE", f"/cgs/{cg['id']}/members/{first}", retain_staging_area="false")
    assert [m["id"] for m in arrays.ok("GET", f"/cgs/{cg['id']}/members")] == [second]
    assert arrays.ok("GET", f"/volumes/{first}")["cg_id"] is None
    assert arrays.error("DELETE", f"/cgs/{cg['id']}/members/{first}")[0] == 404


def test_a_member_added_to_a_replicated_group_gets_a_remote_member_and_one_removed_keeps_it(
    arrays: Arrays,
) -> None:
    cg = arrays.ok("POST", "/cgs", {"name": "g", "pool_id": arrays.pool})
    first = arrays.volume("a")
    arrays.ok("POST", f"/cgs/{cg['id']}/members", {"dataset_id": first["id"]})
    pairs = [{"local_entity_id": first["id"], "remote_entity_id": None, "remote_base_action": "CREATE"}]
    body = {
        "link_id": arrays.link,
        "entity_type": "CONSISTENCY_GROUP",
        "local_cg_id": cg["id"],
        "remote_pool_id": arrays.remote_pool,
        "entity_pairs": pairs,
    }
    replica = arrays.ok("POST", "/replicas", body)
    second = arrays.volume("b")
    arrays.ok("POST", f"/cgs/{cg['id']}/members", {"dataset_id": second["id"]})  # the SDK's plain body
    remote = arrays.replica(replica["remote_replica_id"], system="ibox-2")
    remote_cg = remote["local_cg_id"]
    names = sorted(m["name"] for m in arrays.ok("GET", f"/cgs/{remote_cg}/members", system="ibox-2"))
    assert names == ["a", "b"]
    arrays.ok("DELETE", f"/cgs/{cg['id']}/members/{second['id']}")
    names = [m["name"] for m in arrays.ok("GET", f"/cgs/{remote_cg}/members", system="ibox-2")]
    assert names == ["a"]
    kept = arrays.ok("GET", "/volumes", system="ibox-2", name="eq:b")
    assert [k["cg_id"] for k in kept] == [None]
