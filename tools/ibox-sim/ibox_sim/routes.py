"""The REST routes as one declarative table: (method, path, handler, options).

A handler takes the :class:`Call` (context, request, path match) and returns the result to
wrap in the envelope, or a finished :class:`~ibox_sim.envelope.Reply`. Options say whether
the call changes the model (``mutates``: the state file is saved), which latency class it
belongs to (``reads``, ``creates``, ``actions``, ``deletes``), and whether a real array
asks for the peer's credentials (:func:`needs_remote_auth`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ibox_sim import cgs, exports, metadata, network, objects, replicas, store
from ibox_sim.context import Ctx, require_dict
from ibox_sim.envelope import ApiRequest, Reply, ok
from ibox_sim.errors import ApiError
from ibox_sim.exports import render_export
from ibox_sim.model import DatasetKind
from ibox_sim.render import render_cg, render_dataset, render_link, render_network_space, render_pool
from ibox_sim.replicas.common import render as render_replica
from ibox_sim.state import ReplicationType

LatencyClass = Literal["reads", "creates", "actions", "deletes"]


@dataclass(frozen=True, slots=True)
class Call:
    """One routed request: the operation context, the request and the path's groups."""

    ctx: Ctx
    request: ApiRequest
    match: re.Match[str]

    @property
    def id(self) -> int:
        return int(self.match.group("id"))

    @property
    def kind(self) -> DatasetKind:
        return "VOLUME" if self.match.group("kind") == "volumes" else "FILESYSTEM"

    @property
    def body(self) -> Any:
        return self.request.body

    @property
    def params(self) -> dict[str, str]:
        return self.request.param_map


Handler = Callable[[Call], Any]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    mutates: bool
    latency: LatencyClass


def _rendered_before(
    find: Callable[[Call], Any], render: Callable[[Call, Any], Any], act: Handler
) -> Handler:
    """Deletes answer the object as it was: render first, then act."""

    def handler(call: Call) -> Any:
        shown = render(call, find(call))
        act(call)
        return shown

    return handler


def _pool(call: Call, pool: Any) -> Any:
    return render_pool(call.ctx.system, pool)


def _dataset(call: Call, dataset: Any) -> Any:
    return render_dataset(call.ctx.world, call.ctx.system, dataset)


def _cg(call: Call, cg: Any) -> Any:
    return render_cg(call.ctx.world, call.ctx.system, cg)


def _link(call: Call, link: Any) -> Any:
    return render_link(call.ctx.world, call.ctx.system, link)


def _link_action(call: Call) -> Any:
    link = store.get_link(call.ctx.system, call.id)
    if call.match.group("action") == "refresh":
        data = require_dict(call.body)
        if data.get("remote_host"):
            network.update_link(call.ctx, link.id, {"remote_host": data["remote_host"]})
    return _link(call, link)


def _replica_call(act: Callable[[Ctx, Any, Any], Any]) -> Handler:
    """A replica action: find the replica, act, answer it as it is afterwards."""

    def handler(call: Call) -> Any:
        replica = replicas.get_replica(call.ctx.system, call.id)
        act(call.ctx, replica, call.body)
        return render_replica(call.ctx, replica)

    return handler


def _change_type(new_type: ReplicationType) -> Callable[[Ctx, Any, Any], Any]:
    return lambda ctx, replica, body: replicas.change_type(ctx, replica, new_type, body)


_REPLICA_ACTIONS: dict[str, Handler] = {
    "suspend": _replica_call(lambda ctx, r, body: replicas.suspend(ctx, r)),
    "resume": _replica_call(lambda ctx, r, body: replicas.resume(ctx, r)),
    "sync": _replica_call(lambda ctx, r, body: replicas.sync(ctx, r)),
    "change_type_to_sync": _replica_call(_change_type("SYNC")),
    "change_type_to_async": _replica_call(_change_type("ASYNC")),
    "switch_role": _replica_call(lambda ctx, r, body: replicas.switch_role(ctx, r)),
    "change_role": _replica_call(replicas.change_role),
    "expose_last_consistent_snapshot": lambda call: replicas.expose_last_consistent_snapshot(
        call.ctx, replicas.get_replica(call.ctx.system, call.id)
    ),
}
#: Replica actions that touch the peer's roles: a real array guards them with remote credentials.
GUARDED_ACTIONS = frozenset({"switch_role", "change_role"})


def replica_action(call: Call) -> Any:
    action = call.match.group("action")
    handler = _REPLICA_ACTIONS.get(action)
    if handler is None:
        raise ApiError(404, "ROUTE_NOT_FOUND", f"no replica action {action!r}")
    return handler(call)


def _ip(call: Call) -> str:
    return call.match.group("ip")


def _key(call: Call) -> str:
    return call.match.group("key")


def _listed(items: list[Any]) -> Reply:
    """A list envelope of one page holding everything (an object has few metadata keys)."""
    meta = {"ready": True, "page": 1, "page_size": max(len(items), 1), "pages_total": 1}
    return Reply(200, {"result": items, "error": None, "metadata": {**meta, "number_of_objects": len(items)}})


_ID = r"(?P<id>\d+)"
_KEY = r"(?P<key>[^/]+)"
_DS = r"(?P<kind>volumes|filesystems)"
_SPACE = render_network_space
_M = True  # mutates

#: (method, path, handler, mutates, latency class); reads are served by the API itself.
TABLE: list[tuple[str, str, Handler, bool, LatencyClass]] = [
    ("POST", r"/pools", lambda c: _pool(c, objects.create_pool(c.ctx, c.body)), _M, "creates"),
    ("PUT", rf"/pools/{_ID}", lambda c: _pool(c, objects.update_pool(c.ctx, c.id, c.body)), _M, "actions"),
    (
        "DELETE",
        rf"/pools/{_ID}",
        _rendered_before(
            lambda c: store.get_pool(c.ctx.system, c.id), _pool, lambda c: objects.delete_pool(c.ctx, c.id)
        ),
        _M,
        "deletes",
    ),
    (
        "POST",
        rf"/{_DS}",
        lambda c: _dataset(c, objects.create_dataset(c.ctx, c.kind, c.body)),
        _M,
        "creates",
    ),
    (
        "PUT",
        rf"/{_DS}/{_ID}",
        lambda c: _dataset(c, objects.update_dataset(c.ctx, c.kind, c.id, c.body)),
        _M,
        "actions",
    ),
    (
        "DELETE",
        rf"/{_DS}/{_ID}",
        _rendered_before(
            lambda c: store.get_dataset(c.ctx.system, c.kind, c.id),
            _dataset,
            lambda c: objects.delete_dataset(c.ctx, c.kind, c.id),
        ),
        _M,
        "deletes",
    ),
    ("POST", r"/cgs", lambda c: _cg(c, cgs.create_cg(c.ctx, c.body)), _M, "creates"),
    ("PUT", rf"/cgs/{_ID}", lambda c: _cg(c, cgs.update_cg(c.ctx, c.id, c.body)), _M, "actions"),
    (
        "DELETE",
        rf"/cgs/{_ID}",
        _rendered_before(
            lambda c: store.get_cg(c.ctx.system, c.id),
            _cg,
            lambda c: cgs.delete_cg(c.ctx, c.id, c.params),
        ),
        _M,
        "deletes",
    ),
    (
        "POST",
        rf"/cgs/{_ID}/members",
        lambda c: _cg(c, cgs.add_member(c.ctx, c.id, c.body)),
        _M,
        "actions",
    ),
    (
        "DELETE",
        rf"/cgs/{_ID}/members/(?P<member>\d+)",
        lambda c: _dataset(c, cgs.remove_member(c.ctx, c.id, int(c.match.group("member")), c.params)),
        _M,
        "actions",
    ),
    (
        "POST",
        r"/network/spaces",
        lambda c: _SPACE(network.create_network_space(c.ctx, c.body)),
        _M,
        "creates",
    ),
    (
        "PUT",
        rf"/network/spaces/{_ID}",
        lambda c: _SPACE(network.update_network_space(c.ctx, c.id, c.body)),
        _M,
        "actions",
    ),
    (
        "DELETE",
        rf"/network/spaces/{_ID}",
        lambda c: _SPACE(network.delete_network_space(c.ctx, c.id)),
        _M,
        "deletes",
    ),
    (
        "POST",
        rf"/network/spaces/{_ID}/ips",
        lambda c: _SPACE(network.add_ip(c.ctx, c.id, c.body)),
        _M,
        "actions",
    ),
    (
        "DELETE",
        rf"/network/spaces/{_ID}/ips/(?P<ip>[^/]+)",
        lambda c: _SPACE(network.change_ip(c.ctx, c.id, _ip(c), None)),
        _M,
        "actions",
    ),
    (
        "POST",
        rf"/network/spaces/{_ID}/ips/(?P<ip>[^/]+)/(?P<action>enable|disable)",
        lambda c: _SPACE(network.change_ip(c.ctx, c.id, _ip(c), c.match.group("action"))),
        _M,
        "actions",
    ),
    ("POST", r"/exports", lambda c: render_export(exports.create_export(c.ctx, c.body)), _M, "creates"),
    (
        "DELETE",
        rf"/exports/{_ID}",
        lambda c: render_export(exports.delete_export(c.ctx, c.id)),
        _M,
        "deletes",
    ),
    ("POST", r"/links", lambda c: _link(c, network.create_link(c.ctx, c.body)), _M, "creates"),
    ("PUT", rf"/links/{_ID}", lambda c: _link(c, network.update_link(c.ctx, c.id, c.body)), _M, "actions"),
    (
        "DELETE",
        rf"/links/{_ID}",
        _rendered_before(
            lambda c: store.get_link(c.ctx.system, c.id),
            _link,
            lambda c: network.delete_link(c.ctx, c.id, c.params),
        ),
        _M,
        "deletes",
    ),
    ("POST", rf"/links/{_ID}/(?P<action>refresh|set_witness_address)", _link_action, _M, "actions"),
    ("POST", r"/replicas", lambda c: render_replica(c.ctx, replicas.create(c.ctx, c.body)), _M, "creates"),
    (
        "PUT",
        rf"/replicas/{_ID}",
        lambda c: render_replica(
            c.ctx, replicas.update(c.ctx, replicas.get_replica(c.ctx.system, c.id), c.body)
        ),
        _M,
        "actions",
    ),
    (
        "DELETE",
        rf"/replicas/{_ID}",
        lambda c: replicas.delete(c.ctx, replicas.get_replica(c.ctx.system, c.id), c.params),
        _M,
        "deletes",
    ),
    ("POST", rf"/replicas/{_ID}/(?P<action>[a-z_]+)", replica_action, _M, "actions"),
    ("GET", rf"/metadata/{_ID}", lambda c: _listed(metadata.listed(c.ctx, c.id)), False, "reads"),
    ("GET", rf"/metadata/{_ID}/{_KEY}", lambda c: metadata.get(c.ctx, c.id, _key(c)), False, "reads"),
    ("PUT", rf"/metadata/{_ID}", lambda c: metadata.put(c.ctx, c.id, c.body), _M, "actions"),
    ("DELETE", rf"/metadata/{_ID}", lambda c: metadata.delete(c.ctx, c.id, None), _M, "deletes"),
    ("DELETE", rf"/metadata/{_ID}/{_KEY}", lambda c: metadata.delete(c.ctx, c.id, _key(c)), _M, "deletes"),
]


def needs_remote_auth(method: str, path: str) -> bool:
    """Replica creates, deletes and role changes: they touch the peer [SDK core/api/api.py; assumed set]."""
    if method == "POST" and path.rstrip("/") == "/replicas":
        return True
    if method == "DELETE" and re.fullmatch(r"/replicas/\d+/?", path):
        return True
    action = re.fullmatch(r"/replicas/\d+/(?P<action>[a-z_]+)/?", path)
    return method == "POST" and action is not None and action.group("action") in GUARDED_ACTIONS


def compile_table(extra: list[tuple[str, str, Handler, bool, LatencyClass]]) -> list[Route]:
    """The routes to try, in order: ``extra`` (reads) first, then :data:`TABLE`."""
    return [
        Route(method, re.compile(path + r"/?"), handler, mutates, latency)
        for method, path, handler, mutates, latency in (*extra, *TABLE)
    ]


def as_reply(result: Any, mutated: bool) -> Reply:
    """A handler's result in the envelope (a finished Reply passes through)."""
    if isinstance(result, Reply):
        result.mutated = result.mutated or mutated
        return result
    return ok(result, mutated=mutated)
