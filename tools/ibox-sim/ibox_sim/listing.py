"""Collections: how each kind of object is listed, found and shown, and pages assembled from cached JSON."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ibox_sim import replicas, store
from ibox_sim.cache import STATIC, RenderCache, Rendered, Timed, dumps
from ibox_sim.context import Ctx
from ibox_sim.errors import not_found
from ibox_sim.exports import get_export, render_export
from ibox_sim.fields import field_names
from ibox_sim.model import DatasetKind, System
from ibox_sim.query import ListQuery, list_metadata, parse_list_query, project, select
from ibox_sim.render import (
    render_cg,
    render_dataset,
    render_link,
    render_network_space,
    render_pool,
)
from ibox_sim.state import evaluate


@dataclass(frozen=True)
class Collection:
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


COLLECTIONS: dict[str, Collection] = {
    "pools": Collection(
        "pools",
        "pool",
        lambda s: s.pools.values(),
        lambda c, o, v: render_pool(c.system, o),
        store.get_pool,
        keys=_BY_NAME,
    ),
    "volumes": Collection(
        "volumes",
        "dataset",
        _datasets_of("VOLUME"),
        _render_dataset,
        lambda s, i: store.get_dataset(s, "VOLUME", i),
        keys=_BY_NAME,
    ),
    "filesystems": Collection(
        "filesystems",
        "dataset",
        _datasets_of("FILESYSTEM"),
        _render_dataset,
        lambda s, i: store.get_dataset(s, "FILESYSTEM", i),
        keys=_BY_NAME,
    ),
    "datasets": Collection(
        "datasets", "dataset", _all_datasets, _render_dataset, _any_dataset, keys=_BY_NAME
    ),
    "cgs": Collection(
        "cgs",
        "cg",
        lambda s: s.cgs.values(),
        lambda c, o, v: render_cg(c.world, c.system, o),
        store.get_cg,
        keys=_BY_NAME,
    ),
    "network/spaces": Collection(
        "network_spaces",
        "space",
        lambda s: s.network_spaces.values(),
        lambda c, o, v: render_network_space(o),
        store.get_space,
    ),
    "exports": Collection(
        "exports",
        "export",
        lambda s: s.exports.values(),
        lambda c, o, v: render_export(o),
        get_export,
        keys={
            "id": _attr("id"),
            "filesystem_id": _attr("filesystem_id"),
            "export_path": _attr("export_path"),
        },
    ),
    "links": Collection(
        "links",
        "link",
        lambda s: s.links.values(),
        lambda c, o, v: render_link(c.world, c.system, o),
        store.get_link,
        keys=_BY_NAME,
    ),
    "replicas": Collection(
        "replicas",
        "replica",
        lambda s: s.replicas.values(),
        lambda c, o, v: replicas.render_replica(c.world, c.system, o, c.now, v),
        replicas.get_replica,
        _replica_view,
        keys={"id": _attr("id"), "link_id": _attr("link_id"), "local_entity_id": _replica_entity},
    ),
}


def rendered(cache: RenderCache, ctx: Ctx, collection: Collection, obj: Any) -> Rendered:
    """One object as JSON, from the cache while its view holds."""
    key = (ctx.system.name, collection.key, obj.id)
    entry = cache.fresh(key, ctx.now)
    if entry is not None:
        return entry
    return cache.get(
        key, ctx.now, lambda: collection.view(ctx, obj), lambda view: collection.render(ctx, obj, view)
    )


def page(cache: RenderCache, ctx: Ctx, objs: list[Any], collection: Collection, query: ListQuery) -> bytes:
    """One page of a collection as an envelope, assembled from cached JSON unless ``fields`` projects it."""
    chosen, total = select(objs, lambda obj: rendered(cache, ctx, collection, obj), _data, query)
    metadata = dumps(list_metadata(query, total)).encode()
    if query.fields is not None:
        items = [dumps([project(entry.data, query.fields) for entry in chosen]).encode()]
    else:
        items = [b"[", b",".join([entry.text for entry in chosen]), b"]"]
    return b"".join([b'{"result":', *items, b',"error":null,"metadata":', metadata, b"}"])


def list_page(cache: RenderCache, ctx: Ctx, name: str, params: list[tuple[str, str]]) -> bytes:
    """``GET <collection>`` with its filters, sort, fields and paging."""
    collection = COLLECTIONS[name]
    query = parse_list_query(params, field_names(collection.fields))
    return page(cache, ctx, collection.candidates(ctx.system, query), collection, query)


def _data(entry: Rendered) -> dict[str, Any]:
    return entry.data
