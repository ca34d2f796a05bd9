"""Remote authorization: the peer's credentials go out only after ``403 REMOTE_PERMISSION_REQUIRED``, once."""

from __future__ import annotations

import base64
import logging

import httpx
import pytest
from pydantic import SecretStr

from replica_operator.array import (
    CreateReplicaRequest,
    EntityType,
    Link,
    PeerCredentials,
    RemoteAuthorizationRequired,
    Unauthorized,
)
from tests.unit.array.fake import FakeArray, client_for, failure, ok, replica

PEER_PASSWORD = "peer-Secret-4c2a"
HEADER = "x-remote-authorization"
LINK = {"id": 3, "name": "to-ibox-2", "remote_host": "10.0.0.2", "link_state": "UP"}
OTHER_LINK = {"id": 4, "name": "to-ibox-3", "remote_host": "10.0.0.3", "link_state": "UP"}
PEERS = {
    "10.0.0.2": PeerCredentials(address="ibox-2.example", username="peer", password=SecretStr(PEER_PASSWORD)),
    "10.0.0.3": PeerCredentials(address="ibox-3.example", username="third", password=SecretStr("third-pw")),
}
PATH = "/api/rest/replicas/7"


def b64(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def remote_permission_required() -> httpx.Response:
    return failure(403, "REMOTE_PERMISSION_REQUIRED", "the remote system requires authorization")


def array(version: str, *, features: list[dict[str, object]] | None = None) -> FakeArray:
    fake = FakeArray()
    fake.always("GET", "/api/rest/system", ok({"name": "ibox-1", "serial_number": 1, "version": version}))
    fake.always("GET", "/api/rest/_features", ok(features or [{"name": "api_auth_sessions", "version": 0}]))
    fake.always("GET", "/api/rest/replicas/7", ok(replica(7, link_id=3)))
    fake.always("GET", "/api/rest/links/3", ok(LINK))
    fake.always("GET", "/api/rest/links", ok([OTHER_LINK, LINK], page=1, page_size=1000, number_of_objects=2))
    return fake


class Lookup:
    """The operator's side: credentials by the link's remote host, with a record of who asked."""

    def __init__(self, known: dict[str, PeerCredentials] | None = None) -> None:
        self.known = PEERS if known is None else known
        self.asked: list[str | None] = []

    async def __call__(self, link: Link) -> PeerCredentials | None:
        self.asked.append(link.remote_host)
        return self.known.get(link.remote_host or "")


async def test_the_peer_is_named_only_after_the_array_asks_and_only_once() -> None:
    fake = array("7.3.10.0")
    fake.queue("DELETE", PATH, remote_permission_required(), ok(replica(7)))
    lookup = Lookup()
    async with client_for(fake, remote_credentials=lookup) as client:
        await client.delete_replica(7)
    deletes = fake.sent("DELETE", PATH)
    assert len(deletes) == 2
    assert HEADER not in deletes[0].headers
    # Before 8.4, one peer: the one at the other end of the replica's link (infinisdk: from the path).
    assert deletes[1].headers[HEADER] == "Basic " + b64("peer", PEER_PASSWORD)
    assert lookup.asked == ["10.0.0.2"]
    assert all(HEADER not in r.headers for r in fake.requests if r not in deletes[1:])


async def test_no_header_and_no_lookup_when_the_array_does_not_ask() -> None:
    fake = array("7.3.10.0")
    fake.always("POST", "/api/rest/replicas/7/suspend", ok(None))
    fake.always("DELETE", PATH, ok(replica(7)))
    lookup = Lookup()
    async with client_for(fake, remote_credentials=lookup) as client:
        await client.suspend(7)
        await client.delete_replica(7)
    assert lookup.asked == []
    assert all(HEADER not in request.headers for request in fake.requests)


async def test_multi_target_arrays_get_every_peer_in_one_header() -> None:
    fake = array("8.4.0.0")
    fake.queue("POST", "/api/rest/replicas/7/change_role", remote_permission_required(), ok(None))
    async with client_for(fake, remote_credentials=Lookup()) as client:
        await client.change_role(7)
    first, second = fake.sent("POST", "/api/rest/replicas/7/change_role")
    assert HEADER not in first.headers
    assert second.headers[HEADER] == (
        f"Basic ibox-3.example={b64('third', 'third-pw')};ibox-2.example={b64('peer', PEER_PASSWORD)}"
    )


async def test_the_feature_alone_selects_the_multi_peer_form() -> None:
    fake = array("7.3.10.0", features=[{"name": "multi_target_async_replication", "version": 0}])
    fake.queue("DELETE", PATH, remote_permission_required(), ok(replica(7)))
    async with client_for(fake, remote_credentials=Lookup({"10.0.0.2": PEERS["10.0.0.2"]})) as client:
        await client.delete_replica(7)
    assert (
        fake.sent("DELETE", PATH)[1].headers[HEADER] == f"Basic ibox-2.example={b64('peer', PEER_PASSWORD)}"
    )


async def test_a_path_without_a_link_takes_the_first_peer_with_credentials() -> None:
    fake = array("7.3.10.0")
    fake.queue("POST", "/api/rest/replicas", remote_permission_required(), ok(replica(8)))
    lookup = Lookup({"10.0.0.2": PEERS["10.0.0.2"]})
    request = CreateReplicaRequest.create_target(
        link_id=3, entity_type=EntityType.VOLUME, local_entity_id=1005, remote_pool_id=5555
    )
    async with client_for(fake, remote_credentials=lookup) as client:
        await client.create_replica(request)
    assert fake.sent("POST", "/api/rest/replicas")[1].headers[HEADER] == "Basic " + b64("peer", PEER_PASSWORD)
    assert lookup.asked == ["10.0.0.3", "10.0.0.2"]


async def test_without_peer_credentials_a_typed_error_and_no_second_try() -> None:
    fake = array("7.3.10.0")
    fake.always("DELETE", PATH, remote_permission_required())
    for options in ({}, {"remote_credentials": Lookup({})}):
        fake.requests.clear()
        async with client_for(fake, **options) as client:
            with pytest.raises(RemoteAuthorizationRequired) as caught:
                await client.delete_replica(7)
        assert not isinstance(caught.value, Unauthorized)
        assert caught.value.code == "REMOTE_PERMISSION_REQUIRED"
        assert "none are available" in caught.value.message
        assert len(fake.sent("DELETE", PATH)) == 1


async def test_refused_peer_credentials_are_tried_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake = array("7.3.10.0")
    fake.always("DELETE", PATH, remote_permission_required())
    async with client_for(fake, remote_credentials=Lookup()) as client:
        with pytest.raises(RemoteAuthorizationRequired) as caught:
            await client.delete_replica(7)
        shown = " ".join([str(caught.value), repr(caught.value), repr(client), caplog.text])
    assert "refused" in caught.value.message
    assert len(fake.sent("DELETE", PATH)) == 2
    for secret in (PEER_PASSWORD, b64("peer", PEER_PASSWORD)):
        assert secret not in shown
    assert PEER_PASSWORD not in repr(PEERS["10.0.0.2"])
