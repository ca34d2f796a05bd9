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

from ibox_sim.config import LATENCY_PROFILES
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


class _Latency(BaseModel):
    """``PUT /_sim/latency``: a named profile, then per-class overrides (ms)."""

    model_config = ConfigDict(extra="forbid")
    profile: str | None = Field(default=None, pattern="^(none|realistic)$")
    reads: float | None = Field(default=None, ge=0, le=600_000)
    creates: float | None = Field(default=None, ge=0, le=600_000)
    actions: float | None = Field(default=None, ge=0, le=600_000)
    deletes: float | None = Field(default=None, ge=0, le=600_000)


def _replica_ref(request: Request) -> tuple[str, int]:
    raw = request.path_params["id"]
    if not raw.isdigit():
        raise ApiError(400, "INVALID_VALUE", "a replica id is an integer")
    return request.path_params["system"], int(raw)


class _Admin:
    """The admin endpoints; each takes the request and returns the JSON answer."""

    def __init__(self, sim: Simulator, systems_info: Callable[[], list[dict[str, Any]]]) -> None:
        self.sim = sim
        self.writes: dict[tuple[str, int], int] = {}
        self.systems = lambda request: _ready(systems_info())

    async def requests_log(self, request: Request) -> Any:
        since = request.query_params.get("since", "0")
        if not since.isdigit():
            raise ApiError(400, "INVALID_VALUE", "since is a sequence number")
        with self.sim.lock:
            return self.sim.log.since(int(since))

    async def clear_requests(self, request: Request) -> Any:
        with self.sim.lock:
            return {"cleared": self.sim.log.clear()}

    async def replica_creates(self, request: Request) -> Any:
        with self.sim.lock:
            return self.sim.log.replica_creates()

    async def stats(self, request: Request) -> Any:
        with self.sim.lock:
            return self.sim.stats.snapshot(self.sim.system_names)

    async def reset_stats(self, request: Request) -> Any:
        with self.sim.lock:
            self.sim.stats.reset()
            return self.sim.stats.snapshot(self.sim.system_names)

    async def get_faults(self, request: Request) -> Any:
        spec = self.sim.faults.spec
        return spec.model_dump() if spec else None

    async def put_faults(self, request: Request) -> Any:
        spec = _model(FaultSpec, await _body(request))
        unknown = [s for s in spec.systems or [] if s not in self.sim.system_names]
        if unknown:
            raise ApiError(404, "SYSTEM_NOT_FOUND", f"unknown systems {unknown}")
        with self.sim.lock:
            self.sim.faults.set(spec)
        return spec.model_dump()

    async def clear_faults(self, request: Request) -> Any:
        with self.sim.lock:
            self.sim.faults.clear()
        return {"cleared": True}

    async def put_link(self, request: Request) -> Any:
        body = _model(_LinkState, await _body(request))
        with self.sim.lock:
            return self.sim.set_link_state(
                request.path_params["system"], request.path_params["link"], body.state.upper() == "UP"
            )

    async def get_clock(self, request: Request) -> Any:
        return {"now": self.sim.clock.now()}

    async def advance(self, request: Request) -> Any:
        body = _model(_Advance, await _body(request))
        with self.sim.lock:
            return {"now": self.sim.advance(body.seconds)}

    async def get_config(self, request: Request) -> Any:
        return self.sim.world.config.model_dump()

    async def put_config(self, request: Request) -> Any:
        body = await _body(request)
        if not isinstance(body, dict):
            raise ApiError(400, "BAD_REQUEST", "the body is a JSON object")
        with self.sim.lock:
            try:
                return self.sim.update_config(body).model_dump()
            except ValidationError as error:
                raise ApiError(400, "INVALID_VALUE", str(error)) from None

    async def get_latency(self, request: Request) -> Any:
        return self.sim.world.config.latency.model_dump()

    async def put_latency(self, request: Request) -> Any:
        body = _model(_Latency, await _body(request))
        with self.sim.lock:
            base = self.sim.world.config.latency
            if body.profile is not None:
                base = LATENCY_PROFILES[body.profile]
            overrides = body.model_dump(exclude={"profile"}, exclude_none=True)
            latency = base.model_copy(update=overrides)
            return self.sim.update_config({"latency": latency.model_dump()}).latency.model_dump()

    async def complete_init(self, request: Request) -> Any:
        system, replica_id = _replica_ref(request)
        with self.sim.lock:
            self.sim.complete_initialization(system, replica_id)
            return {"system": system, "id": replica_id, "initialized": True}

    async def jobs(self, request: Request) -> Any:
        system, replica_id = _replica_ref(request)
        body = _model(_Jobs, await _body(request))
        with self.sim.lock:
            self.sim.set_jobs_paused(system, replica_id, body.paused)
        return {"system": system, "id": replica_id, "paused": body.paused}

    async def put_fields(self, request: Request) -> Any:
        system, replica_id = _replica_ref(request)
        body = await _body(request)
        if not isinstance(body, dict):
            raise ApiError(400, "BAD_REQUEST", "the body is a JSON object of field: value")
        with self.sim.lock:
            return self.sim.override_fields(system, replica_id, body)

    async def clear_fields(self, request: Request) -> Any:
        system, replica_id = _replica_ref(request)
        with self.sim.lock:
            return self.sim.override_fields(system, replica_id, None)

    async def expire_sessions(self, request: Request) -> Any:
        with self.sim.lock:
            return {"expired": self.sim.auth.expire_all()}

    async def write(self, request: Request) -> Any:
        """A host writes to a volume or (over NFS) a filesystem (the simulator keeps no data, only the
        count of writes): refused on a write-protected dataset and on the TARGET of a replica, as a
        host sees on an array."""
        system_name, volume_id = _replica_ref(request)
        filesystem = request.url.path.startswith("/_sim/filesystems/")
        with self.sim.lock:
            system = self.sim.system(system_name)
            volume = (system.filesystems if filesystem else system.volumes).get(volume_id)
            if volume is None:
                kind = "FILESYSTEM" if filesystem else "VOLUME"
                raise ApiError(404, f"{kind}_NOT_FOUND", f"no {kind.lower()} {volume_id} on {system_name}")
            targets = [r for r in volume.replica_ids if system.replicas[r].role == "TARGET"]
            if volume.write_protected or targets:
                why = f"the target of replica {targets[0]}" if targets else "write-protected"
                raise ApiError(409, "WRITE_PROTECTED", f"volume {volume.name!r} is {why}")
            key = (system_name, volume_id)
            self.writes[key] = self.writes.get(key, 0) + 1
            return {"system": system_name, "id": volume_id, "writes": self.writes[key]}

    async def mapped(self, request: Request) -> Any:
        """A host maps (or unmaps) a dataset: what the array reports as its ``mapped`` field."""
        system_name, dataset_id = _replica_ref(request)
        body = await request.json()
        if not isinstance(body, dict) or not isinstance(body.get("mapped"), bool):
            raise ApiError(400, "INVALID_VALUE", 'the body is {"mapped": true|false}')
        with self.sim.lock:
            dataset = self.sim.system(system_name).dataset(dataset_id)
            if dataset is None:
                raise ApiError(404, "DATASET_NOT_FOUND", f"no dataset {dataset_id} on {system_name}")
            dataset.mapped = body["mapped"]
            self.sim.changed()
            return {"system": system_name, "id": dataset_id, "mapped": dataset.mapped}

    async def reset(self, request: Request) -> Any:
        with self.sim.lock:
            self.sim.reset()
        return {"reset": True}


async def _ready(value: Any) -> Any:
    return value


#: (path, method, name of the :class:`_Admin` endpoint)
ROUTES: list[tuple[str, str, str]] = [
    ("/_sim/requests", "GET", "requests_log"),
    ("/_sim/requests", "DELETE", "clear_requests"),
    ("/_sim/replica-creates", "GET", "replica_creates"),
    ("/_sim/stats", "GET", "stats"),
    ("/_sim/stats/reset", "POST", "reset_stats"),
    ("/_sim/faults", "GET", "get_faults"),
    ("/_sim/faults", "PUT", "put_faults"),
    ("/_sim/faults", "DELETE", "clear_faults"),
    ("/_sim/links/{system}/{link}", "PUT", "put_link"),
    ("/_sim/clock", "GET", "get_clock"),
    ("/_sim/clock/advance", "POST", "advance"),
    ("/_sim/config", "GET", "get_config"),
    ("/_sim/config", "PUT", "put_config"),
    ("/_sim/latency", "GET", "get_latency"),
    ("/_sim/latency", "PUT", "put_latency"),
    ("/_sim/replicas/{system}/{id}/complete-initialization", "POST", "complete_init"),
    ("/_sim/replicas/{system}/{id}/jobs", "PUT", "jobs"),
    ("/_sim/replicas/{system}/{id}/fields", "PUT", "put_fields"),
    ("/_sim/replicas/{system}/{id}/fields", "DELETE", "clear_fields"),
    ("/_sim/volumes/{system}/{id}/write", "POST", "write"),
    ("/_sim/volumes/{system}/{id}/mapped", "PUT", "mapped"),
    ("/_sim/filesystems/{system}/{id}/write", "POST", "write"),
    ("/_sim/sessions", "DELETE", "expire_sessions"),
    ("/_sim/reset", "POST", "reset"),
    ("/_sim/systems", "GET", "systems"),
]


def _endpoint(handlers: dict[str, Endpoint]) -> Callable[[Request], Awaitable[Response]]:
    """One path's methods; API-style errors, 405 for a method the path does not serve."""

    async def endpoint(request: Request) -> Response:
        handler = handlers.get(request.method)
        try:
            if handler is None:
                raise ApiError(405, "METHOD_NOT_ALLOWED", f"{request.method} is not allowed here")
            result = await handler(request)
        except ApiError as error:
            return _json(error.status, error.body())
        return result if isinstance(result, Response) else _json(200, result)

    return endpoint


def create_admin_app(sim: Simulator, systems_info: Callable[[], list[dict[str, Any]]]) -> Router:
    """The admin router for ``sim``; ``systems_info`` gives the ready-line system list."""
    admin = _Admin(sim, systems_info)
    by_path: dict[str, dict[str, Endpoint]] = {}
    for path, method, name in ROUTES:
        by_path.setdefault(path, {})[method] = getattr(admin, name)
    router = Router(
        routes=[
            Route(path, _endpoint(handlers), methods=["GET", "PUT", "POST", "DELETE"])
            for path, handlers in by_path.items()
        ]
    )

    async def fallback(scope: Any, receive: Any, send: Any) -> None:
        response = _json(404, error_body("ROUTE_NOT_FOUND", f"no admin route {scope.get('path')}"))
        await response(scope, receive, send)

    router.default = fallback
    return router
