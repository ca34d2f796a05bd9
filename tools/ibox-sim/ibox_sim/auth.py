"""Authentication as the InfiniBox API does it.

``POST users/login`` (credentials in the JSON body) answers with a ``JSESSIONID``
cookie; HTTP Basic is accepted on every request as well. Sessions belong to one
system, last ``session_ttl_seconds`` on the simulator clock from login, and all
expire on ``DELETE /_sim/sessions``. Passwords are compared in constant time and
never logged.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from ibox_sim.clock import Clock
from ibox_sim.errors import ApiError, unauthorized

COOKIE_NAME = "JSESSIONID"


@dataclass(frozen=True, slots=True)
class LoginSession:
    token: str
    system: str
    username: str
    created_at: float


class Authenticator:
    """Checks credentials and keeps the login sessions of every system."""

    def __init__(self, username: str, password: str, clock: Clock, ttl: Callable[[], float]) -> None:
        self._username = username
        self._password = password
        self._clock = clock
        self._ttl = ttl
        self._sessions: dict[str, LoginSession] = {}

    @property
    def username(self) -> str:
        return self._username

    def credentials_valid(self, username: str, password: str) -> bool:
        user_ok = hmac.compare_digest(username.encode(), self._username.encode())
        password_ok = hmac.compare_digest(password.encode(), self._password.encode())
        return user_ok and password_ok

    def login(self, system: str, username: object, password: object) -> LoginSession:
        if not isinstance(username, str) or not isinstance(password, str):
            raise ApiError(401, "LOGIN_FAILED", "username and password are required")
        if not self.credentials_valid(username, password):
            raise ApiError(401, "LOGIN_FAILED", "invalid username or password")
        self._drop_expired()
        session = LoginSession(
            token=secrets.token_hex(16),
            system=system,
            username=username,
            created_at=self._clock.now(),
        )
        self._sessions[session.token] = session
        return session

    def logout(self, token: str | None) -> None:
        if token:
            self._sessions.pop(token, None)

    def authenticate(self, system: str, authorization: str | None, token: str | None) -> str:
        """The user a request acts as; raises 401 without valid Basic credentials or a live session."""
        if authorization:
            scheme, _, encoded = authorization.partition(" ")
            if scheme.lower() == "basic":
                username, password = parse_basic(encoded)
                if self.credentials_valid(username, password):
                    return username
                raise ApiError(401, "LOGIN_FAILED", "invalid username or password")
        if token:
            session = self._sessions.get(token)
            if session is not None and session.system == system:
                if not self._expired(session, self._clock.now()):
                    return session.username
                del self._sessions[token]
                raise unauthorized("the session has expired; log in again")
        raise unauthorized()

    def remote_credentials_valid(self, header: str) -> bool:
        """Whether an ``X-Remote-Authorization`` value carries valid credentials of a peer.

        Forms as infinisdk 289 builds them (``core/api/api.py``): ``Basic <b64>`` (arrays before
        8.4) or ``Basic <peer>=<b64>;<peer>=<b64>`` (multi-target, 8.4+). Every simulated system
        has the same user, so any valid pair is a peer's.
        """
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic" or not value.strip():
            return False
        for part in value.split(";"):
            for candidate in (part, part.partition("=")[2]):  # "<b64>" or "<peer>=<b64>"
                try:
                    username, password = parse_basic(candidate)
                except ApiError:
                    continue
                if self.credentials_valid(username, password):
                    return True
        return False

    def expire_all(self) -> int:
        """Forget every session (clients must log in again); returns how many there were."""
        count = len(self._sessions)
        self._sessions.clear()
        return count

    def session_count(self) -> int:
        self._drop_expired()
        return len(self._sessions)

    def _expired(self, session: LoginSession, now: float) -> bool:
        """Expired once the TTL (as configured now, so a change applies to live sessions) has passed."""
        return now - session.created_at >= self._ttl()

    def _drop_expired(self) -> None:
        now = self._clock.now()
        for token in [t for t, s in self._sessions.items() if self._expired(s, now)]:
            del self._sessions[token]


def parse_basic(encoded: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise ApiError(401, "LOGIN_FAILED", "malformed Basic credentials") from None
    username, sep, password = decoded.partition(":")
    if not sep:
        raise ApiError(401, "LOGIN_FAILED", "malformed Basic credentials")
    return username, password
