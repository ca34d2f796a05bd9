"""The password never shows: not in logs (any logger, DEBUG), exceptions, reprs or tracebacks with locals."""

from __future__ import annotations

import logging
import socket
import traceback
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import pytest

from replica_operator.array import (
    ArrayError,
    CreateReplicaRequest,
    EntityType,
    InvalidState,
    OutcomeUnknown,
    ReplicationType,
    RetryPolicy,
    Unauthorized,
    Unavailable,
)
from tests.integration.array.conftest import ClientFactory, Topology
from tests.integration.array.sim import PASSWORD, USERNAME, Sim, basic_auth

WRONG_PASSWORD = "Wr0ng-but-also-s3cret-c41b"


def forms(password: str) -> list[str]:
    """What a leak could look like: plain, URL-encoded, Basic (user:password) and bare base64."""
    return [password, quote(password, safe=""), basic_auth(USERNAME, password), basic_auth("", password)[4:]]


SECRETS = forms(PASSWORD) + forms(WRONG_PASSWORD)


def everything_about(error: BaseException) -> str:
    with_locals = traceback.TracebackException.from_exception(error, capture_locals=True)
    return "\n".join(
        [str(error), repr(error), "".join(traceback.format_exception(error)), "".join(with_locals.format())]
    )


def everything_logged(records: list[logging.LogRecord]) -> str:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(f"{formatter.format(r)} {r.__dict__!r}" for r in records)


async def test_no_secret_escapes(
    make_client: ClientFactory, sim: Sim, topology: Topology, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    failures: list[BaseException] = []

    async def expect(kind: type[ArrayError], action: Callable[[], Awaitable[Any]]) -> None:
        with pytest.raises(kind) as caught:
            await action()
        failures.append(caught.value)

    array = make_client("ibox-1")
    volume_id = await sim.volume("ibox-1", "db")
    replica = await array.create_replica(
        CreateReplicaRequest.create_target(
            link_id=topology.link_id,
            entity_type=EntityType.VOLUME,
            local_entity_id=volume_id,
            remote_pool_id=topology.remote_pool_id,
        )
    )
    await expect(InvalidState, lambda: array.change_type(replica.id, ReplicationType.SYNC))
    await sim.expire_sessions()
    await array.get_replica(replica.id)  # logs in again

    await expect(Unauthorized, lambda: make_client("ibox-1", password=WRONG_PASSWORD).get_system())

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    await expect(Unavailable, lambda: make_client("ibox-1", url=closed).get_system())

    await sim.expire_sessions()
    await sim.set_faults(drop_rate=1.0, path_regex="login")
    few = RetryPolicy(attempts=2, wait_initial=0, wait_jitter=0)
    await expect(Unavailable, lambda: make_client("ibox-1", retry=few).get_system())
    await sim.set_faults(drop_rate=1.0, path_regex="suspend")
    await expect(OutcomeUnknown, lambda: array.suspend(replica.id))
    await sim.clear_faults()

    texts = {f"exception {type(e).__name__}": everything_about(e) for e in failures}
    texts["logs"] = everything_logged(caplog.records)
    texts["client"] = f"{array!r} {vars(array)!r}"
    for where, text in texts.items():
        for secret in SECRETS:
            assert secret not in text, f"a secret ({secret[:3]}...) shows in the {where}"

    # the checks looked at real material
    assert {"httpx", "httpcore.connection", "httpcore.http11", "replica_operator.array"} <= {
        r.name for r in caplog.records
    }
    assert "_Call(method='POST', endpoint='/api/rest/users/login'" in texts["exception Unavailable"]
    assert len(failures) == 5
