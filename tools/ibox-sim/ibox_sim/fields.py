"""The fields of each collection's objects, from rendering one sample of each (filters, sort, fields)."""

from __future__ import annotations

import functools
from typing import Any

from ibox_sim.exports import render_export
from ibox_sim.model import ConsGroup, Dataset, Export, Link, NetworkSpace, Pool, Replica, System, World
from ibox_sim.render import (
    render_cg,
    render_dataset,
    render_link,
    render_network_space,
    render_pool,
    render_system,
)
from ibox_sim.replicas.render import render_replica
from ibox_sim.state import ReplicationSession as Session


@functools.cache
def field_names(collection: str) -> frozenset[str]:
    """The fields every object of ``collection`` has (for validating filters, ``sort`` and ``fields``)."""
    system = System(name="proto", index=1, serial=1, next_id=10)
    pool = Pool(id=1, name="p", created_at=0, updated_at=0, physical_capacity=1, virtual_capacity=1)
    volume = Dataset(
        id=2, kind="VOLUME", name="v", size=1, pool_id=1, family_id=2, created_at=0, updated_at=0
    )
    fs = volume.model_copy(update={"kind": "FILESYSTEM"})
    world = World(systems={"proto": system})
    world.sessions[1] = Session(id=1, replication_type="ASYNC", rpo_ms=1, interval_ms=1, created_at=0)
    replica = Replica(
        id=3,
        session_id=1,
        role="SOURCE",
        link_id=4,
        peer_system="proto",
        remote_replica_id=3,
        entity_type="VOLUME",
        pairs=[],
        created_at=0,
        updated_at=0,
    )
    link = Link(
        id=4,
        name="l",
        local_replication_network_space_id=None,
        remote_host="x",
        created_at=0,
        last_connection_timestamp=0,
    )
    samples: dict[str, dict[str, Any]] = {
        "system": render_system(system, 0),
        "pools": render_pool(system, pool),
        "volumes": render_dataset(world, system, volume),
        "filesystems": render_dataset(world, system, fs),
        "datasets": {**render_dataset(world, system, volume), **render_dataset(world, system, fs)},
        "cgs": render_cg(world, system, ConsGroup(id=5, name="c", pool_id=1, created_at=0, updated_at=0)),
        "network_spaces": render_network_space(NetworkSpace(id=6, name="n", service="RMR_SERVICE")),
        "exports": render_export(Export(id=7, filesystem_id=2, export_path="/e")),
        "links": render_link(world, system, link),
        "replicas": render_replica(world, system, replica, 0),
    }
    return frozenset(samples[collection])
