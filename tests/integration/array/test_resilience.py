"""Faults, lost answers, expired sessions and many callers, against ibox-sim over real HTTP."""

from __future__ import annotations

import asyncio
import socket
from collections import Counter

import pytest

from replica_operator.array import (
    CreateReplicaRequest,
    EntityType,
    InfiniBoxClient,
    OutcomeUnknown,
    RequestRecord,
    RetryPolicy,
    Unauthorized,
    Unavailable,
)
from tests.integration.array.conftest import ClientFactory, Topology
from tests.integration.array.sim import Sim

READS = 60


async def read_everything_once(array: InfiniBoxClient, replica_id: int) -> None:
    assert (await array.get_system()).name == "ibox-1"
    assert (await array.get_replica(replica_id)).id == replica_id
    assert [r.id for r in await array.list_all_replicas()] == [replica_id]


async def a_replica(array: InfiniBoxClient, sim: Sim, topology: Topology, description: str = "r") -> int:
    request = CreateReplicaRequest.create_target(
        link_id=topology.link_id,
        entity_type=EntityType.VOLUME,
        local_entity_id=await sim.volume("ibox-1", f"vol-{description}"),
        remote_pool_id=topology.remote_pool_id,
        description=description,
    )
    return (await array.create_replica(request)).id


@pytest.mark.parametrize("fault", ["error_rate", "drop_rate"])
async def test_reads_succeed_through_30_percent_faults(
    array: InfiniBoxClient, sim: Sim, topology: Topology, fault: str
) -> None:
    replica_id = await a_replica(array, sim, topology)
    await sim.clear_log()
    await sim.set_faults(**{fault: 0.3})

    for _ in range(READS):
        await read_everything_once(array, replica_id)

    log = await sim.request_log()
    failed = [entry for entry in log if entry["status"] == 0 or entry["status"] >= 500]
    assert len(failed) > READS // 2, "the faults really happened"
    assert len(log) - len(failed) >= READS * 3, "every read was answered in the end"
    if fault == "error_rate":
        assert {entry["status"] for entry in failed} <= {500, 502, 503}
    else:
        assert {entry["status"] for entry in failed} == {0}  # dropped: never answered


async def test_a_create_dropped_by_the_array_is_not_sent_again(
    array: InfiniBoxClient, sim: Sim, topology: Topology
) -> None:
    volume_id = await sim.volume("ibox-1", "db")
    await array.login()
    await sim.clear_log()
    await sim.set_faults(drop_rate=1.0, path_regex="^/api/rest/replicas$")
    request = CreateReplicaRequest.create_target(
        link_id=topology.link_id,
        entity_type=EntityType.VOLUME,
        local_entity_id=volume_id,
        remote_pool_id=topology.remote_pool_id,
        description="owner=dropped",
    )
    with pytest.raises(OutcomeUnknown) as caught:
        await array.create_replica(request)
    assert caught.value.code == "CONNECTION_LOST"
    posts = [e for e in await sim.request_log() if (e["method"], e["path"]) == ("POST", "/api/rest/replicas")]
    assert len(posts) == 1, "sent once, never repeated"
    await sim.clear_faults()
    # ibox-sim drops before acting, so here nothing was created; the caller learns that by looking.
    assert await array.find_replicas(description="owner=dropped") == []


@pytest.mark.parametrize("fault", ["drop_rate", "error_rate"])
async def test_a_create_whose_answer_is_lost_after_it_was_carried_out(
    array: InfiniBoxClient, sim: Sim, topology: Topology, fault: str
) -> None:
    volume_id = await sim.volume("ibox-1", "db")
    request = CreateReplicaRequest.create_target(
        link_id=topology.link_id,
        entity_type=EntityType.VOLUME,
        local_entity_id=volume_id,
        remote_pool_id=topology.remote_pool_id,
        description="owner=ns/db-7f3a",
    )
    await array.login()
    await sim.clear_log()
    await sim.set_faults(**{fault: 1.0}, phase="after", methods=["POST"], path_regex="^/api/rest/replicas$")
    with pytest.raises(OutcomeUnknown) as caught:
        await array.create_replica(request)
    assert isinstance(caught.value, Unavailable)
    posts = [e for e in await sim.request_log() if (e["method"], e["path"]) == ("POST", "/api/rest/replicas")]
    assert len(posts) == 1, "sent once, never repeated"
    await sim.clear_faults()

    on_the_array = await array.list_all_replicas()
    assert len(on_the_array) == 1, "created exactly once"
    (found,) = await array.find_replicas(description="owner=ns/db-7f3a")
    assert found.id == on_the_array[0].id
    assert found.local_entity_id == volume_id


async def test_an_expired_session_is_renewed_transparently(array: InfiniBoxClient, sim: Sim) -> None:
    await array.get_system()
    await sim.expire_sessions()
    assert (await array.get_system()).name == "ibox-1"
    calls = [(e["method"], e["path"], e["status"]) for e in await sim.request_log()]
    assert calls == [
        ("POST", "/api/rest/users/login", 200),
        ("GET", "/api/rest/system", 200),
        ("GET", "/api/rest/system", 401),
        ("POST", "/api/rest/users/login", 200),
        ("GET", "/api/rest/system", 200),
    ]


async def test_many_callers_after_expiry_log_in_once(array: InfiniBoxClient, sim: Sim) -> None:
    await array.get_system()
    await sim.expire_sessions()
    await asyncio.gather(*(array.get_system() for _ in range(40)))
    logins = [e for e in await sim.request_log() if e["path"] == "/api/rest/users/login"]
    assert len(logins) == 2


@pytest.mark.parametrize(("cap", "callers"), [(4, 300), (None, 1000)])
async def test_concurrent_requests_never_exceed_the_cap(
    make_client: ClientFactory, sim: Sim, cap: int | None, callers: int
) -> None:
    client = make_client("ibox-1") if cap is None else make_client("ibox-1", max_concurrent_requests=cap)
    limit = cap or 8
    await client.login()
    await sim.set_faults(latency_ms=20)  # long enough for callers to pile up behind the cap
    await sim.reset_stats()

    systems = await asyncio.gather(*(client.get_system() for _ in range(callers)))

    assert len(systems) == callers
    stats = (await sim.stats())["by_system"]["ibox-1"]
    assert stats["requests_total"] == callers
    assert stats["in_flight_high_water"] <= limit, stats
    assert stats["in_flight_high_water"] > limit // 2, "requests did run side by side"


async def test_an_array_that_cannot_be_reached_is_unavailable(make_client: ClientFactory) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    records: list[RequestRecord] = []
    client = make_client(
        "ibox-1",
        url=f"http://127.0.0.1:{port}",
        observer=records.append,
        retry=RetryPolicy(attempts=3, wait_initial=0, wait_max=0, wait_jitter=0),
    )
    with pytest.raises(Unavailable) as caught:
        await client.get_system()
    assert type(caught.value) is Unavailable
    assert (caught.value.code, caught.value.status_code) == ("CONNECT_ERROR", None)
    assert [(r.endpoint, r.error) for r in records] == [("/api/rest/users/login", "Unavailable")] * 3


async def test_an_array_that_keeps_failing_is_unavailable_after_bounded_retries(
    make_client: ClientFactory, sim: Sim
) -> None:
    client = make_client(
        "ibox-1", retry=RetryPolicy(attempts=4, wait_initial=0.001, wait_max=0.001, wait_jitter=0)
    )
    await client.login()
    await sim.clear_log()
    await sim.set_faults(error_rate=1.0)
    with pytest.raises(Unavailable) as caught:
        await client.get_system()
    assert caught.value.status_code in (500, 502, 503)
    assert caught.value.code in ("INTERNAL_ERROR", "SERVICE_UNAVAILABLE")
    assert len(await sim.request_log()) == 4


async def test_wrong_credentials_are_unauthorized(make_client: ClientFactory) -> None:
    client = make_client("ibox-1", password="not-the-password")
    with pytest.raises(Unauthorized) as caught:
        await client.get_system()
    assert (caught.value.status_code, caught.value.code) == (401, "LOGIN_FAILED")


async def test_the_observer_sees_templated_endpoints(
    make_client: ClientFactory, array: InfiniBoxClient, sim: Sim, topology: Topology
) -> None:
    replica_id = await a_replica(array, sim, topology)
    records: list[RequestRecord] = []
    observed = make_client("ibox-1", observer=records.append)
    await observed.get_replica(replica_id)
    await observed.suspend(replica_id)
    counts = Counter((r.method, r.endpoint, r.status, r.error) for r in records)
    assert counts == {
        ("POST", "/api/rest/users/login", 200, None): 1,
        ("GET", "/api/rest/replicas/{id}", 200, None): 1,
        ("POST", "/api/rest/replicas/{id}/suspend", 200, None): 1,
    }
