"""The InfiniBox REST API (``/api/rest/...``) as a plain dispatcher, independent of HTTP.

:meth:`RestApi.handle` takes a parsed request for one system and returns the status and
envelope to answer. Keeping HTTP out makes the remote proxy (``/remote/<link>/api/rest/...``)
a direct call to the peer system, and lets tests exercise the API without sockets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ibox_sim import objects, replicas, store
from ibox_sim.auth import COOKIE_NAME, parse_basic
from ibox_sim.cache import STATIC, Rendered, Timed, dumps
from ibox_sim.context import Ctx, require_dict
from ibox_sim.errors import ApiError, not_found, unknown_parameter
from ibox_sim.model import DatasetKind, System
from ibox_sim.query import ListQuery, list_metadata, parse_fields, parse_list_query, project, select
from ibox_sim.render import (
    field_names,
    render_cg,
    render_dataset,
    render_link,
    render_network_space,
    render_pool,
    render_replica,
    render_system,
)
from ibox_sim.simulator import Simulator
from ibox_sim.state import evaluate

API_PREFIX = "/api/rest"

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
    )
]


@dataclass
class ApiRequest:
    method: str
    #: Path below ``/api/rest``, e.g. ``/replicas/1000005``.
    path: str
    params: list[tuple[str, str]] = field(default_factory=list)
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    cookies: Mapping[str, str] = field(default_factory=dict)

    def param(self, name: str) -> str | None:
        for key, value in self.params:
            if key == name:
                return value
        return None

    @property
    def param_map(self) -> dict[str, str]:
        return dict(self.params)


@dataclass
class Reply:
    """Status and envelope; large reads carry the envelope pre-encoded in ``raw`` instead of ``body``."""

    status: int
    body: dict[str, Any] | None
    raw: bytes | None = None
    set_cookies: dict[str, str | None] = field(default_factory=dict)
    #: True when the call changed the model (the state file must be saved).
    mutated: bool = False

    def encoded(self) -> bytes:
        return self.raw if self.raw is not None else dumps(self.body).encode()

    def json(self) -> Any:
        """The envelope as Python objects (for tests driving the API without HTTP)."""
        return json.loads(self.raw) if self.raw is not None else self.body


Handler = Callable[[Ctx, ApiRequest, "re.Match[str]"], Reply]

_ANONYMOUS = {("GET", "/_features"), ("POST", "/users/login")}


def ok(result: Any, *, mutated: bool = False) -> Reply:
    return Reply(200, {"result": result, "error": None, "metadata": {"ready": True}}, mutated=mutated)


def _id(match: re.Match[str], group: str = "id") -> int:
    return int(match.group(group))


@dataclass(frozen=True)
class _Collection:
    """How to list, find and show one kind of object."""

    fields: str  # key for render.field_names
    key: str  # objects listed in several collections (volumes, datasets) share rendered entries
    items: Callable[[System], Iterable[Any]]
    render: Callable[[Ctx, Any, Any], dict[str, Any]]
    find: Callable[[System, int], Any]
    #: The time-driven part of an object and until when it holds (STATIC: only model changes alter it).
    view: Callable[[Ctx, Any], Timed] = lambda ctx, obj: STATIC
    #: Fields whose rendered value is a plain model attribute: equality filters on them pick the
    #: objects before rendering, so a look-up by name stays cheap right after a change.
    keys: Mapping[str, Callable[[Any], Any]] = field(default_factory=lambda: {"id": _attr("id")})

    def candidates(self, system: System, query: ListQuery) -> list[Any]:
        objs = list(self.items(system))
        for condition in query.filters:
            key = self.keys.get(condition.field)
            if key is not None and condition.op == "eq":
                objs = [obj for obj in objs if condition.matches(key(obj))]
        return objs


def _attr(name: str) -> Callable[[Any], Any]:
    return lambda obj: getattr(obj, name)


def _replica_entity(replica: Any) -> Any:
    if replica.entity_type == "CONSISTENCY_GROUP":
        return replica.local_cg_id
    return replica.pairs[0].local_entity_id if replica.pairs else None


_BY_NAME: Mapping[str, Callable[[Any], Any]] = {"id": _attr("id"), "name": _attr("name")}


def _datasets_of(kind: DatasetKind) -> Callable[[System], Iterable[Any]]:
    return lambda system: system.datasets(kind).values()


def _any_dataset(system: System, ident: int) -> Any:
    dataset = system.dataset(ident)
    if dataset is None:
        raise not_found("volume", ident)
    return dataset


def _all_datasets(system: System) -> list[Any]:
    return sorted((*system.volumes.values(), *system.filesystems.values()), key=lambda d: d.id)


def _render_dataset(ctx: Ctx, obj: Any, view: Any) -> dict[str, Any]:
    return render_dataset(ctx.world, ctx.system, obj)


def _replica_view(ctx: Ctx, replica: Any) -> Timed:
    view = evaluate(ctx.world.sessions[replica.session_id], ctx.now, ctx.cfg)
    return view, view.stable_until


COLLECTIONS: dict[str, _Collection] = {
    "pools": _Collection(
        "pools",
        "pool",
        lambda s: s.pools.values(),
        lambda c, o, v: render_pool(c.system, o),
        store.get_pool,
        keys=_BY_NAME,
    ),
    "volumes": _Collection(
        "volumes",
        "dataset",
        _datasets_of("VOLUME"),
        _render_dataset,
        lambda s, i: store.get_dataset(s, "VOLUME", i),
        keys=_BY_NAME,
    ),
    "filesystems": _Collection(
        "filesystems",
        "dataset",
        _datasets_of("FILESYSTEM"),
        _render_dataset,
        lambda s, i: store.get_dataset(s, "FILESYSTEM", i),
        keys=_BY_NAME,
    ),
    "datasets": _Collection(
        "datasets", "dataset", _all_datasets, _render_dataset, _any_dataset, keys=_BY_NAME
    ),
    "cgs": _Collection(
        "cgs",
        "cg",
        lambda s: s.cgs.values(),
        lambda c, o, v: render_cg(c.world, c.system, o),
        store.get_cg,
        keys=_BY_NAME,
    ),
    "network/spaces": _Collection(
        "network_spaces",
        "space",
        lambda s: s.network_spaces.values(),
        lambda c, o, v: render_network_space(o),
        store.get_space,
    ),
    "links": _Collection(
        "links",
        "link",
        lambda s: s.links.values(),
        lambda c, o, v: render_link(c.world, c.system, o),
        store.get_link,
        keys=_BY_NAME,
    ),
    "replicas": _Collection(
        "replicas",
        "replica",
        lambda s: s.replicas.values(),
        lambda c, o, v: render_replica(c.world, c.system, o, c.now, v),
        replicas.get_replica,
        _replica_view,
        keys={"id": _attr("id"), "link_id": _attr("link_id"), "local_entity_id": _replica_entity},
    ),
}


class RestApi:
    """Routes ``/api/rest`` requests of every system to the model."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        coll = "|".join(re.escape(name) for name in COLLECTIONS)
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = [
            (method, re.compile(pattern + r"/?"), handler)
            for method, pattern, handler in (
                ("GET", r"/_features", self._features),
                ("POST", r"/users/login", self._login),
                ("POST", r"/users/logout", self._logout),
                ("GET", r"/users/current", self._current_user),
                ("GET", r"/system", self._system),
                ("GET", r"/system/(?P<field>[a-z_]+)", self._system_field),
                ("GET", rf"/(?P<coll>{coll})", self._list),
                ("GET", rf"/(?P<coll>{coll})/(?P<id>\d+)", self._get),
                ("GET", r"/cgs/(?P<id>\d+)/members", self._members),
                ("POST", r"/pools", self._create_pool),
                ("PUT", r"/pools/(?P<id>\d+)", self._update_pool),
                ("DELETE", r"/pools/(?P<id>\d+)", self._delete_pool),
                ("POST", r"/(?P<kind>volumes|filesystems)", self._create_dataset),
                ("PUT", r"/(?P<kind>volumes|filesystems)/(?P<id>\d+)", self._update_dataset),
                ("DELETE", r"/(?P<kind>volumes|filesystems)/(?P<id>\d+)", self._delete_dataset),
                ("POST", r"/cgs", self._create_cg),
                ("PUT", r"/cgs/(?P<id>\d+)", self._update_cg),
                ("DELETE", r"/cgs/(?P<id>\d+)", self._delete_cg),
                ("POST", r"/cgs/(?P<id>\d+)/members", self._add_member),
                ("DELETE", r"/cgs/(?P<id>\d+)/members/(?P<member>\d+)", self._remove_member),
                ("POST", r"/network/spaces", self._create_space),
                ("PUT", r"/network/spaces/(?P<id>\d+)", self._update_space),
                ("DELETE", r"/network/spaces/(?P<id>\d+)", self._delete_space),
                ("POST", r"/network/spaces/(?P<id>\d+)/ips", self._add_ip),
                ("DELETE", r"/network/spaces/(?P<id>\d+)/ips/(?P<ip>[^/]+)", self._remove_ip),
                (
                    "POST",
                    r"/network/spaces/(?P<id>\d+)/ips/(?P<ip>[^/]+)/(?P<action>enable|disable)",
                    self._toggle_ip,
                ),
                ("POST", r"/links", self._create_link),
                ("PUT", r"/links/(?P<id>\d+)", self._update_link),
                ("DELETE", r"/links/(?P<id>\d+)", self._delete_link),
                ("POST", r"/links/(?P<id>\d+)/(?P<action>refresh|set_witness_address)", self._link_action),
                ("POST", r"/replicas", self._create_replica),
                ("PUT", r"/replicas/(?P<id>\d+)", self._update_replica),
                ("DELETE", r"/replicas/(?P<id>\d+)", self._delete_replica),
                ("POST", r"/replicas/(?P<id>\d+)/(?P<action>[a-z_]+)", self._replica_action),
            )
        ]
        self._remote = re.compile(r"/remote/(?P<link>\d+)(?P<rest>/api/rest/.*)")

    # -- entry point

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
            ctx = self.sim.ctx(system)
            for method, pattern, handler in self._routes:
                if method != request.method:
                    continue
                match = pattern.fullmatch(request.path)
                if match is not None:
                    reply = handler(ctx, request, match)
                    if reply.mutated:
                        self.sim.changed()
                    return reply
            raise ApiError(
                404, "ROUTE_NOT_FOUND", f"no route for {request.method} {API_PREFIX}{request.path}"
            )
        except ApiError as error:
            return Reply(error.status, error.body())

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
        )
        reply = self.handle(link.remote_system, inner, authenticated=True)
        if reply.status >= 400 and reply.body is not None and isinstance(reply.body.get("error"), dict):
            reply.body["error"]["is_remote"] = True
        return reply

    # -- session

    def _features(self, ctx: Ctx, request: ApiRequest, match: re.Match[str]) -> Reply:
        return Reply(200, {"result": [dict(f) for f in FEATURES], "error": None, "metadata": {"ready": True}})

    def _login(self, ctx: Ctx, request: ApiRequest, match: re.Match[str]) -> Reply:
        body = require_dict(request.body)
        username, password = body.get("username"), body.get("password")
        if username is None and request.headers.get("authorization"):
            username, password = parse_basic(request.headers["authorization"].partition(" ")[2])
        session = self.sim.auth.login(ctx.system.name, username, password)
        reply = ok(_user(session.username))
        reply.set_cookies[COOKIE_NAME] = session.token
        return reply

    def _logout(self, ctx: Ctx, request: ApiRequest, match: re.Match[str]) -> Reply:
        self.sim.auth.logout(request.cookies.get(COOKIE_NAME))
        reply = ok(None)
        reply.set_cookies[COOKIE_NAME] = None
        return reply

    def _current_user(self, ctx: Ctx, request: ApiRequest, match: re.Match[str]) -> Reply:
        return ok(_user(self.sim.auth.username))

    # -- reads

    def _system(self, ctx: Ctx, request: ApiRequest, match: re.Match[str]) -> Reply:
        fields = _single_fields(request, "system")
        return ok(project(render_system(ctx.system, ctx.now), fields))

    def _system_field(self, ctx: Ctx, request: ApiRequest, match: re.Match[str]) -> Reply:
        name = match.group("field")
        data = render_system(ctx.system, ctx.now)
        if name not in data:
            raise ApiError(404, "ROUTE_NOT_FOUND", f"no system field {name!r}")
        return ok(data[name])

    def _list(self, ctx: Ctx, request: ApiRequest, match: re.Match[str]) -> Reply:
        collection = COLLECTIONS[match.group("coll")]
        query = parse_list_query(request.params, field_names(collection.fields))
        return self._page(ctx, collection.candidates(ctx.system, query), collection, query)

    def _get(self, ctx: Ctx, request: ApiRequest, match: re.Match[str]) -> Reply:
        collection = COLLECTIONS[match.group("coll")]
        fields = _single_fields(request, collection.fields)
        entry = self._rendered(ctx, collection, collection.find(ctx.system, _id(match)))
        if fields is not None:
            return ok(project(entry.data, fields))
        return Reply(200, None, raw=b'{"result":' + entry.text + b',"error":null,"metadata":{"ready":true}}')

    def _members(self, ctx: Ctx, request: ApiRequest, match: re.Match[str]) -> Reply:
        cg = store.get_cg(ctx.system, _id(match))
        members = [m for m in (ctx.system.dataset(i) for i in cg.member_ids) if m is not None]
        query = parse_list_query(request.params, field_names("datasets"))
        return self._page(ctx, members, COLLECTIONS["datasets"], query)

    def _rendered(self, ctx: Ctx, collection: _Collection, obj: Any) -> Rendered:
        key = (ctx.system.name, collection.key, obj.id)
        cache = self.sim.cache
        entry = cache.fresh(key, ctx.now)
        if entry is not None:
            return entry
        return cache.get(
            key, ctx.now, lambda: collection.view(ctx, obj), lambda view: collection.render(ctx, obj, view)
        )

    def _page(self, ctx: Ctx, objs: list[Any], collection: _Collection, query: ListQuery) -> Reply:
        """One page of a collection, assembled from cached JSON unless ``fields`` projects it."""
        page, total = select(objs, lambda obj: self._rendered(ctx, collection, obj), _data, query)
        metadata = dumps(list_metadata(query, total)).encode()
        if query.fields is not None:
            items = [dumps([project(entry.data, query.fields) for entry in page]).encode()]
        else:
            items = [b"[", b",".join([entry.text for entry in page]), b"]"]
        return Reply(
            200, None, raw=b"".join([b'{"result":', *items, b',"error":null,"metadata":', metadata, b"}"])
        )

    # -- pools, datasets, CGs

    def _create_pool(self, ctx: Ctx, request: ApiRequest, match: re.Match[str]) -> Reply:
        pool = objects.create_pool(ctx, request.body)
        return ok(render_pool(ctx.system, pool), mutated=True)

    def _update_pool(self, ctx: Ctx, request: ApiRequest, match: re.Match[str]) -> Reply:
        pool = objects.update_pool(ctx, _id(match), request.body)
        return ok(render_pool(ctx.system, pool), mutated=True)

    def _delete_pool(self, ctx: Ctx, request: ApiRequest, match: re.Match[str]) -> Reply:
        pool = store.get_pool(ctx.system, _id(match))
        rendered = render_pool(ctx.system, pool)
        objects.delete_pool(ctx, pool.id)
        return ok(rendered, mutated=True)

    def _create_dataset(self, ctx: Ctx, request: ApiRequest, match: re.Match[str]) -> Reply:
        dataset = objects.create_dataset(ctx, _kind(match), request.body)
        return ok(render_dataset(ctx.world, ctx.system, dataset), mutated=True)

    def _update_dataset(self, ctx: Ctx, request: ApiRequest, match: re.Match[str]) -> Reply:
        dataset = objects.update_dataset(ctx, _kind(match), _id(match), request.body)
        return ok(render_dataset(ctx.world, ctx.system, dataset), mutated=True)

    def _delete_dataset(self, ctx: Ctx, request: ApiRequest, match: re.Match[str]) -> Reply:
        dataset = store.get_dataset(ctx.system, _kind(match), _id(match))
        rendered = render_dataset(ctx.world, ctx.system, dataset)
        objects.delete_dataset(ctx, _kind(match), dataset.id)
        return ok(rendered, mutated=True)

    def _create_cg(self, ctx: Ctx, request: ApiRequest, match: re.Match[str]) -> Reply:
        cg = objects.create_cg(ctx, request.body)
        return ok(render_cg(ctx.world, ctx.system, cg), mutated=True)

    def _update_cg(self, ctx: Ctx, request: ApiRequest, match: re.Match[str]) -> Reply:
        cg = objects.update_cg(ctx, _id(match), request.body)
        return ok(render_cg(ctx.world, ctx.system, cg), mutated=True)

    def _delete_cg(self, ctx: Ctx, request: ApiRequest, match: re.Match[str]) -> Reply:
        cg = store.get_cg(ctx.system, _id(match))
        rendered = render_cg(ctx.world, ctx.system, cg)
        objects.delete_cg(ctx, cg.id, request.param_map)
        return ok(rendered, mutated=True)

    def _add_member(self, ctx: Ctx, request: ApiRequest, match: re.Match[str]) -> Reply:
        cg = objects.add_member(ctx, _id(match), request.body)
        return ok(render_cg(ctx.world, ctx.system, cg), mutated=True)

    def _remove_member(self, ctx: Ctx, request: ApiRequest, match: re.Match[str]) -> Reply:
        dataset = objects.remove_member(ctx, _id(match), int(match.group("member")), request.param_map)
        return ok(render_dataset(ctx.world, ctx.system, dataset), mutated=True)

    # -- network spaces and links

    def _create_space(self, ctx: Ctx, request: ApiRequest, match: re.Match[str]) -> Reply:
        return ok(render_network_space(objects.create_network_space(ctx, request.body)), mutated=True)

    def _update_space(self, ctx: Ctx, request: ApiRequest, match: re.Match[str]) -> Reply:
        return ok(
            render_network_space(objects.update_network_space(ctx, _id(match), request.body)), mutated=True
        )

    def _delete_space(self, ctx: Ctx, request: ApiRequest, match: re.Match[str]) -> Reply:
        return ok(render_network_space(objects.delete_network_space(ctx, _id(match))), mutated=True)

    def _add_ip(self, ctx: Ctx, request: ApiRequest, match: re.Match[str]) -> Reply:
        return ok(render_network_space(objects.add_ip(ctx, _id(match), request.body)), mutated=True)

    def _remove_ip(self, ctx: Ctx, request: ApiRequest, match: re.Match[str]) -> Reply:
        space = objects.change_ip(ctx, _id(match), match.group("ip"), None)
        return ok(render_network_space(space), mutated=True)

    def _toggle_ip(self, ctx: Ctx, request: ApiRequest, match: re.Match[str]) -> Reply:
        space = objects.change_ip(ctx, _id(match), match.group("ip"), match.group("action"))
        return ok(render_network_space(space), mutated=True)

    def _create_link(self, ctx: Ctx, request: ApiRequest, match: re.Match[str]) -> Reply:
        return ok(render_link(ctx.world, ctx.system, objects.create_link(ctx, request.body)), mutated=True)

    def _update_link(self, ctx: Ctx, request: ApiRequest, match: re.Match[str]) -> Reply:
        link = objects.update_link(ctx, _id(match), request.body)
        return ok(render_link(ctx.world, ctx.system, link), mutated=True)

    def _delete_link(self, ctx: Ctx, request: ApiRequest, match: re.Match[str]) -> Reply:
        link = store.get_link(ctx.system, _id(match))
        rendered = render_link(ctx.world, ctx.system, link)
        objects.delete_link(ctx, link.id, request.param_map)
        return ok(rendered, mutated=True)

    def _link_action(self, ctx: Ctx, request: ApiRequest, match: re.Match[str]) -> Reply:
        link = store.get_link(ctx.system, _id(match))
        if match.group("action") == "refresh":
            data = require_dict(request.body)
            if data.get("remote_host"):
                objects.update_link(ctx, link.id, {"remote_host": data["remote_host"]})
        return ok(render_link(ctx.world, ctx.system, link), mutated=True)

    # -- replicas

    def _create_replica(self, ctx: Ctx, request: ApiRequest, match: re.Match[str]) -> Reply:
        replica = replicas.create(ctx, request.body)
        return ok(replicas.render(ctx, replica), mutated=True)

    def _update_replica(self, ctx: Ctx, request: ApiRequest, match: re.Match[str]) -> Reply:
        replica = replicas.update(ctx, replicas.get_replica(ctx.system, _id(match)), request.body)
        return ok(replicas.render(ctx, replica), mutated=True)

    def _delete_replica(self, ctx: Ctx, request: ApiRequest, match: re.Match[str]) -> Reply:
        replica = replicas.get_replica(ctx.system, _id(match))
        return ok(replicas.delete(ctx, replica, request.param_map), mutated=True)

    def _replica_action(self, ctx: Ctx, request: ApiRequest, match: re.Match[str]) -> Reply:
        replica = replicas.get_replica(ctx.system, _id(match))
        action = match.group("action")
        if action == "suspend":
            replicas.suspend(ctx, replica)
        elif action == "resume":
            replicas.resume(ctx, replica)
        elif action == "sync":
            replicas.sync(ctx, replica)
        elif action == "change_type_to_sync":
            replicas.change_type(ctx, replica, "SYNC", request.body)
        elif action == "change_type_to_async":
            replicas.change_type(ctx, replica, "ASYNC", request.body)
        elif action == "switch_role":
            replicas.switch_role(ctx, replica)
        elif action == "change_role":
            replicas.change_role(ctx, replica, request.body)
        elif action == "expose_last_consistent_snapshot":
            return ok(replicas.expose_last_consistent_snapshot(ctx, replica), mutated=True)
        else:
            raise ApiError(404, "ROUTE_NOT_FOUND", f"no replica action {action!r}")
        return ok(replicas.render(ctx, replica), mutated=True)


def _kind(match: re.Match[str]) -> DatasetKind:
    return "VOLUME" if match.group("kind") == "volumes" else "FILESYSTEM"


def _single_fields(request: ApiRequest, collection: str) -> list[str] | None:
    """``GET <coll>/<id>`` takes ``fields`` (and a harmless ``approved``) only."""
    for key, _ in request.params:
        if key not in ("fields", "approved"):
            raise unknown_parameter(key)
    return parse_fields(request.param("fields"), field_names(collection))


def _data(entry: Rendered) -> dict[str, Any]:
    return entry.data


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
