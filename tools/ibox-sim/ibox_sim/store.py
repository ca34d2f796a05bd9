"""Finding objects (404 when missing) and making snapshots: shared by :mod:`objects` and :mod:`replicas`."""

from __future__ import annotations

from ibox_sim.context import Ctx
from ibox_sim.errors import not_found
from ibox_sim.model import ConsGroup, Dataset, DatasetKind, Link, NetworkSpace, Pool, System


def get_pool(system: System, pool_id: int) -> Pool:
    pool = system.pools.get(pool_id)
    if pool is None:
        raise not_found("pool", pool_id)
    return pool


def kind_word(kind: DatasetKind) -> str:
    return "volume" if kind == "VOLUME" else "filesystem"


def get_dataset(system: System, kind: DatasetKind, ident: int) -> Dataset:
    dataset = system.datasets(kind).get(ident)
    if dataset is None:
        raise not_found(kind_word(kind), ident)
    return dataset


def snapshot_of(ctx: Ctx, parent: Dataset, name: str, cg_id: int | None = None) -> Dataset:
    """A snapshot of ``parent`` (also used for staging areas and TAKE_SNAP bases)."""
    system = ctx.system
    snap = Dataset(
        id=system.allocate_id(),
        kind=parent.kind,
        name=name,
        size=parent.size,
        pool_id=parent.pool_id,
        provtype=parent.provtype,
        parent_id=parent.id,
        family_id=parent.family_id,
        depth=parent.depth + 1,
        created_at=ctx.now,
        updated_at=ctx.now,
        cg_id=cg_id,
    )
    system.datasets(parent.kind)[snap.id] = snap
    parent.child_ids.append(snap.id)
    return snap


def unique_name(base: str, taken: set[str]) -> str:
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return name


def get_cg(system: System, cg_id: int) -> ConsGroup:
    cg = system.cgs.get(cg_id)
    if cg is None:
        raise not_found("cg", cg_id)
    return cg


def snapshot_group(
    ctx: Ctx, parent: ConsGroup, name: str, prefix: str | None, suffix: str | None
) -> ConsGroup:
    """Snapshot every member of ``parent`` into a new snapshot group."""
    system = ctx.system
    sg = ConsGroup(
        id=system.allocate_id(),
        name=name,
        pool_id=parent.pool_id,
        parent_id=parent.id,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    system.cgs[sg.id] = sg
    parent.child_ids.append(sg.id)
    for member_id in parent.member_ids:
        member = system.dataset(member_id)
        if member is None:
            continue
        taken = {d.name for d in system.datasets(member.kind).values()}
        base = f"{prefix or ''}{member.name}{suffix or ''}" if (prefix or suffix) else f"{member.name}-{name}"
        snap = snapshot_of(ctx, member, unique_name(base, taken), cg_id=sg.id)
        sg.member_ids.append(snap.id)
    return sg


def get_space(system: System, space_id: int) -> NetworkSpace:
    space = system.network_spaces.get(space_id)
    if space is None:
        raise not_found("network_space", space_id)
    return space


def get_link(system: System, link_id: int) -> Link:
    link = system.links.get(link_id)
    if link is None:
        raise not_found("link", link_id)
    return link
