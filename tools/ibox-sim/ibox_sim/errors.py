"""API errors and the InfiniBox error envelope.

Handlers raise :class:`ApiError`; the HTTP layer turns it into a non-2xx response whose
body carries ``error.code`` (the SDK decides success by HTTP status only, and reads the
code and message from the body).
"""

from __future__ import annotations

from typing import Any

#: The not-found code for each kind of object (docs/simulator.md, 404 row).
NOT_FOUND_CODES: dict[str, str] = {
    "volume": "VOLUME_NOT_FOUND",
    "filesystem": "FILESYSTEM_NOT_FOUND",
    "pool": "POOL_NOT_FOUND",
    "cg": "CG_NOT_FOUND",
    "link": "LINK_NOT_FOUND",
    "replica": "REPLICA_NOT_FOUND",
    "snapshot": "SNAPSHOT_NOT_FOUND",
    "network_space": "NETWORK_SPACE_NOT_FOUND",
    "export": "EXPORT_NOT_FOUND",
    "route": "ROUTE_NOT_FOUND",
    "system": "SYSTEM_NOT_FOUND",
    "metadata": "METADATA_NOT_FOUND",
}


class ApiError(Exception):
    """An error answered to the client with ``status`` and the envelope's ``error`` object."""

    def __init__(self, status: int, code: str, message: str, *, is_remote: bool = False) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.is_remote = is_remote

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, is_remote=self.is_remote)


def error_body(code: str, message: str, *, is_remote: bool = False) -> dict[str, Any]:
    """The envelope of an error; ``reasons`` stays empty (items would need ``affected_entities``)."""
    return {
        "result": None,
        "metadata": {"ready": True},
        "error": {
            "code": code,
            "message": message,
            "reasons": [],
            "severity": "ERROR",
            "is_remote": is_remote,
            "data": None,
        },
    }


def bad_request(message: str, code: str = "BAD_REQUEST") -> ApiError:
    return ApiError(400, code, message)


def unknown_parameter(name: str) -> ApiError:
    return ApiError(400, "UNKNOWN_PARAMETER", f"unknown parameter {name!r}")


def missing_parameter(name: str) -> ApiError:
    return ApiError(400, "MISSING_PARAMETER", f"missing required parameter {name!r}")


def invalid_value(name: str, value: object, why: str = "") -> ApiError:
    message = f"invalid value {value!r} for {name!r}" + (f": {why}" if why else "")
    return ApiError(400, "INVALID_VALUE", message)


def not_found(kind: str, ident: object) -> ApiError:
    return ApiError(404, NOT_FOUND_CODES[kind], f"{kind.replace('_', ' ')} {ident!r} not found")


def conflict(code: str, message: str) -> ApiError:
    """409 for a clash with an existing object (ENTITY_ALREADY_REPLICATED, NAME_ALREADY_EXISTS, ...)."""
    return ApiError(409, code, message)


def invalid_state(code: str, message: str) -> ApiError:
    """409 for a call the replica's current state does not allow (REPLICA_IS_INITIALIZING, ...)."""
    return ApiError(409, code, message)


def unauthorized(message: str = "authentication required", code: str = "UNAUTHORIZED") -> ApiError:
    return ApiError(401, code, message)
