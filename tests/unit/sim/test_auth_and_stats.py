"""Sessions on the manual clock; request statistics and the request log."""

from __future__ import annotations

import base64

import pytest

from ibox_sim.auth import Authenticator
from ibox_sim.clock import ManualClock
from ibox_sim.errors import ApiError
from ibox_sim.stats import RequestLog, RequestStats


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def auth(clock: ManualClock) -> Authenticator:
    return Authenticator("admin", "s3cret", clock, lambda: 60.0)


def test_basic_auth(auth: Authenticator) -> None:
    assert auth.authenticate("ibox-1", _basic("admin", "s3cret"), None) == "admin"
    with pytest.raises(ApiError) as wrong:
        auth.authenticate("ibox-1", _basic("admin", "nope"), None)
    assert (wrong.value.status, wrong.value.code) == (401, "LOGIN_FAILED")
    with pytest.raises(ApiError) as garbage:
        auth.authenticate("ibox-1", "Basic !!!", None)
    assert garbage.value.code == "LOGIN_FAILED"
    with pytest.raises(ApiError) as nothing:
        auth.authenticate("ibox-1", None, None)
    assert (nothing.value.status, nothing.value.code) == (401, "UNAUTHORIZED")


def test_sessions_expire_after_the_ttl(auth: Authenticator, clock: ManualClock) -> None:
    session = auth.login("ibox-1", "admin", "s3cret")
    assert auth.authenticate("ibox-1", None, session.token) == "admin"
    with pytest.raises(ApiError):
        auth.authenticate("ibox-2", None, session.token)  # another system's session
    clock.advance(59.9)
    assert auth.authenticate("ibox-1", None, session.token) == "admin"
    clock.advance(0.1)
    with pytest.raises(ApiError) as expired:
        auth.authenticate("ibox-1", None, session.token)
    assert expired.value.code == "UNAUTHORIZED"
    assert auth.session_count() == 0


def test_login_logout_and_expire_all(auth: Authenticator) -> None:
    with pytest.raises(ApiError) as refused:
        auth.login("ibox-1", "admin", "wrong")
    assert refused.value.code == "LOGIN_FAILED"
    with pytest.raises(ApiError):
        auth.login("ibox-1", None, None)
    first, second = auth.login("ibox-1", "admin", "s3cret"), auth.login("ibox-2", "admin", "s3cret")
    assert first.token != second.token
    auth.logout(first.token)
    with pytest.raises(ApiError):
        auth.authenticate("ibox-1", None, first.token)
    assert auth.expire_all() == 1
    with pytest.raises(ApiError):
        auth.authenticate("ibox-2", None, second.token)


def test_in_flight_high_water_mark() -> None:
    stats = RequestStats()
    for _ in range(3):
        stats.begin("ibox-1")
    stats.begin("ibox-2")
    stats.end("ibox-1")
    stats.begin("ibox-1")
    snapshot = stats.snapshot(["ibox-1", "ibox-2", "ibox-3"])
    assert (snapshot["requests_total"], snapshot["in_flight"], snapshot["in_flight_high_water"]) == (5, 4, 4)
    assert snapshot["by_system"]["ibox-1"] == {"requests_total": 4, "in_flight": 3, "in_flight_high_water": 3}
    assert snapshot["by_system"]["ibox-3"]["requests_total"] == 0
    stats.reset()
    after = stats.snapshot(["ibox-1"])
    assert (after["requests_total"], after["in_flight"], after["in_flight_high_water"]) == (0, 4, 4)
    for system in ("ibox-1", "ibox-1", "ibox-1", "ibox-2"):
        stats.end(system)
    stats.reset()
    assert stats.snapshot([])["in_flight_high_water"] == 0


def test_request_log_is_numbered_and_bounded() -> None:
    log = RequestLog(maxlen=3)
    seqs = [
        log.add(system="s", method="GET", path=f"/p{n}", query="", status=200, started=1.0, duration_ms=0.5)
        for n in range(5)
    ]
    assert seqs == [1, 2, 3, 4, 5]
    assert [e["path"] for e in log.since()] == ["/p2", "/p3", "/p4"]
    assert [e["seq"] for e in log.since(4)] == [5]
    assert log.clear() == 3
    assert log.since() == []


@pytest.mark.parametrize(
    ("header", "valid"),
    [
        (_basic("admin", "s3cret"), True),  # one peer, before 8.4
        ("Basic 10.0.0.1=" + _basic("x", "y")[6:] + ";10.0.0.2=" + _basic("admin", "s3cret")[6:], True),
        (_basic("admin", "wrong"), False),
        ("Bearer " + _basic("admin", "s3cret")[6:], False),
        ("Basic not-base64!", False),
        ("Basic ", False),
    ],
)
def test_remote_authorization_forms(auth: Authenticator, header: str, valid: bool) -> None:
    assert auth.remote_credentials_valid(header) is valid


def test_replica_creates_are_counted_per_entity() -> None:
    log = RequestLog()
    common = {"query": "", "started": 0.0, "duration_ms": 1.0}
    log.add(system="ibox-1", method="POST", path="/api/rest/replicas", status=200, entities=[7], **common)
    log.add(
        system="ibox-1",
        method="POST",
        path="/api/rest/replicas",
        status=409,
        error_code="ENTITY_ALREADY_REPLICATED",
        entities=[7],
        **common,
    )
    log.add(system="ibox-2", method="POST", path="/api/rest/replicas", status=200, entities=[7, 8], **common)
    log.add(system="ibox-1", method="GET", path="/api/rest/replicas", status=200, **common)
    assert log.replica_creates() == [
        {
            "system": "ibox-1",
            "entity_id": 7,
            "posts": 2,
            "statuses": {"200": 1, "409": 1},
            "codes": {"ENTITY_ALREADY_REPLICATED": 1},
        },
        {"system": "ibox-2", "entity_id": 7, "posts": 1, "statuses": {"200": 1}, "codes": {}},
        {"system": "ibox-2", "entity_id": 8, "posts": 1, "statuses": {"200": 1}, "codes": {}},
    ]
