"""Which failures are repeated: safe requests on transient failures; creates and actions only when unsent."""

from __future__ import annotations

import httpx
import pytest

from replica_operator.array import (
    ArrayError,
    Conflict,
    CreateReplicaRequest,
    EntityType,
    NotFound,
    OutcomeUnknown,
    RetryPolicy,
    Unavailable,
)
from replica_operator.array.retry import is_idempotent, should_retry
from tests.unit.array.fake import FakeArray, client_for, failure, ok, replica

REPLICAS = "/api/rest/replicas"
CREATE = CreateReplicaRequest.existing_target(
    link_id=1, entity_type=EntityType.VOLUME, local_entity_id=2, remote_entity_id=3, description="d"
)


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (Unavailable("a", "503", status_code=503), True),
        (Unavailable("a", "down", code="CONNECT_ERROR"), True),
        (Unavailable("a", "dropped", code="CONNECTION_LOST"), True),
        (Unavailable("a", "bad certificate", code="TLS_ERROR"), False),
        (OutcomeUnknown("a", "dropped", code="CONNECTION_LOST"), False),
        (NotFound("a", "gone", status_code=404), False),
        (Conflict("a", "exists", status_code=409), False),
        (ArrayError("a", "odd"), False),
        (ValueError("not ours"), False),
    ],
)
def test_should_retry(error: Exception, retried: bool) -> None:
    assert should_retry(error) is retried


def test_idempotent_methods() -> None:
    assert [m for m in ("GET", "PUT", "DELETE", "POST", "PATCH") if is_idempotent(m)] == [
        "GET",
        "PUT",
        "DELETE",
    ]


def test_policy_bounds_are_validated() -> None:
    assert RetryPolicy.never().attempts == 1
    for bad in ({"attempts": 0}, {"timeout": 0}, {"wait_max": -1}, {"wait_exp_base": 0.5}):
        with pytest.raises(ValueError, match="must"):
            RetryPolicy(**bad)


def dropped() -> httpx.RemoteProtocolError:
    return httpx.RemoteProtocolError("Server disconnected without sending a response.")


async def test_reads_are_repeated_through_5xx_and_drops_until_they_succeed() -> None:
    fake = FakeArray()
    fake.queue("GET", f"{REPLICAS}/7", failure(503, "SERVICE_UNAVAILABLE"), dropped(), ok(replica(7)))
    async with client_for(fake) as client:
        assert (await client.get_replica(7)).id == 7
    assert len(fake.sent("GET", f"{REPLICAS}/7")) == 3


async def test_repeats_stop_at_the_attempt_bound() -> None:
    fake = FakeArray()
    fake.always("GET", f"{REPLICAS}/7", failure(500, "INTERNAL_ERROR"))
    async with client_for(
        fake, retry=RetryPolicy(attempts=3, wait_initial=0, wait_max=0, wait_jitter=0)
    ) as client:
        with pytest.raises(Unavailable) as caught:
            await client.get_replica(7)
    assert type(caught.value) is Unavailable
    assert caught.value.status_code == 500
    assert len(fake.sent("GET", f"{REPLICAS}/7")) == 3


async def test_updates_and_deletes_are_repeated() -> None:
    fake = FakeArray()
    fake.queue("PUT", f"{REPLICAS}/7", dropped(), ok(replica(7, description="new")))
    fake.queue("DELETE", f"{REPLICAS}/7", httpx.ReadTimeout("slow"), ok(replica(7)))
    async with client_for(fake) as client:
        assert (await client.update_replica(7, description="new")).description == "new"
        assert await client.delete_replica(7) is not None
    assert len(fake.sent("PUT", f"{REPLICAS}/7")) == 2
    assert len(fake.sent("DELETE", f"{REPLICAS}/7")) == 2


async def test_errors_that_repeating_cannot_fix_are_not_repeated() -> None:
    fake = FakeArray()
    fake.always("GET", f"{REPLICAS}/7", failure(404, "REPLICA_NOT_FOUND"))
    async with client_for(fake) as client:
        with pytest.raises(NotFound):
            await client.get_replica(7)
    assert len(fake.sent("GET", f"{REPLICAS}/7")) == 1


@pytest.mark.parametrize(
    "lost",
    [
        dropped(),
        httpx.ReadTimeout("no answer"),
        httpx.ReadError("connection reset"),
        failure(500, "INTERNAL_ERROR"),
        failure(502, "SERVICE_UNAVAILABLE"),
        failure(503, "SERVICE_UNAVAILABLE"),
        httpx.Response(200, text="<html>not json</html>"),
    ],
)
async def test_a_create_whose_answer_is_lost_is_never_repeated(lost: httpx.Response | Exception) -> None:
    fake = FakeArray()
    fake.queue("POST", REPLICAS, lost, ok(replica(9)))
    async with client_for(fake) as client:
        with pytest.raises(OutcomeUnknown) as caught:
            await client.create_replica(CREATE)
    assert len(fake.sent("POST", REPLICAS)) == 1
    assert "may or may not have been carried out" in str(caught.value)


async def test_an_action_whose_answer_is_lost_is_never_repeated() -> None:
    fake = FakeArray()
    fake.queue("POST", f"{REPLICAS}/7/suspend", dropped(), ok(None))
    async with client_for(fake) as client:
        with pytest.raises(OutcomeUnknown):
            await client.suspend(7)
    assert len(fake.sent("POST", f"{REPLICAS}/7/suspend")) == 1


@pytest.mark.parametrize(
    "unsent",
    [
        httpx.ConnectError("connection refused"),
        httpx.ConnectTimeout("no SYN-ACK"),
        httpx.PoolTimeout("no free connection"),
        failure(429, "TOO_MANY_REQUESTS"),
    ],
)
async def test_a_create_that_never_reached_the_array_is_repeated(unsent: httpx.Response | Exception) -> None:
    fake = FakeArray()
    fake.queue("POST", REPLICAS, unsent, ok(replica(9)))
    async with client_for(fake) as client:
        assert (await client.create_replica(CREATE)).id == 9
    assert len(fake.sent("POST", REPLICAS)) == 2


async def test_a_tls_verification_failure_is_not_repeated() -> None:
    calls = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")

    client = client_for(FakeArray(), transport=httpx.MockTransport(handler))
    async with client:
        with pytest.raises(Unavailable) as caught:
            await client.get_system()
    assert caught.value.code == "TLS_ERROR"
    assert calls == 1


async def test_conflicts_are_not_repeated() -> None:
    fake = FakeArray()
    fake.always("POST", REPLICAS, failure(409, "ENTITY_ALREADY_REPLICATED"))
    async with client_for(fake) as client:
        with pytest.raises(Conflict):
            await client.create_replica(CREATE)
    assert len(fake.sent("POST", REPLICAS)) == 1
