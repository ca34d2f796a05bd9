"""A scripted InfiniBox for ``httpx.MockTransport``: sessions, a route table, a record of requests."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import deque
from collections.abc import Callable
from typing import Any

import httpx

from replica_operator.array import InfiniBoxClient, RetryPolicy

PASSWORD = "unit-Secret-9f3b"
FAST = RetryPolicy(attempts=4, timeout=5.0, wait_initial=0.0, wait_max=0.0, wait_jitter=0.0)

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def ok(result: Any, **metadata: Any) -> httpx.Response:
    return httpx.Response(
        200, json={"result": result, "error": None, "metadata": {"ready": True, **metadata}}
    )


def failure(status: int, code: str, message: str = "refused") -> httpx.Response:
    error = {"code": code, "message": message, "reasons": [], "severity": "ERROR", "is_remote": False}
    return httpx.Response(status, json={"result": None, "error": error, "metadata": {"ready": True}})


def replica(ident: int, **fields: Any) -> dict[str, Any]:
    return {"id": ident, "entity_type": "VOLUME", "role": "SOURCE", "replication_type": "ASYNC", **fields}


class FakeArray:
    """Answers ``POST users/login`` itself; other requests from queued answers per (method, path)."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.routes: dict[tuple[str, str], deque[Answer]] = {}
        self.defaults: dict[tuple[str, str], Answer] = {}
        self.valid_sessions: set[str] = set()
        self._tokens = (f"session-{n}" for n in itertools.count(1))
        self.logins = 0

    def queue(self, method: str, path: str, *answers: Answer) -> None:
        """Answer the next requests to ``method path`` with ``answers``, in order."""
        self.routes.setdefault((method, path), deque()).extend(answers)

    def always(self, method: str, path: str, answer: Answer) -> None:
        self.defaults[(method, path)] = answer

    def expire_sessions(self) -> None:
        self.valid_sessions.clear()

    def sent(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == path]

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        # A real transport always awaits the network; this yield is that await, so concurrent
        # callers interleave (what the concurrency tests are about), not a wait for anything.
        await asyncio.sleep(0)
        if request.url.path == "/api/rest/users/login":
            return self._login(request)
        cookie = request.headers.get("cookie", "")
        if cookie.removeprefix("JSESSIONID=") not in self.valid_sessions:
            return failure(401, "UNAUTHORIZED", "authentication required")
        key = (request.method, request.url.path)
        queued = self.routes.get(key)
        answer = queued.popleft() if queued else self.defaults.get(key)
        if answer is None:
            return failure(404, "ROUTE_NOT_FOUND", f"no route for {request.method} {request.url.path}")
        if isinstance(answer, Exception):
            raise answer
        if callable(answer) and not isinstance(answer, httpx.Response):
            return answer(request)
        return answer

    def _login(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body != {"username": "admin", "password": PASSWORD}:
            return failure(401, "LOGIN_FAILED", "invalid username or password")
        self.logins += 1
        token = next(self._tokens)
        self.valid_sessions.add(token)
        return httpx.Response(
            200,
            json={"result": {"name": "admin"}, "error": None, "metadata": {"ready": True}},
            headers={"Set-Cookie": f"JSESSIONID={token}; Path=/; HttpOnly"},
        )


def client_for(fake: FakeArray, **options: Any) -> InfiniBoxClient:
    options.setdefault("retry", FAST)
    options.setdefault("transport", httpx.MockTransport(fake))
    options.setdefault("password", PASSWORD)
    return InfiniBoxClient("https://ibox-1.example", username="admin", name="ibox-1", **options)
