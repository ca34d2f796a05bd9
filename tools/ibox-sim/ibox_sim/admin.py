"""The ``/_sim/`` admin API: faults, link state, clock, timing, request log and statistics, reset.

Served on every system's port, without authentication (the app lets loopback clients only).
Errors use the same envelope as the REST API.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, Router

from ibox_sim.errors import ApiError, error_body
from ibox_sim.faults import FaultSpec
from ibox_sim.simulator import Simulator


class _LinkState(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: str = Field(pattern="^(?i:up|down)$")


class _Advance(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seconds: float = Field(ge=0)


class _Jobs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    paused: bool


Endpoint = Callable[[Request], Awaitable[Any]]


def _json(status: int, body: Any) -> Response:
    return JSONResponse(body, status_code=status)


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return await request.json()
    except ValueError:
        raise ApiError(400, "BAD_REQUEST", "the request body is not valid JSON") from None


M = TypeVar("M", bound=BaseModel)


def _model(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ApiError(400, "INVALID_VALUE", str(error)) from None


def create_admin_app(sim: Simulator, systems_info: Callable[[], list[dict[str, Any]]]) -> Router:
    """The admin router for ``sim``; ``systems_info`` gives the ready-line system list."""

    def endpoint(handler: Endpoint) -> Callable[[Request], Awaitable[Response]]:
        async def wrapped(request: Request) -> Response:
            try:
                result = await handler(request)
            except ApiError as error:
                return _json(error.status, error.body())
            return result if isinstance(result, Response) else _json(200, result)

        return wrapped

    async def requests_log(request: Request) -> Any:
        since = request.query_params.get("since", "0")
        if not since.isdigit():
            raise ApiError(400, "INVALID_VALUE", "since is a sequence number")
        with sim.lock:
            return sim.log.since(int(since))

    async def clear_requests(request: Request) -> Any:
        with sim.lock:
            return {"cleared": sim.log.clear()}

    async def stats(request: Request) -> Any:
        with sim.lock:
            return sim.stats.snapshot(sim.system_names)

    async def reset_stats(request: Request) -> Any:
        with sim.lock:
            sim.stats.reset()
            return sim.stats.snapshot(sim.system_names)

    async def get_faults(request: Request) -> Any:
        spec = sim.faults.spec
        return spec.model_dump() if spec else None

    async def put_faults(request: Request) -> Any:
        spec = _model(FaultSpec, await _body(request))
        unknown = [s for s in spec.systems or [] if s not in sim.system_names]
        if unknown:
            raise ApiError(404, "SYSTEM_NOT_FOUND", f"unknown systems {unknown}")
        with sim.lock:
            sim.faults.set(spec)
        return spec.model_dump()

    async def clear_faults(request: Request) -> Any:
        with sim.lock:
            sim.faults.clear()
        return {"cleared": True}

    async def put_link(request: Request) -> Any:
        body = _model(_LinkState, await _body(request))
        with sim.lock:
            return sim.set_link_state(
                request.path_params["system"], request.path_params["link"], body.state.upper() == "UP"
            )

    async def get_clock(request: Request) -> Any:
        return {"now": sim.clock.now()}

    async def advance(request: Request) -> Any:
        body = _model(_Advance, await _body(request))
        with sim.lock:
            return {"now": sim.advance(body.seconds)}

    async def get_config(request: Request) -> Any:
        return sim.world.config.model_dump()

    async def put_config(request: Request) -> Any:
        body = await _body(request)
        if not isinstance(body, dict):
            raise ApiError(400, "BAD_REQUEST", "the body is a JSON object")
        with sim.lock:
            try:
                return sim.update_config(body).model_dump()
            except ValidationError as error:
                raise ApiError(400, "INVALID_VALUE", str(error)) from None

    def _replica_ref(request: Request) -> tuple[str, int]:
        raw = request.path_params["id"]
        if not raw.isdigit():
            raise ApiError(400, "INVALID_VALUE", "a replica id is an integer")
        return request.path_params["system"], int(raw)

    async def complete_init(request: Request) -> Any:
        system, replica_id = _replica_ref(request)
        with sim.lock:
            sim.complete_initialization(system, replica_id)
            return {"system": system, "id": replica_id, "initialized": True}

    async def jobs(request: Request) -> Any:
        system, replica_id = _replica_ref(request)
        body = _model(_Jobs, await _body(request))
        with sim.lock:
            sim.set_jobs_paused(system, replica_id, body.paused)
        return {"system": system, "id": replica_id, "paused": body.paused}

    async def expire_sessions(request: Request) -> Any:
        with sim.lock:
            return {"expired": sim.auth.expire_all()}

    async def reset(request: Request) -> Any:
        with sim.lock:
            sim.reset()
        return {"reset": True}

    async def systems(request: Request) -> Any:
        return systems_info()

    routes = [
        ("/_sim/requests", requests_log, "GET"),
        ("/_sim/requests", clear_requests, "DELETE"),
        ("/_sim/stats", stats, "GET"),
        ("/_sim/stats/reset", reset_stats, "POST"),
        ("/_sim/faults", get_faults, "GET"),
        ("/_sim/faults", put_faults, "PUT"),
        ("/_sim/faults", clear_faults, "DELETE"),
        ("/_sim/links/{system}/{link}", put_link, "PUT"),
        ("/_sim/clock", get_clock, "GET"),
        ("/_sim/clock/advance", advance, "POST"),
        ("/_sim/config", get_config, "GET"),
        ("/_sim/config", put_config, "PUT"),
        ("/_sim/replicas/{system}/{id}/complete-initialization", complete_init, "POST"),
        ("/_sim/replicas/{system}/{id}/jobs", jobs, "PUT"),
        ("/_sim/sessions", expire_sessions, "DELETE"),
        ("/_sim/reset", reset, "POST"),
        ("/_sim/systems", systems, "GET"),
    ]
    by_path: dict[str, dict[str, Endpoint]] = {}
    for path, handler, method in routes:
        by_path.setdefault(path, {})[method] = handler

    def dispatcher(handlers: dict[str, Endpoint]) -> Endpoint:
        async def dispatch(request: Request) -> Any:
            handler = handlers.get(request.method)
            if handler is None:
                raise ApiError(405, "METHOD_NOT_ALLOWED", f"{request.method} is not allowed here")
            return await handler(request)

        return dispatch

    router = Router(
        routes=[
            Route(path, endpoint(dispatcher(handlers)), methods=["GET", "PUT", "POST", "DELETE"])
            for path, handlers in by_path.items()
        ]
    )

    async def fallback(scope: Any, receive: Any, send: Any) -> None:
        response = _json(404, error_body("ROUTE_NOT_FOUND", f"no admin route {scope.get('path')}"))
        await response(scope, receive, send)

    router.default = fallback
    return router
