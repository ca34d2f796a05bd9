"""NFS exports in the simulator: the objects the CSI driver creates for a filesystem (or snapshot)."""

from __future__ import annotations

from tests.unit.sim.arrays import GB, Arrays


def test_an_export_of_a_filesystem_snapshot_is_made_listed_by_filesystem_and_deleted(arrays: Arrays) -> None:
    fs = arrays.ok("POST", "/filesystems", {"name": "fs", "size": GB, "pool_id": arrays.pool})
    snap = arrays.ok(
        "POST", "/filesystems", {"name": "fs-snap", "parent_id": fs["id"], "write_protected": False}
    )
    body = {
        "filesystem_id": snap["id"],
        "export_path": "/drill-1",
        "transport_protocols": "TCP",
        "privileged_port": False,
        "snapdir_visible": False,
        "permissions": [],
    }
    made = arrays.ok("POST", "/exports", body)
    assert (made["filesystem_id"], made["export_path"], made["enabled"]) == (snap["id"], "/drill-1", True)
    assert [e["id"] for e in arrays.ok("GET", "/exports", filesystem_id=f"eq:{snap['id']}")] == [made["id"]]
    assert arrays.ok("GET", "/exports", export_path="eq:/drill-1")[0]["id"] == made["id"]
    assert arrays.error("POST", "/exports", body) == (409, "EXPORT_PATH_ALREADY_EXISTS")
    assert arrays.error("POST", "/exports", {**body, "filesystem_id": 999999}) == (
        404,
        "FILESYSTEM_NOT_FOUND",
    )
    arrays.ok("DELETE", f"/exports/{made['id']}")
    assert arrays.ok("GET", "/exports") == []
    assert arrays.error("GET", f"/exports/{made['id']}") == (404, "EXPORT_NOT_FOUND")
