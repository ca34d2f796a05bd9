"""From the array's answer (or its absence) to an exception class, keeping what the array said."""

from __future__ import annotations

import ssl

import httpx
import pytest

from replica_operator.array import (
    ArrayError,
    BadRequest,
    Conflict,
    InvalidState,
    NotFound,
    OutcomeUnknown,
    RemoteAuthorizationRequired,
    Unauthorized,
    Unavailable,
)
from replica_operator.array.errors import error_from_response, error_from_transport


def envelope(
    code: str, message: str = "it went wrong", reasons: list[object] | None = None
) -> dict[str, object]:
    error = {
        "code": code,
        "message": message,
        "reasons": reasons or [],
        "severity": "ERROR",
        "is_remote": False,
    }
    return {"result": None, "metadata": {"ready": True}, "error": error}


@pytest.mark.parametrize(
    ("status", "code", "idempotent", "expected"),
    [
        (400, "INVALID_VALUE", True, BadRequest),
        (400, "UNKNOWN_PARAMETER", False, BadRequest),
        (422, "UNPROCESSABLE", False, BadRequest),
        (401, "UNAUTHORIZED", True, Unauthorized),
        (401, "LOGIN_FAILED", True, Unauthorized),
        (403, "APPROVAL_REQUIRED", False, Unauthorized),
        (403, "REMOTE_PERMISSION_REQUIRED", False, RemoteAuthorizationRequired),
        (401, "REMOTE_PERMISSION_REQUIRED", True, Unauthorized),  # only a 403 asks for the peer
        (404, "REPLICA_NOT_FOUND", True, NotFound),
        (404, "ROUTE_NOT_FOUND", False, NotFound),
        (409, "ENTITY_ALREADY_REPLICATED", False, Conflict),
        (409, "NAME_ALREADY_EXISTS", False, Conflict),
        (409, "TARGET_NOT_EMPTY", False, Conflict),
        (409, "SIZE_MISMATCH", False, Conflict),
        (409, "SOMETHING_NEW", False, Conflict),
        (409, "REPLICA_IS_INITIALIZING", False, InvalidState),
        (409, "REPLICA_NOT_SUSPENDED", False, InvalidState),
        (409, "REPLICA_IS_SUSPENDED", False, InvalidState),
        (409, "REPLICA_NOT_SOURCE", False, InvalidState),
        (409, "REPLICA_NOT_TARGET", False, InvalidState),
        (409, "REPLICA_TYPE_MISMATCH", False, InvalidState),
        (409, "LINK_DISCONNECTED", False, InvalidState),
        (409, "OPERATION_NOT_ALLOWED_ON_TARGET", True, InvalidState),
        (429, "TOO_MANY_REQUESTS", False, Unavailable),
        (500, "INTERNAL_ERROR", True, Unavailable),
        (502, "SERVICE_UNAVAILABLE", True, Unavailable),
        (503, "SERVICE_UNAVAILABLE", True, Unavailable),
        (503, "SERVICE_UNAVAILABLE", False, OutcomeUnknown),
        (500, "INTERNAL_ERROR", False, OutcomeUnknown),
        (502, "SERVICE_UNAVAILABLE", False, OutcomeUnknown),
    ],
)
def test_status_and_code_choose_the_class(
    status: int, code: str, idempotent: bool, expected: type[ArrayError]
) -> None:
    error = error_from_response("ibox-1", status, envelope(code), idempotent=idempotent)
    assert type(error) is expected
    assert (error.array, error.status_code, error.code) == ("ibox-1", status, code)
    assert error.message.startswith("it went wrong")


def test_outcome_unknown_is_a_kind_of_unavailable() -> None:
    assert issubclass(OutcomeUnknown, Unavailable)
    assert all(
        issubclass(cls, ArrayError) for cls in (BadRequest, Unauthorized, NotFound, Conflict, InvalidState)
    )


def test_str_reads_like_a_log_line() -> None:
    error = error_from_response(
        "ibox-1", 409, envelope("REPLICA_IS_INITIALIZING", "cannot change the type"), idempotent=False
    )
    assert str(error) == "ibox-1: 409 REPLICA_IS_INITIALIZING: cannot change the type"
    assert repr(error) == "InvalidState('ibox-1: 409 REPLICA_IS_INITIALIZING: cannot change the type')"


def test_reasons_keep_their_messages() -> None:
    reasons: list[object] = [{"message": "pool is full", "affected_entities": []}, "odd reason"]
    error = error_from_response("ibox-1", 400, envelope("BAD_REQUEST", reasons=reasons), idempotent=True)
    assert error.reasons == ("pool is full", "odd reason")


@pytest.mark.parametrize("body", [None, "<html>Bad Gateway</html>", {"unexpected": True}, [1, 2]])
def test_answers_without_an_envelope_use_the_reason_phrase(body: object) -> None:
    error = error_from_response("ibox-1", 502, body, idempotent=True)
    assert type(error) is Unavailable
    assert error.code is None
    assert str(error) == "ibox-1: 502: Bad Gateway"


def test_unexpected_statuses_are_plain_array_errors() -> None:
    error = error_from_response("ibox-1", 302, None, idempotent=True)
    assert type(error) is ArrayError
    assert error.status_code == 302


REQUEST = httpx.Request("POST", "https://ibox-1.example/api/rest/replicas")


@pytest.mark.parametrize(
    ("failure", "idempotent", "expected", "code"),
    [
        (httpx.ConnectError("refused", request=REQUEST), False, Unavailable, "CONNECT_ERROR"),
        (httpx.ConnectTimeout("slow", request=REQUEST), False, Unavailable, "CONNECT_TIMEOUT"),
        (httpx.PoolTimeout("busy", request=REQUEST), False, Unavailable, "POOL_TIMEOUT"),
        (httpx.ReadTimeout("slow", request=REQUEST), True, Unavailable, "TIMEOUT"),
        (httpx.ReadTimeout("slow", request=REQUEST), False, OutcomeUnknown, "TIMEOUT"),
        (httpx.WriteTimeout("slow", request=REQUEST), False, OutcomeUnknown, "TIMEOUT"),
        (httpx.RemoteProtocolError("dropped", request=REQUEST), True, Unavailable, "CONNECTION_LOST"),
        (httpx.RemoteProtocolError("dropped", request=REQUEST), False, OutcomeUnknown, "CONNECTION_LOST"),
        (httpx.ReadError("reset", request=REQUEST), False, OutcomeUnknown, "CONNECTION_LOST"),
        (httpx.WriteError("reset", request=REQUEST), False, OutcomeUnknown, "CONNECTION_LOST"),
        (httpx.DecodingError("garbled", request=REQUEST), True, Unavailable, "INVALID_RESPONSE"),
    ],
)
def test_transport_failures(
    failure: httpx.HTTPError, idempotent: bool, expected: type[Unavailable], code: str
) -> None:
    error = error_from_transport("ibox-1", failure, idempotent=idempotent)
    assert type(error) is expected
    assert error.code == code
    assert error.status_code is None
    assert str(error).startswith(f"ibox-1: {code}: ")


def test_a_certificate_failure_is_recognised_through_the_exception_chain() -> None:
    try:
        try:
            raise ssl.SSLCertVerificationError(1, "certificate verify failed: self-signed certificate")
        except ssl.SSLError as cause:
            raise httpx.ConnectError("handshake failed", request=REQUEST) from cause
    except httpx.ConnectError as failure:
        error = error_from_transport("ibox-1", failure, idempotent=False)
    assert type(error) is Unavailable
    assert error.code == "TLS_ERROR"
