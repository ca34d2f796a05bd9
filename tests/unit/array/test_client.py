"""The client's conduct on the wire, against a scripted array (``httpx.MockTransport``, no sockets)."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta

import httpx
import pytest

from replica_operator.array import (
    ArrayError,
    EntityType,
    Filesystem,
    InfiniBoxClient,
    ReplicationType,
    RequestRecord,
    Unauthorized,
    Volume,
    eq,
)
from tests.support.wait import async_wait_for
from tests.unit.array.fake import PASSWORD, FakeArray, client_for, failure, ok, replica

SYSTEM = {"name": "ibox-1", "serial_number": 10001, "version": "7.3.10.0", "model": "InfiniBox"}


@pytest.fixture
def fake() -> FakeArray:
    array = FakeArray()
    array.always("GET", "/api/rest/system", ok(SYSTEM))
    return array


async def test_logs_in_with_a_json_body_and_then_uses_the_session_cookie(fake: FakeArray) -> None:
    async with client_for(fake) as client:
        system = await client.get_system()
    assert system.serial == 10001
    login, get = fake.requests
    assert (login.method, login.url.path, login.url.query) == (
        "POST",
        "/api/rest/users/login",
        b"approved=true",
    )
    assert json.loads(login.content) == {"username": "admin", "password": PASSWORD}
    assert login.headers["content-type"] == "application/json"
    assert "cookie" not in login.headers
    assert get.headers["cookie"] == "JSESSIONID=session-1"
    assert all("authorization" not in r.headers for r in fake.requests)


async def test_approved_true_on_every_change_and_never_on_reads(fake: FakeArray) -> None:
    fake.always("GET", "/api/rest/replicas/7", ok(replica(7)))
    for action in ("suspend", "resume", "sync", "switch_role", "change_role", "change_type_to_sync"):
        fake.always("POST", f"/api/rest/replicas/7/{action}", ok(None))
    fake.always("PUT", "/api/rest/replicas/7", ok(replica(7)))
    fake.always("DELETE", "/api/rest/replicas/7", ok(replica(7)))
    async with client_for(fake) as client:
        await client.get_replica(7)
        await client.suspend(7)
        await client.resume(7)
        await client.sync_now(7)
        await client.switch_role(7)
        await client.change_role(7)
        await client.change_type(7, ReplicationType.SYNC)
        await client.update_replica(7, description="x")
        await client.delete_replica(7)
    for request in fake.requests:
        approved = request.url.params.get_list("approved")
        assert approved == ([] if request.method == "GET" else ["true"]), request


async def test_action_bodies_and_headers(fake: FakeArray) -> None:
    for action in ("suspend", "sync", "change_role", "change_type_to_sync", "change_type_to_async"):
        fake.always("POST", f"/api/rest/replicas/7/{action}", ok(None))
    async with client_for(fake) as client:
        await client.suspend(7)
        await client.sync_now(7)
        await client.change_role(7)
        await client.change_type(7, ReplicationType.SYNC)
        await client.change_type(
            7, ReplicationType.ASYNC, rpo=timedelta(minutes=2), sync_interval=timedelta(seconds=30)
        )
        await client.change_type(7, ReplicationType.ASYNC)
    sent = {r.url.path.rsplit("/", 1)[1]: r for r in fake.requests[1:4]}
    assert sent["suspend"].content == b""
    assert sent["sync"].headers["x-infinidat-raw-response"] == "true"
    assert sent["change_role"].content == b"null"
    to_sync, to_async, to_async_plain = fake.requests[4:]
    assert json.loads(to_sync.content) == {}
    assert json.loads(to_async.content) == {"rpo_value": 120000, "sync_interval": 30000}
    assert json.loads(to_async_plain.content) == {}


async def test_change_type_refuses_what_makes_no_sense(fake: FakeArray) -> None:
    async with client_for(fake) as client:
        with pytest.raises(ValueError, match="ASYNC replicas only"):
            await client.change_type(7, ReplicationType.SYNC, rpo=timedelta(minutes=1))
        with pytest.raises(ValueError, match="ASYNC or SYNC"):
            await client.change_type(7, ReplicationType.ACTIVE_ACTIVE)
        with pytest.raises(ValueError, match="nothing to update"):
            await client.update_replica(7)
        with pytest.raises(ValueError, match="volumes or filesystems"):
            await client.find_snapshot("s", entity_type=EntityType.CONSISTENCY_GROUP)
    assert fake.requests == []


async def test_update_and_delete_bodies(fake: FakeArray) -> None:
    fake.always("PUT", "/api/rest/replicas/7", ok(replica(7)))
    fake.always("DELETE", "/api/rest/replicas/7", ok(replica(7)))
    async with client_for(fake) as client:
        await client.update_replica(
            7, rpo=timedelta(seconds=90), sync_interval=timedelta(seconds=15), description="d"
        )
        await client.delete_replica(
            7,
            force_on_target=True,
            force_if_remote_error=True,
            retain_staging_area=False,
            keep_serial_on_local=True,
        )
        await client.delete_replica(7)
    put, delete, plain_delete = fake.requests[1:]
    assert json.loads(put.content) == {"rpo_value": 90000, "sync_interval": 15000, "description": "d"}
    assert list(delete.url.params.multi_items()) == [
        ("force_if_remote_error", "true"),
        ("force_on_target", "true"),
        ("force_if_no_remote_credentials", "false"),
        ("keep_serial_on_local", "true"),
        ("retain_staging_area", "false"),
        ("approved", "true"),
    ]
    # Every flag is said: the array default (keep the staging area, replica_auto_create) never applies.
    assert list(plain_delete.url.params.multi_items()) == [
        ("force_if_remote_error", "false"),
        ("force_on_target", "false"),
        ("force_if_no_remote_credentials", "false"),
        ("retain_staging_area", "false"),
        ("approved", "true"),
    ]


async def test_expired_session_logs_in_again_and_repeats_once(fake: FakeArray) -> None:
    async with client_for(fake) as client:
        await client.get_system()
        fake.expire_sessions()
        await client.get_system()
    paths = [(r.method, r.url.path) for r in fake.requests]
    assert paths == [
        ("POST", "/api/rest/users/login"),
        ("GET", "/api/rest/system"),
        ("GET", "/api/rest/system"),
        ("POST", "/api/rest/users/login"),
        ("GET", "/api/rest/system"),
    ]
    assert fake.requests[-1].headers["cookie"] == "JSESSIONID=session-2"


async def test_a_401_after_a_fresh_login_is_not_chased_further(fake: FakeArray) -> None:
    fake.always("GET", "/api/rest/replicas/7", failure(401, "UNAUTHORIZED", "no"))
    async with client_for(fake) as client:
        with pytest.raises(Unauthorized) as caught:
            await client.get_replica(7)
    assert caught.value.status_code == 401
    assert fake.logins == 2
    assert len(fake.sent("GET", "/api/rest/replicas/7")) == 2


async def test_wrong_credentials_fail_once_without_retrying(fake: FakeArray) -> None:
    async with client_for(fake, password="wrong") as client:
        with pytest.raises(Unauthorized) as caught:
            await client.get_system()
    assert caught.value.code == "LOGIN_FAILED"
    assert str(caught.value) == "ibox-1: 401 LOGIN_FAILED: invalid username or password"
    assert len(fake.requests) == 1


async def test_concurrent_callers_share_one_login_and_one_renewal(fake: FakeArray) -> None:
    async with client_for(fake) as client:
        await asyncio.gather(*(client.get_system() for _ in range(50)))
        assert fake.logins == 1
        fake.expire_sessions()
        await asyncio.gather(*(client.get_system() for _ in range(50)))
    assert fake.logins == 2


async def test_explicit_login_checks_credentials(fake: FakeArray) -> None:
    async with client_for(fake) as client:
        await client.login()
        await client.login()
    assert fake.logins == 2
    async with client_for(fake, password="nope") as client:
        with pytest.raises(Unauthorized):
            await client.login()


async def test_a_login_without_a_session_cookie_is_an_error() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return ok({"name": "admin"})

    async with client_for(FakeArray(), transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(ArrayError, match="no session cookie"):
            await client.get_system()


async def test_never_more_requests_in_flight_than_the_cap() -> None:
    in_flight = high_water = 0
    fake = FakeArray()
    gate = asyncio.Event()  # holds every request in the "array" until the test has looked

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, high_water
        if "login" in request.url.path:
            return await fake(request)
        in_flight += 1
        high_water = max(high_water, in_flight)
        try:
            await gate.wait()
            return ok(SYSTEM)
        finally:
            in_flight -= 1

    async def cap_filled() -> bool:
        return in_flight >= 3

    client = client_for(fake, transport=httpx.MockTransport(handler), max_concurrent_requests=3)
    async with client:
        calls = asyncio.gather(*(client.get_system() for _ in range(100)))
        # 100 callers, none answered: everything the cap lets through is now held in the handler.
        await async_wait_for(cap_filled, timeout=5, what="the cap filled")
        assert high_water == 3
        gate.set()
        await calls
    assert high_water == 3
    assert in_flight == 0


async def test_the_observer_sees_every_request_with_a_template(fake: FakeArray) -> None:
    records: list[RequestRecord] = []
    fake.queue("POST", "/api/rest/replicas/1000005/suspend", failure(409, "REPLICA_IS_SUSPENDED"))
    fake.queue("GET", "/api/rest/replicas/1000005", failure(503, "SERVICE_UNAVAILABLE"), ok(replica(1000005)))
    async with client_for(fake, observer=records.append) as client:
        with pytest.raises(ArrayError):
            await client.suspend(1000005)
        await client.get_replica(1000005)
    seen = [(r.array, r.method, r.endpoint, r.status, r.error) for r in records]
    assert seen == [
        ("ibox-1", "POST", "/api/rest/users/login", 200, None),
        ("ibox-1", "POST", "/api/rest/replicas/{id}/suspend", 409, "InvalidState"),
        ("ibox-1", "GET", "/api/rest/replicas/{id}", 503, "Unavailable"),
        ("ibox-1", "GET", "/api/rest/replicas/{id}", 200, None),
    ]
    assert all(r.duration_seconds >= 0 for r in records)


async def test_transport_failures_reach_the_observer_without_a_status(fake: FakeArray) -> None:
    records: list[RequestRecord] = []
    fake.queue("POST", "/api/rest/replicas/7/resume", httpx.RemoteProtocolError("dropped"))
    async with client_for(fake, observer=records.append) as client:
        with pytest.raises(ArrayError):
            await client.resume(7)
    assert (records[-1].endpoint, records[-1].status, records[-1].error) == (
        "/api/rest/replicas/{id}/resume",
        None,
        "OutcomeUnknown",
    )


async def test_a_failing_observer_does_not_fail_the_call(
    fake: FakeArray, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(record: RequestRecord) -> None:
        raise RuntimeError("metrics are down")

    async with client_for(fake, observer=broken) as client:
        assert (await client.get_system()).name == "ibox-1"
    assert any("observer failed" in r.getMessage() for r in caplog.records)


async def test_debug_log_per_request(fake: FakeArray, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="replica_operator.array")
    fake.always("GET", "/api/rest/replicas/1000005", ok(replica(1000005)))
    async with client_for(fake) as client:
        await client.get_replica(1000005)
    lines = [r.getMessage() for r in caplog.records if r.name == "replica_operator.array"]
    assert any(line.startswith("ibox-1: GET /api/rest/replicas/{id} -> 200 in ") for line in lines), lines
    assert all(
        getattr(r, "array", None) == "ibox-1" for r in caplog.records if r.name == "replica_operator.array"
    )
    assert not any("session-1" in line or PASSWORD in line for line in lines)


async def test_paging_walks_every_page_once(fake: FakeArray) -> None:
    pages = {
        "1": ok([replica(1), replica(2)], page=1, page_size=2, pages_total=3, number_of_objects=5),
        "2": ok([replica(2), replica(3)], page=2, page_size=2, pages_total=3, number_of_objects=5),  # 2 again
        "3": ok([replica(4), replica(5)], page=3, page_size=2, pages_total=3, number_of_objects=5),
    }
    fake.always("GET", "/api/rest/replicas", lambda request: pages[request.url.params["page"]])
    async with client_for(fake) as client:
        found = await client.list_all_replicas({"link_id": eq(3)}, page_size=2)
        first = await client.list_replicas(page=1, page_size=2)
    assert [r.id for r in found] == [1, 2, 3, 4, 5]
    assert (first.page, first.page_size, first.pages_total, first.number_of_objects) == (1, 2, 3, 5)
    assert first.has_next
    query = dict(fake.sent("GET", "/api/rest/replicas")[0].url.params)
    assert query == {"link_id": "eq:3", "page": "1", "page_size": "2"}  # no sort: infinisdk sends none


async def test_find_replicas_filters_on_what_is_given(fake: FakeArray) -> None:
    fake.always("GET", "/api/rest/replicas", ok([replica(1)], page=1, page_size=1000, number_of_objects=1))
    async with client_for(fake) as client:
        await client.find_replicas(description="owner=x", link_id=4)
    params = fake.sent("GET", "/api/rest/replicas")[0].url.params
    assert (params["description"], params["link_id"]) == ("eq:owner=x", "eq:4")
    assert "local_entity_id" not in params


async def test_lookups_by_name_and_id(fake: FakeArray) -> None:
    fake.always("GET", "/api/rest/volumes", ok([{"id": 5, "name": "v", "parent_id": 0}], number_of_objects=1))
    fake.always("GET", "/api/rest/filesystems", ok([], number_of_objects=0))
    fake.always("GET", "/api/rest/pools/3", failure(404, "POOL_NOT_FOUND", "pool 3 not found"))
    members = [
        {"id": 1, "name": "a", "dataset_type": "VOLUME"},
        {"id": 2, "name": "b", "dataset_type": "FILESYSTEM"},
    ]
    fake.always("GET", "/api/rest/cgs/9/members", ok(members, number_of_objects=2))
    async with client_for(fake) as client:
        assert (await client.find_volume("v")) == Volume(id=5, name="v")
        assert await client.find_snapshot("v") is None  # exists, but is no snapshot
        assert await client.find_filesystem("f") is None
        assert [type(m) for m in await client.list_cg_members(9)] == [Volume, Filesystem]
        with pytest.raises(ArrayError) as caught:
            await client.get_pool(3)
    assert caught.value.code == "POOL_NOT_FOUND"
    params = fake.sent("GET", "/api/rest/volumes")[0].url.params
    assert (params["name"], params["page_size"]) == ("eq:v", "1")


async def test_results_that_are_not_whole_objects_are_read_back(fake: FakeArray) -> None:
    fake.always("POST", "/api/rest/replicas", ok({"id": 9}))
    fake.always("PUT", "/api/rest/replicas/9", ok("new description"))
    fake.always("GET", "/api/rest/replicas/9", ok(replica(9, description="new description")))
    from replica_operator.array import CreateReplicaRequest

    request = CreateReplicaRequest.existing_target(
        link_id=1, entity_type=EntityType.VOLUME, local_entity_id=2, remote_entity_id=3
    )
    async with client_for(fake) as client:
        assert (await client.create_replica(request)).id == 9
        assert (
            await client.update_replica(9, description="new description")
        ).description == "new description"
    assert len(fake.sent("GET", "/api/rest/replicas/9")) == 2


async def test_an_unexpected_object_is_an_invalid_response(fake: FakeArray) -> None:
    fake.always("GET", "/api/rest/replicas/9", ok({"id": "nine", "entity_type": "VOLUME"}))
    async with client_for(fake) as client:
        with pytest.raises(ArrayError) as caught:
            await client.get_replica(9)
    assert caught.value.code == "INVALID_RESPONSE"
    assert "no usable id" in caught.value.message
    assert "nine" not in str(caught.value)


def test_urls_with_credentials_are_refused_without_echoing_them() -> None:
    with pytest.raises(ValueError, match="must not carry credentials") as caught:
        InfiniBoxClient("https://admin:hunter2@ibox-1.example", username="admin", password="hunter2")
    assert "hunter2" not in str(caught.value)
    with pytest.raises(ValueError, match="https://host"):
        InfiniBoxClient("ftp://ibox-1.example", username="admin", password="x")


def test_repr_and_names() -> None:
    client = InfiniBoxClient("https://ibox-1.example:8443/api/rest", username="admin", password=PASSWORD)
    assert repr(client) == "<InfiniBoxClient 'ibox-1.example:8443' https://ibox-1.example:8443/>"
    assert PASSWORD not in repr(vars(client))


def test_tls_options_are_checked() -> None:
    with pytest.raises(ValueError, match="cannot be combined"):
        InfiniBoxClient("https://a", username="u", password="p", insecure=True, ca_pem="x")
    with pytest.raises(ValueError, match="not a PEM certificate bundle"):
        InfiniBoxClient("https://a", username="u", password="p", ca_pem="-----BEGIN CERTIFICATE-----\nbad")
    with pytest.raises(ValueError, match="at least 1"):
        InfiniBoxClient("https://a", username="u", password="p", max_concurrent_requests=0)


async def test_a_call_on_a_closed_client_is_unavailable_at_once_and_never_retried(fake: FakeArray) -> None:
    """The operator replaces a connection's client while a pass may still hold the old one: that
    pass gets an ArrayError it reports (not a RuntimeError that escapes it), and no request is sent."""
    from replica_operator.array import Unavailable
    from replica_operator.array.errors import CLIENT_CLOSED

    fake.always("GET", "/api/rest/replicas/7", ok(replica(7)))
    client = client_for(fake)
    async with client:
        await client.get_replica(7)
    sent = len(fake.requests)
    with pytest.raises(Unavailable) as raised:
        await client.get_replica(7)
    assert raised.value.code == CLIENT_CLOSED
    assert len(fake.requests) == sent
