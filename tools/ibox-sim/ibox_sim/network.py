"""Network spaces (with their IPs) and replication links; a link created here gets its mirror on the peer.

Each function validates everything first and only then changes the model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ibox_sim import replicas
from ibox_sim.context import (
    Ctx,
    check_keys,
    check_name,
    ensure_unique_name,
    flag,
    get_bool,
    get_int,
    get_str,
    require_dict,
    require_int,
)
from ibox_sim.errors import ApiError, bad_request, conflict, invalid_value
from ibox_sim.model import Link, NetworkSpace, System
from ibox_sim.objects import check_mutable
from ibox_sim.store import (
    get_link,
    get_space,
    unique_name,
)
from ibox_sim.topology import link_name

# ------------------------------------------------------------------------------------- network spaces

_SPACE_KEYS = frozenset(
    {
        "name",
        "service",
        "network_config",
        "interfaces",
        "mtu",
        "rate_limit",
        "properties",
        "automatic_ip_failback",
    }
)


def create_network_space(ctx: Ctx, body: Any) -> NetworkSpace:
    data = require_dict(body)
    check_keys(data, _SPACE_KEYS)
    system = ctx.system
    ident = system.next_id
    name = check_name(data.get("name") or f"network_space_{ident}")
    ensure_unique_name(name, system.network_spaces.values(), "network space")
    service = (get_str(data, "service") or "NAS_SERVICE").upper()
    if service not in ("RMR_SERVICE", "NAS_SERVICE", "ISCSI_SERVICE", "S3_SERVICE", "NVME_SERVICE"):
        raise invalid_value("service", service)
    interfaces = data.get("interfaces") or []
    config = data.get("network_config") or {}
    if not isinstance(interfaces, list) or not isinstance(config, dict):
        raise bad_request("interfaces must be a list and network_config an object")
    space = NetworkSpace(
        id=system.allocate_id(),
        name=name,
        service=service,
        network_config=config,
        interfaces=interfaces,
        mtu=get_int(data, "mtu") or 9000,
        rate_limit=get_int(data, "rate_limit"),
        properties=data.get("properties") or {},
        automatic_ip_failback=get_bool(data, "automatic_ip_failback", False),
        created_at=ctx.now,
    )
    system.network_spaces[space.id] = space
    return space


def update_network_space(ctx: Ctx, space_id: int, body: Any) -> NetworkSpace:
    space = get_space(ctx.system, space_id)
    data = require_dict(body)
    check_mutable(data, _SPACE_KEYS - {"service"}, "network_spaces")
    if len(data) > 1:
        raise ApiError(400, "NOT_SUPPORTED_MULTIPLE_UPDATE", "change one network space field per request")
    for key, value in data.items():
        if key == "name":
            ensure_unique_name(check_name(value), ctx.system.network_spaces.values(), "network space")
        setattr(space, key, value)
    return space


def delete_network_space(ctx: Ctx, space_id: int) -> NetworkSpace:
    space = get_space(ctx.system, space_id)
    if any(link.local_replication_network_space_id == space_id for link in ctx.system.links.values()):
        raise conflict("NETWORK_SPACE_IN_USE", f"network space {space.name!r} is used by a link")
    del ctx.system.network_spaces[space_id]
    return space


def add_ip(ctx: Ctx, space_id: int, body: Any) -> NetworkSpace:
    space = get_space(ctx.system, space_id)
    if not isinstance(body, str) or not body:
        raise bad_request("the body must be the IP address as a JSON string")
    if any(ip["ip_address"] == body for ip in space.ips):
        raise conflict("NET_SPACE_ADDRESS_CONFLICT", f"{body} is already in the network space")
    has_mgmt = any(ip["type"] == "MANAGEMENT" for ip in space.ips)
    kind = ("REPLICATION" if has_mgmt else "MANAGEMENT") if space.service == "RMR_SERVICE" else "DATA"
    space.ips.append(
        {
            "ip_address": body,
            "type": kind,
            "enabled": True,
            "reserved": False,
            "interface_id": space.interfaces[0] if space.interfaces else None,
            "vlan_id": None,
            "tpgt": None,
        }
    )
    return space


def change_ip(ctx: Ctx, space_id: int, address: str, action: str | None) -> NetworkSpace:
    """Remove an IP (``action`` None) or enable/disable it."""
    space = get_space(ctx.system, space_id)
    match = next((ip for ip in space.ips if ip["ip_address"] == address), None)
    if match is None:
        raise ApiError(404, "IP_ADDRESS_NOT_FOUND", f"{address} is not in network space {space.name!r}")
    if action is None:
        space.ips.remove(match)
    else:
        match["enabled"] = action == "enable"
    return space


# ---------------------------------------------------------------------------------------------- links

_LINK_KEYS = frozenset({"name", "local_replication_network_space_id", "remote_host", "witness_address"})


def _system_at(ctx: Ctx, host: str) -> System | None:
    """The simulated system whose replication network space owns ``host``."""
    for system in ctx.world.systems.values():
        for space in system.network_spaces.values():
            if space.service == "RMR_SERVICE" and any(ip["ip_address"] == host for ip in space.ips):
                return system
    return None


def create_link(ctx: Ctx, body: Any) -> Link:
    """A link to the system answering at ``remote_host``; its mirror is created on that system too."""
    data = require_dict(body)
    check_keys(data, _LINK_KEYS)
    system = ctx.system
    space = get_space(system, require_int(data, "local_replication_network_space_id"))
    if space.service != "RMR_SERVICE":
        raise invalid_value("local_replication_network_space_id", space.id, "not a replication (RMR) space")
    host = get_str(data, "remote_host", required=True)
    assert host is not None
    name = check_name(data.get("name") or f"link_{system.next_id}")
    ensure_unique_name(name, system.links.values(), "link")
    remote = _system_at(ctx, host)
    if remote is None:
        raise ApiError(409, "LINK_DISCONNECTED", f"no replication service answers at {host}")
    if remote.name == system.name:
        raise invalid_value("remote_host", host, "a link cannot lead to its own system")
    if any(link.remote_system == remote.name for link in system.links.values()):
        raise conflict(
            "LINK_ALREADY_EXISTS", f"a link to {remote.name} already exists (one link per pair of systems)"
        )
    remote_space = next((s for s in remote.network_spaces.values() if s.service == "RMR_SERVICE"), None)
    local_link = Link(
        id=system.allocate_id(),
        name=name,
        local_replication_network_space_id=space.id,
        remote_host=host,
        remote_system=remote.name,
        remote_replication_network_space_id=remote_space.id if remote_space else None,
        created_at=ctx.now,
        last_connection_timestamp=ctx.now,
    )
    mgmt = next((ip["ip_address"] for ip in space.ips if ip["type"] == "MANAGEMENT"), None)
    remote_link = Link(
        id=remote.allocate_id(),
        name=unique_name(link_name(system.index), {link.name for link in remote.links.values()}),
        local_replication_network_space_id=remote_space.id if remote_space else None,
        remote_host=mgmt or (space.ips[0]["ip_address"] if space.ips else ""),
        remote_system=system.name,
        remote_replication_network_space_id=space.id,
        created_at=ctx.now,
        last_connection_timestamp=ctx.now,
    )
    local_link.remote_link_id, remote_link.remote_link_id = remote_link.id, local_link.id
    system.links[local_link.id] = local_link
    remote.links[remote_link.id] = remote_link
    return local_link


def update_link(ctx: Ctx, link_id: int, body: Any) -> Link:
    """Rename, or attach/detach the local network space (detached: the link is down)."""
    link = get_link(ctx.system, link_id)
    data = require_dict(body)
    check_mutable(data, frozenset({"name", "local_replication_network_space_id", "remote_host"}), "links")
    if "name" in data and data["name"] != link.name:
        ensure_unique_name(check_name(data["name"]), ctx.system.links.values(), "link")
    if "remote_host" in data:
        host = get_str(data, "remote_host", required=True)
        target = _system_at(ctx, host or "")
        if target is None or target.name != link.remote_system:
            raise invalid_value("remote_host", host, f"must be an address of {link.remote_system}")
        link.remote_host = host or link.remote_host
    if "local_replication_network_space_id" in data:
        space_id = get_int(data, "local_replication_network_space_id")
        if space_id is not None:
            get_space(ctx.system, space_id)
        link.local_replication_network_space_id = space_id
    if "name" in data:
        link.name = data["name"]
    replicas.refresh_link(ctx, link)
    return link


def delete_link(ctx: Ctx, link_id: int, params: Mapping[str, str]) -> Link:
    system = ctx.system
    link = get_link(system, link_id)
    if any(r.link_id == link_id for r in system.replicas.values()):
        raise conflict("LINK_HAS_REPLICAS", f"link {link.name!r} still carries replicas")
    remote = ctx.world.systems.get(link.remote_system) if link.remote_system else None
    if remote is not None and link.remote_link_id in remote.links:
        if not link.up and not flag(params, "force_if_remote_error"):
            raise ApiError(409, "LINK_DISCONNECTED", "the remote system cannot be reached")
        if link.up:
            remote.links.pop(link.remote_link_id, None)
    del system.links[link_id]
    return link
