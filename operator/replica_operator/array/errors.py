"""What can go wrong when talking to an array, as a small exception hierarchy.

Every failure of a call becomes one :class:`ArrayError` subclass that keeps the array's
own ``code`` and ``message`` (infinibox-api.md §2), so handlers can branch on the class
and still log what the array said. The mapping from an HTTP status or a transport
failure to a class lives here, in two pure functions, so it can be tested without I/O.

Whether a failed request *may have been carried out* matters for requests that are not
safe to repeat (a create, an action ``POST``): losing the answer to one of those gives
:class:`OutcomeUnknown`, telling the caller to look for the result instead of repeating.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

__all__ = [
    "INVALID_STATE_CODES",
    "REMOTE_PERMISSION_REQUIRED",
    "ArrayError",
    "BadRequest",
    "Conflict",
    "InvalidState",
    "NotFound",
    "OutcomeUnknown",
    "RemoteAuthorizationRequired",
    "Unauthorized",
    "Unavailable",
    "error_from_response",
    "error_from_transport",
]


class ArrayError(Exception):
    """A call to an array failed.

    ``status_code`` is the HTTP status (None when no answer arrived), ``code`` the array's
    machine code (or the client's, e.g. ``CONNECT_ERROR``), ``reasons`` the messages of
    the array's ``error.reasons``.
    """

    def __init__(
        self,
        array: str,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        reasons: Sequence[str] = (),
    ) -> None:
        self.array = array
        self.status_code = status_code
        self.code = code
        self.message = message
        self.reasons = tuple(reasons)
        super().__init__(self._text())

    def _text(self) -> str:
        head = " ".join(str(part) for part in (self.status_code, self.code) if part is not None)
        return f"{self.array}: {head}: {self.message}" if head else f"{self.array}: {self.message}"

    def __str__(self) -> str:
        return self._text()


class BadRequest(ArrayError):
    """The array refused the request as malformed or invalid (400): a bug or a bad spec."""


class Unauthorized(ArrayError):
    """The array refused the credentials or the session (401), or the operation (403)."""


class RemoteAuthorizationRequired(ArrayError):
    """The operation also acts on the peer array, which wants its credentials (403 REMOTE_PERMISSION_...).

    The client answers that by repeating the request once with the peer's credentials
    (:mod:`.remote`); this is raised when it has none for the peer, or the peer refused them.
    Not :class:`Unauthorized`: this array's own credentials are fine.
    """


class NotFound(ArrayError):
    """The object does not exist on the array (404)."""


class Conflict(ArrayError):
    """The request clashes with an existing object (409): a name is taken, an entity already replicated."""


class InvalidState(ArrayError):
    """The object's current state forbids the call (409), e.g. a type change while INITIALIZING.

    Usually temporary: the operator retries it later, when the state has moved on.
    """


class Unavailable(ArrayError):
    """No usable answer: the array could not be reached, timed out, dropped the connection or failed (5xx)."""


CLIENT_CLOSED = "CLIENT_CLOSED"
"""The client's code for a call made on a client that was closed (its connection is being replaced)."""


class OutcomeUnknown(Unavailable):
    """A request that is not safe to repeat may have been carried out, but its answer was lost.

    Raised instead of repeating a create or an action ``POST``: look for what it would
    have done (e.g. a replica by its ``description``) before trying again.
    """


#: The 403 code asking for the peer array's credentials (infinisdk ``core/api/api.py`` ``API.request``).
REMOTE_PERMISSION_REQUIRED = "REMOTE_PERMISSION_REQUIRED"

#: 409 codes that mean "not now, in this state" rather than "this clashes with something".
INVALID_STATE_CODES = frozenset(
    {
        "REPLICA_IS_INITIALIZING",
        "REPLICA_NOT_SUSPENDED",
        "REPLICA_IS_SUSPENDED",
        "REPLICA_NOT_SOURCE",
        "REPLICA_NOT_TARGET",
        "REPLICA_TYPE_MISMATCH",
        "LINK_DISCONNECTED",
        "OPERATION_NOT_ALLOWED_ON_TARGET",
    }
)


def error_from_response(array: str, status_code: int, body: Any, *, idempotent: bool) -> ArrayError:
    """The exception for a non-2xx answer; ``body`` is the decoded JSON body (anything else is tolerated)."""
    code, message, reasons = _error_fields(body)
    message = message or httpx.codes.get_reason_phrase(status_code) or "error"
    fields: dict[str, Any] = {"status_code": status_code, "code": code, "reasons": reasons}
    if status_code == 400 or (400 <= status_code < 500 and status_code not in (401, 403, 404, 409, 429)):
        return BadRequest(array, message, **fields)
    if status_code == 403 and code == REMOTE_PERMISSION_REQUIRED:
        return RemoteAuthorizationRequired(array, message, **fields)
    if status_code in (401, 403):
        return Unauthorized(array, message, **fields)
    if status_code == 404:
        return NotFound(array, message, **fields)
    if status_code == 409:
        cls = InvalidState if code in INVALID_STATE_CODES else Conflict
        return cls(array, message, **fields)
    if status_code == 429 or (status_code >= 500 and idempotent):
        return Unavailable(array, message, **fields)
    if status_code >= 500:
        # Even a 503 may come from a proxy that gave up after the array had acted.
        return OutcomeUnknown(array, f"{message}; the request may or may not have been carried out", **fields)
    return ArrayError(array, f"unexpected HTTP status ({message})", **fields)


def _error_fields(body: Any) -> tuple[str | None, str | None, list[str]]:
    """``(code, message, reason messages)`` from an InfiniBox error envelope, as far as it has them."""
    error = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(error, Mapping):
        return None, None, []
    code = error.get("code")
    message = error.get("message")
    raw_reasons = error.get("reasons")
    reasons = [
        str(reason.get("message")) if isinstance(reason, Mapping) else str(reason)
        for reason in (raw_reasons if isinstance(raw_reasons, list) else [])
    ]
    return (str(code) if code is not None else None, str(message) if message is not None else None, reasons)


def error_from_transport(array: str, error: httpx.HTTPError, *, idempotent: bool) -> Unavailable:
    """The exception for a request that got no answer.

    Connect errors and pool timeouts happen before anything is sent, so even a create may
    be repeated after them; any later loss makes a non-idempotent request's outcome unknown.
    """
    detail = str(error) or type(error).__name__
    if isinstance(error, httpx.ConnectError) and _is_certificate_error(error):
        return Unavailable(array, f"TLS verification failed: {detail}", code="TLS_ERROR")
    if isinstance(error, httpx.ConnectTimeout):
        return Unavailable(array, f"timed out connecting: {detail}", code="CONNECT_TIMEOUT")
    if isinstance(error, httpx.ConnectError):
        return Unavailable(array, f"cannot connect: {detail}", code="CONNECT_ERROR")
    if isinstance(error, httpx.PoolTimeout):
        return Unavailable(array, f"no free connection in time: {detail}", code="POOL_TIMEOUT")
    if isinstance(error, httpx.TimeoutException):
        code, what = "TIMEOUT", f"timed out waiting for the answer: {detail}"
    elif isinstance(error, httpx.TransportError):
        code, what = "CONNECTION_LOST", f"connection lost: {detail}"
    else:
        code, what = "INVALID_RESPONSE", f"unreadable answer: {detail}"
    if idempotent:
        return Unavailable(array, what, code=code)
    return OutcomeUnknown(array, f"{what}; the request may or may not have been carried out", code=code)


def _is_certificate_error(error: BaseException) -> bool:
    """Whether a connect error comes from TLS certificate verification (repeating it cannot help)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLCertVerificationError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return "CERTIFICATE_VERIFY_FAILED" in str(error)
