"""The freshly started world: N systems, a pool and a replication network space on each, links between all."""

from __future__ import annotations

from ibox_sim.config import SimConfig
from ibox_sim.model import Link, NetworkSpace, Pool, System, World

#: First id on system K is K * ID_STRIDE + 1, so an id used on the wrong system is a 404, not a wrong object.
ID_STRIDE = 1_000_000
SERIAL_BASE = 10_000
POOL_CAPACITY = 10**15  # 1 PB: "large"
REPLICATION_SPACE = "replication"


def system_name(index: int) -> str:
    return f"ibox-{index}"


def link_name(remote_index: int) -> str:
    return f"to-ibox-{remote_index}"


def management_ip(index: int) -> str:
    """The replication management IP of system ``index`` (what a link's ``remote_host`` names)."""
    return f"172.16.{index}.10"


def build_world(systems: int, now: float, config: SimConfig | None = None) -> World:
    """A world of ``systems`` arrays ``ibox-1..N``, each with ``pool-1``, joined pairwise by links."""
    if systems < 1:
        raise ValueError("at least one system is needed")
    world = World(config=config.model_copy() if config else SimConfig())
    for index in range(1, systems + 1):
        system = System(
            name=system_name(index),
            index=index,
            serial=SERIAL_BASE + index,
            next_id=index * ID_STRIDE + 1,
        )
        pool_id = system.allocate_id()
        system.pools[pool_id] = Pool(
            id=pool_id,
            name="pool-1",
            created_at=now,
            updated_at=now,
            physical_capacity=POOL_CAPACITY,
            virtual_capacity=POOL_CAPACITY,
        )
        space_id = system.allocate_id()
        system.network_spaces[space_id] = replication_space(space_id, index, now)
        world.systems[system.name] = system
    for a in range(1, systems + 1):
        for b in range(a + 1, systems + 1):
            connect(world.systems[system_name(a)], world.systems[system_name(b)], now)
    return world


def replication_space(space_id: int, index: int, now: float) -> NetworkSpace:
    """An RMR network space with one management and three replication IPs."""
    base = f"172.16.{index}"
    ips = [
        {
            "ip_address": f"{base}.{10 + n}",
            "type": "MANAGEMENT" if n == 0 else "REPLICATION",
            "enabled": True,
            "reserved": False,
            "interface_id": space_id + 1000 + n,
            "vlan_id": None,
            "tpgt": None,
        }
        for n in range(4)
    ]
    return NetworkSpace(
        id=space_id,
        name=REPLICATION_SPACE,
        service="RMR_SERVICE",
        network_config={"netmask": 24, "network": f"{base}.0", "default_gateway": f"{base}.1"},
        interfaces=[space_id + 1000],
        ips=ips,
        properties={"is_async_only": False},
        created_at=now,
    )


def rmr_space(system: System) -> NetworkSpace | None:
    return next((s for s in system.network_spaces.values() if s.service == "RMR_SERVICE"), None)


def connect(
    a: System, b: System, now: float, name_on_a: str | None = None, name_on_b: str | None = None
) -> Link:
    """Create the mirrored pair of links between ``a`` and ``b``; returns the one on ``a``."""
    space_a, space_b = rmr_space(a), rmr_space(b)
    link_a = Link(
        id=a.allocate_id(),
        name=name_on_a or link_name(b.index),
        local_replication_network_space_id=space_a.id if space_a else None,
        remote_host=management_ip(b.index),
        remote_system=b.name,
        remote_replication_network_space_id=space_b.id if space_b else None,
        created_at=now,
        last_connection_timestamp=now,
    )
    link_b = Link(
        id=b.allocate_id(),
        name=name_on_b or link_name(a.index),
        local_replication_network_space_id=space_b.id if space_b else None,
        remote_host=management_ip(a.index),
        remote_system=a.name,
        remote_replication_network_space_id=space_a.id if space_a else None,
        created_at=now,
        last_connection_timestamp=now,
    )
    link_a.remote_link_id, link_b.remote_link_id = link_b.id, link_a.id
    a.links[link_a.id] = link_a
    b.links[link_b.id] = link_b
    return link_a
