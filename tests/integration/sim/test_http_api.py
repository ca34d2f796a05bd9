"""The REST API on the wire: envelope, paging, filters, fields, sort, errors, auth and the remote proxy."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ibox_sim.server import SimulatorServer
from tests.integration.sim.conftest import AUTH, admin, advance


def _pool_id(http: httpx.Client) -> int:
    return int(http.get("/api/rest/pools", params={"name": "pool-1"}).json()["result"][0]["id"])


def _volumes(http: httpx.Client, count: int, prefix: str = "vol", size: int = 10**9) -> list[dict[str, Any]]:
    pool = _pool_id(http)
    created = []
    for n in range(count):
        response = http.post(
            "/api/rest/volumes",
            params={"approved": "true"},
            json={"name": f"{prefix}-{n}", "size": size, "pool_id": pool},
        )
        assert response.status_code == 200, response.text
        created.append(response.json()["result"])
    return created


def _error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def test_envelope_and_paging(http: httpx.Client) -> None:
    _volumes(http, 7)
    body = http.get("/api/rest/volumes", params={"page": 2, "page_size": 3}).json()
    assert body["error"] is None
    assert body["metadata"] == {
        "ready": True,
        "page": 2,
        "page_size": 3,
        "pages_total": 3,
        "number_of_objects": 7,
    }
    assert [v["name"] for v in body["result"]] == ["vol-3", "vol-4", "vol-5"]
    last = http.get("/api/rest/volumes", params={"page": 3, "page_size": 3}).json()
    assert [v["name"] for v in last["result"]] == ["vol-6"]
    beyond = http.get("/api/rest/volumes", params={"page": 9, "page_size": 3}).json()
    assert beyond["result"] == []
    assert beyond["metadata"]["number_of_objects"] == 7


def test_default_and_maximum_page_size(http: httpx.Client) -> None:
    _volumes(http, 55)
    body = http.get("/api/rest/volumes").json()
    assert len(body["result"]) == 50
    assert body["metadata"]["page_size"] == 50
    assert len(http.get("/api/rest/volumes", params={"page_size": 1000}).json()["result"]) == 55
    assert _error(http.get("/api/rest/volumes", params={"page_size": 1001})) == (400, "INVALID_VALUE")
    assert _error(http.get("/api/rest/volumes", params={"page": 0})) == (400, "INVALID_VALUE")


def test_filters(http: httpx.Client) -> None:
    volumes = _volumes(http, 4, size=10**9) + _volumes(http, 2, prefix="big", size=2 * 10**9)
    ids = [v["id"] for v in volumes]

    def names(**params: Any) -> list[str]:
        response = http.get("/api/rest/volumes", params={**params, "page_size": 1000})
        assert response.status_code == 200, response.text
        return [v["name"] for v in response.json()["result"]]

    assert names(name="vol-1") == ["vol-1"]  # bare value: equality
    assert names(name="eq:vol-2") == ["vol-2"]
    assert len(names(name="ne:vol-2")) == 5
    assert names(size=f"gt:{10**9}") == ["big-0", "big-1"]
    assert len(names(size=f"ge:{10**9}")) == 6
    assert names(size=f"lt:{2 * 10**9}") == ["vol-0", "vol-1", "vol-2", "vol-3"]
    assert len(names(size=f"le:{2 * 10**9}")) == 6
    assert names(id=f"in:({ids[0]},{ids[5]})") == ["vol-0", "big-1"]
    assert len(names(id=f"notin:({ids[0]},{ids[5]})")) == 4
    assert names(id=f"between:({ids[1]},{ids[2]})") == ["vol-1", "vol-2"]
    assert names(name="like:big") == ["big-0", "big-1"]
    assert names(name="like:%-1") == ["vol-1", "big-1"]
    assert len(names(cg_id="is:null")) == 6
    assert names(cg_id="isnot:null") == []
    assert len(names(rmr_source="eq:False")) == 6  # infinisdk sends Python booleans
    assert names(rmr_source="eq:TRUE") == []
    assert names(name="like:vol", size=f"ge:{10**9}", id=f"ge:{ids[2]}") == ["vol-2", "vol-3"]  # ANDed
    assert names(replication_types="anyof:ASYNC,SYNC") == []
    assert len(names(replication_types="noneof:ASYNC")) == 6
    assert _error(http.get("/api/rest/volumes", params={"no_such_field": "1"})) == (400, "UNKNOWN_PARAMETER")
    assert _error(http.get("/api/rest/volumes", params={"size": "gt:big"})) == (400, "INVALID_VALUE")
    assert _error(http.get("/api/rest/volumes", params={"rmr_source": "maybe"})) == (400, "INVALID_VALUE")


def test_fields_and_sort(http: httpx.Client) -> None:
    volumes = _volumes(http, 3)
    listed = http.get("/api/rest/volumes", params={"fields": "id,name", "sort": "-name"}).json()["result"]
    assert listed == [{"id": v["id"], "name": v["name"]} for v in reversed(volumes)]
    one = http.get(f"/api/rest/volumes/{volumes[0]['id']}", params={"fields": "size,rmr_source"}).json()
    assert one["result"] == {"size": 10**9, "rmr_source": False}
    full = http.get(f"/api/rest/volumes/{volumes[0]['id']}", params={"approved": "true"}).json()["result"]
    assert full["name"] == "vol-0"
    assert {"rmr_source", "rmr_target", "replica_ids", "cg_id", "parent_id", "pool_name"} <= set(full)
    by_size_then_name = http.get("/api/rest/volumes", params={"sort": "size,-id", "fields": "name"}).json()
    assert [v["name"] for v in by_size_then_name["result"]] == ["vol-2", "vol-1", "vol-0"]
    assert _error(http.get("/api/rest/volumes", params={"fields": "bogus"})) == (400, "UNKNOWN_PARAMETER")
    assert _error(http.get("/api/rest/volumes", params={"sort": "bogus"})) == (400, "UNKNOWN_PARAMETER")
    assert _error(http.get(f"/api/rest/volumes/{volumes[0]['id']}", params={"page": 1})) == (
        400,
        "UNKNOWN_PARAMETER",
    )


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/api/rest/volumes/999", "VOLUME_NOT_FOUND"),
        ("/api/rest/filesystems/999", "FILESYSTEM_NOT_FOUND"),
        ("/api/rest/pools/999", "POOL_NOT_FOUND"),
        ("/api/rest/cgs/999", "CG_NOT_FOUND"),
        ("/api/rest/links/999", "LINK_NOT_FOUND"),
        ("/api/rest/replicas/999", "REPLICA_NOT_FOUND"),
        ("/api/rest/network/spaces/999", "NETWORK_SPACE_NOT_FOUND"),
        ("/api/rest/no/such/route", "ROUTE_NOT_FOUND"),
    ],
)
def test_not_found_codes(http: httpx.Client, path: str, code: str) -> None:
    response = http.get(path)
    assert _error(response) == (404, code)
    error = response.json()["error"]
    assert error["severity"] == "ERROR"
    assert error["reasons"] == []
    assert response.json()["result"] is None


def test_bad_requests(http: httpx.Client) -> None:
    broken = http.post(
        "/api/rest/volumes", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert _error(broken) == (400, "BAD_REQUEST")
    assert _error(http.post("/api/rest/volumes", json={"name": "x", "pool_id": _pool_id(http)})) == (
        400,
        "MISSING_PARAMETER",
    )
    assert _error(
        http.post("/api/rest/volumes", json={"name": "x", "size": 1, "pool_id": 1, "bogus": 1})
    ) == (
        400,
        "UNKNOWN_PARAMETER",
    )
    link = http.get("/api/rest/links", params={"name": "to-ibox-2"}).json()["result"][0]
    too_frequent = http.post(
        "/api/rest/replicas",
        json={
            "link_id": link["id"],
            "entity_pairs": [{"local_entity_id": _volumes(http, 1)[0]["id"], "remote_base_action": "CREATE"}],
            "remote_pool_id": 1,
            "rpo_value": 10_000,
            "sync_interval": 20_000,
        },
    )
    assert _error(too_frequent) == (400, "INVALID_VALUE")


def test_unapproved_delete_is_refused(http: httpx.Client) -> None:
    volume = _volumes(http, 1)[0]
    assert _error(http.delete(f"/api/rest/volumes/{volume['id']}", params={"approved": "false"})) == (
        403,
        "APPROVAL_REQUIRED",
    )
    assert http.delete(f"/api/rest/volumes/{volume['id']}", params={"approved": "true"}).status_code == 200
    assert http.get(f"/api/rest/volumes/{volume['id']}").status_code == 404


def test_name_conflict(http: httpx.Client) -> None:
    _volumes(http, 1)
    duplicate = http.post(
        "/api/rest/volumes", json={"name": "vol-0", "size": 10**9, "pool_id": _pool_id(http)}
    )
    assert _error(duplicate) == (409, "NAME_ALREADY_EXISTS")


def test_authentication(server: SimulatorServer) -> None:
    base = server.url("ibox-1")
    with httpx.Client(base_url=base, timeout=10) as anonymous:
        assert _error(anonymous.get("/api/rest/system")) == (401, "UNAUTHORIZED")
        features = anonymous.get("/api/rest/_features").json()["result"]
        assert {"name": "api_auth_sessions", "version": 0, "enabled": True} in features
        assert _error(anonymous.get("/api/rest/system", auth=("admin", "wrong"))) == (401, "LOGIN_FAILED")
        assert anonymous.get("/api/rest/system", auth=AUTH).json()["result"]["name"] == "ibox-1"
        refused = anonymous.post("/api/rest/users/login", json={"username": "admin", "password": "nope"})
        assert _error(refused) == (401, "LOGIN_FAILED")

        login = anonymous.post(
            "/api/rest/users/login",
            params={"approved": "true"},
            json={"username": "admin", "password": "admin", "clientid": "test"},
        )
        assert login.status_code == 200
        assert "JSESSIONID" in login.cookies
        assert login.json()["result"]["roles"] == ["ADMIN"]
        assert anonymous.get("/api/rest/system").status_code == 200  # the cookie is enough now

        anonymous.post("/api/rest/users/logout", json={})
        anonymous.cookies.clear()
        assert anonymous.get("/api/rest/system").status_code == 401


def test_session_expiry(server: SimulatorServer) -> None:
    with httpx.Client(base_url=server.url("ibox-1"), timeout=10) as client:
        client.post("/api/rest/users/login", json={"username": "admin", "password": "admin"})
        assert client.get("/api/rest/system").status_code == 200
        admin(server, "PUT", "/_sim/config", {"session_ttl_seconds": 60})
        advance(server, 30)
        assert client.get("/api/rest/system").status_code == 200
        advance(server, 31)
        assert _error(client.get("/api/rest/system")) == (401, "UNAUTHORIZED")

        client.post("/api/rest/users/login", json={"username": "admin", "password": "admin"})
        assert client.get("/api/rest/system").status_code == 200
        assert admin(server, "DELETE", "/_sim/sessions")["expired"] >= 1
        assert client.get("/api/rest/system").status_code == 401


def test_sessions_belong_to_one_system(server: SimulatorServer) -> None:
    with httpx.Client(timeout=10) as client:
        login = client.post(
            server.url("ibox-1") + "/api/rest/users/login", json={"username": "admin", "password": "admin"}
        )
        token = login.cookies["JSESSIONID"]
    with httpx.Client(timeout=10, cookies={"JSESSIONID": token}) as client:
        assert client.get(server.url("ibox-1") + "/api/rest/system").status_code == 200
        assert client.get(server.url("ibox-2") + "/api/rest/system").status_code == 401


def test_system_object_and_version_header(http: httpx.Client, server: SimulatorServer) -> None:
    response = http.get("/api/rest/system")
    system = response.json()["result"]
    assert response.headers["x-infinidat-version"] == system["version"]
    assert system["serial_number"] == server.system("ibox-1").serial
    assert system["operational_state"]["state"] == "ACTIVE"
    assert system["release"]["system"]["revision"] == system["version"]
    assert http.get("/api/rest/system", params={"fields": "version"}).json()["result"] == {
        "version": system["version"]
    }


def test_remote_proxy(http: httpx.Client, server: SimulatorServer) -> None:
    link = http.get("/api/rest/links", params={"name": "to-ibox-2"}).json()["result"][0]
    remote_system = http.get(f"/api/rest/remote/{link['id']}/api/rest/system").json()["result"]
    assert remote_system["name"] == "ibox-2"
    missing = http.get(f"/api/rest/remote/{link['id']}/api/rest/replicas/5")
    assert _error(missing) == (404, "REPLICA_NOT_FOUND")
    assert missing.json()["error"]["is_remote"] is True
    assert _error(http.get("/api/rest/remote/999/api/rest/system")) == (404, "LINK_NOT_FOUND")
    admin(server, "PUT", "/_sim/links/ibox-1/to-ibox-2", {"state": "DOWN"})
    assert _error(http.get(f"/api/rest/remote/{link['id']}/api/rest/system")) == (409, "LINK_DISCONNECTED")


def test_links_and_network_spaces(http: httpx.Client) -> None:
    links = http.get("/api/rest/links").json()["result"]
    assert [link["name"] for link in links] == ["to-ibox-2"]
    link = links[0]
    assert (link["link_state"], link["remote_system_name"]) == ("UP", "ibox-2")
    space = http.get(f"/api/rest/network/spaces/{link['local_replication_network_space_id']}").json()[
        "result"
    ]
    assert space["service"] == "RMR_SERVICE"
    assert any(ip["type"] == "MANAGEMENT" for ip in space["ips"])
    duplicate = http.post(
        "/api/rest/links",
        json={
            "name": "again",
            "local_replication_network_space_id": space["id"],
            "remote_host": link["remote_host"],
        },
    )
    assert _error(duplicate) == (409, "LINK_ALREADY_EXISTS")
