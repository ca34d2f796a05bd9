"""The InfiniBox REST API (``/api/rest/...``) as a plain dispatcher, independent of HTTP.

:meth:`RestApi.handle` takes a parsed request for one system and returns the status and
envelope to answer. Keeping HTTP out makes the remote proxy (``/remote/<link>/api/rest/...``)
a direct call to the peer system, and lets tests exercise the API without sockets.
Writes are routed by the table in :mod:`ibox_sim.routes`; reads and the session calls are here.
"""

from __future__ import annotations

import re
from typing import Any

from ibox_sim import replicas, store
from ibox_sim.auth import COOKIE_NAME, parse_basic
from ibox_sim.context import require_dict
from ibox_sim.envelope import ApiRequest, Reply, ok
from ibox_sim.errors import ApiError, unknown_parameter
from ibox_sim.fields import field_names
from ibox_sim.listing import COLLECTIONS, list_page, page, rendered
from ibox_sim.query import parse_fields, parse_list_query, project
from ibox_sim.render import render_system
from ibox_sim.routes import Call, Handler, LatencyClass, Route, as_reply, compile_table, needs_remote_auth
from ibox_sim.simulator import Simulator

__all__ = ["API_PREFIX", "FEATURES", "ApiRequest", "Reply", "RestApi", "ok"]

API_PREFIX = "/api/rest"
REMOTE_AUTH_HEADER = "x-remote-authorization"

#: What ``GET _features`` advertises: auth sessions (cookie login), replication of every kind simulated.
FEATURES: list[dict[str, Any]] = [
    {"name": name, "version": version, "enabled": True}
    for name, version in (
        ("api_auth_sessions", 0),
        ("async_replication", 2),
        ("sync_replication", 0),
        ("cons_groups", 1),
        ("filesystem_replicas", 1),
        ("replica_auto_create", 0),
        ("snapshots", 1),
        ("pools", 0),
        ("nas", 2),
        ("san", 0),
        ("network_configuration", 2),
        ("local_users_auth", 1),
        ("user_management", 1),
        ("metadata", 2),
    )
]

_ANONYMOUS = {("GET", "/_features"), ("POST", "/users/login")}


class RestApi:
    """Routes ``/api/rest`` requests of every system to the model."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        coll = "|".join(re.escape(name) for name in COLLECTIONS)
        reads: list[tuple[str, str, Handler, bool, LatencyClass]] = [
            ("GET", r"/_features", self._features, False, "reads"),
            ("POST", r"/users/login", self._login, False, "reads"),
            ("POST", r"/users/logout", self._logout, False, "reads"),
            ("GET", r"/users/current", lambda c: _user(self.sim.auth.username), False, "reads"),
            ("GET", r"/system", _system, False, "reads"),
            ("GET", r"/system/(?P<field>[a-z_]+)", _system_field, False, "reads"),
            ("GET", rf"/(?P<coll>{coll})", self._list, False, "reads"),
            ("GET", rf"/(?P<coll>{coll})/(?P<id>\d+)", self._get, False, "reads"),
            ("GET", r"/cgs/(?P<id>\d+)/members", self._members, False, "reads"),
        ]
        self._routes = compile_table(reads)
        self._remote = re.compile(r"/remote/(?P<link>\d+)(?P<rest>/api/rest/.*)")

    # -- entry point

    def route(self, method: str, path: str) -> tuple[Route, re.Match[str]] | None:
        """The route serving ``method path`` (below ``/api/rest``) and its match."""
        for route in self._routes:
            if route.method == method:
                match = route.pattern.fullmatch(path)
                if match is not None:
                    return route, match
        return None

    def latency_class(self, method: str, path: str) -> LatencyClass:
        """Which latency class of the profile applies (a remote-proxied call: that of the inner call)."""
        remote = self._remote.fullmatch(path)
        if remote is not None:
            path = remote.group("rest")[len(API_PREFIX) :]
        found = self.route(method, path)
        return found[0].latency if found is not None else "reads"

    def handle(self, system: str, request: ApiRequest, *, authenticated: bool = False) -> Reply:
        """Answer one API request to ``system`` (call with :attr:`Simulator.lock` held)."""
        try:
            if not authenticated and (request.method, request.path.rstrip("/")) not in _ANONYMOUS:
                self.sim.auth.authenticate(
                    system, request.headers.get("authorization"), request.cookies.get(COOKIE_NAME)
                )
            remote = self._remote.fullmatch(request.path)
            if remote is not None:
                return self._proxy(system, request, remote)
            if request.method == "DELETE" and (request.param("approved") or "").lower() == "false":
                raise ApiError(403, "APPROVAL_REQUIRED", "this operation needs approval (approved=true)")
            self._check_remote_auth(request)
            found = self.route(request.method, request.path)
            if found is None:
                raise ApiError(
                    404, "ROUTE_NOT_FOUND", f"no route for {request.method} {API_PREFIX}{request.path}"
                )
            route, match = found
            reply = as_reply(route.handler(Call(self.sim.ctx(system), request, match)), route.mutates)
            if reply.mutated:
                self.sim.changed()
            return reply
        except ApiError as error:
            return Reply(error.status, error.body())

    def _check_remote_auth(self, request: ApiRequest) -> None:
        """In ``require_remote_auth`` mode, guarded calls need the peer's credentials (403 otherwise).

        infinisdk 289 answers such a 403 by setting ``X-Remote-Authorization`` (``core/api/api.py``):
        ``Basic <b64 user:pass>`` before 8.4, ``Basic <peer>=<b64>;<peer>=<b64>`` with
        multi-target replication (8.4+). Both forms are accepted; one valid pair suffices.
        """
        if not self.sim.world.config.require_remote_auth:
            return
        if not needs_remote_auth(request.method, request.path):
            return
        header = request.headers.get(REMOTE_AUTH_HEADER)
        if header is None or not self.sim.auth.remote_credentials_valid(header):
            raise ApiError(
                403,
                "REMOTE_PERMISSION_REQUIRED",
                "this operation needs the remote system's credentials (X-Remote-Authorization)",
            )

    def _proxy(self, system: str, request: ApiRequest, match: re.Match[str]) -> Reply:
        """``/remote/<link id>/api/rest/...``: run the request on the peer across the link."""
        local = self.sim.system(system)
        link = store.get_link(local, int(match.group("link")))
        if not replicas.link_is_up(self.sim.world, local, link) or link.remote_system is None:
            raise ApiError(409, "LINK_DISCONNECTED", f"link {link.name!r} is not connected")
        inner = ApiRequest(
            method=request.method,
            path=match.group("rest")[len(API_PREFIX) :],
            params=request.params,
            body=request.body,
            headers={k: v for k, v in request.headers.items() if k == REMOTE_AUTH_HEADER},
        )
        reply = self.handle(link.remote_system, inner, authenticated=True)
        if reply.status >= 400 and reply.body is not None and isinstance(reply.body.get("error"), dict):
            reply.body["error"]["is_remote"] = True
        return reply

    # -- session

    def _features(self, call: Call) -> list[dict[str, Any]]:
        disabled = set(self.sim.world.config.disabled_features)
        return [{**feature, "enabled": feature["name"] not in disabled} for feature in FEATURES]

    def _login(self, call: Call) -> Reply:
        request = call.request
        body = require_dict(request.body)
        username, password = body.get("username"), body.get("password")
        if username is None and request.headers.get("authorization"):
            username, password = parse_basic(request.headers["authorization"].partition(" ")[2])
        session = self.sim.auth.login(call.ctx.system.name, username, password)
        reply = ok(_user(session.username))
        reply.set_cookies[COOKIE_NAME] = session.token
        return reply

    def _logout(self, call: Call) -> Reply:
        self.sim.auth.logout(call.request.cookies.get(COOKIE_NAME))
        reply = ok(None)
        reply.set_cookies[COOKIE_NAME] = None
        return reply

    # -- reads

    def _list(self, call: Call) -> Reply:
        return Reply(
            200, None, raw=list_page(self.sim.cache, call.ctx, call.match.group("coll"), call.request.params)
        )

    def _get(self, call: Call) -> Reply:
        collection = COLLECTIONS[call.match.group("coll")]
        fields = _single_fields(call.request, collection.fields)
        entry = rendered(self.sim.cache, call.ctx, collection, collection.find(call.ctx.system, call.id))
        if fields is not None:
            return ok(project(entry.data, fields))
        return Reply(200, None, raw=b'{"result":' + entry.text + b',"error":null,"metadata":{"ready":true}}')

    def _members(self, call: Call) -> Reply:
        system = call.ctx.system
        cg = store.get_cg(system, call.id)
        members = [m for m in (system.dataset(i) for i in cg.member_ids) if m is not None]
        query = parse_list_query(call.request.params, field_names("datasets"))
        return Reply(200, None, raw=page(self.sim.cache, call.ctx, members, COLLECTIONS["datasets"], query))


def _system(call: Call) -> Any:
    fields = _single_fields(call.request, "system")
    return project(render_system(call.ctx.system, call.ctx.now), fields)


def _system_field(call: Call) -> Any:
    name = call.match.group("field")
    data = render_system(call.ctx.system, call.ctx.now)
    if name not in data:
        raise ApiError(404, "ROUTE_NOT_FOUND", f"no system field {name!r}")
    return data[name]


def _single_fields(request: ApiRequest, collection: str) -> list[str] | None:
    """``GET <coll>/<id>`` takes ``fields`` (and a harmless ``approved``) only."""
    for key, _ in request.params:
        if key not in ("fields", "approved"):
            raise unknown_parameter(key)
    return parse_fields(request.param("fields"), field_names(collection))


def _user(username: str) -> dict[str, Any]:
    return {
        "id": -2,
        "name": username,
        "type": "Local",
        "role": "ADMIN",
        "roles": ["ADMIN"],
        "user_objects": [
            {
                "type": "Local",
                "id": -2,
                "role": "ADMIN",
                "name": username,
                "email": None,
                "password_digest_version": 1,
                "enabled": True,
                "is_digest_sufficient": True,
                "roles": ["ADMIN"],
            }
        ],
    }
