"""Issue 14 item 10: every spec the real API server admits is handled without an exception.

Hypothesis generates Replica and InfiniBox specs, near the edges of what the CRD checks
(durations up to and past Go's limit, odd URLs, every mode and policy); each is sent to the
API server as a server-side dry-run create. Each one it admits then runs through what the
operator does with it: the model, the rules (``decide``/``summarize`` via a whole pass of
the reconciler on in-memory arrays, request building included) and, for an InfiniBox, the
configuration check and the client's construction.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import kubernetes
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from replica_operator.api import GROUP, VERSION, InfiniBoxSpec
from replica_operator.array import EntityType
from replica_operator.controller import Backoff, Reconciler, Trigger
from replica_operator.controller.configuration import configuration_problem
from replica_operator.controller.connections import infinibox_client
from tests.support.kube import Cluster
from tests.unit.controller.fakes import World

EXAMPLES = 150
BACKOFF = Backoff(timedelta(seconds=1), timedelta(seconds=8))
UID = "6f1c2a4e-0000-4000-8000-00000000abcd"

_UNITS = st.sampled_from(["h", "m", "s", "ms"])
_PART = st.tuples(st.integers(0, 10**14) | st.integers(0, 120), _UNITS).map(lambda p: f"{p[0]}{p[1]}")
EDGES = ["0s", "1s", "4s", "5m", "168h", "169h", "2562047h", "2562048h", "1m30s", "500ms", "10m", "1h"]
DURATIONS = st.sampled_from(EDGES) | st.lists(_PART, min_size=1, max_size=3).map("".join)
NAMES = st.sampled_from(["vol-1", "fs-1", "snap-1", "cg-1", "missing", "a" * 200])
BASE_REPLICA: dict[str, Any] = {
    "source": {"array": "ibox-1", "volume": "vol-1"},
    "target": {"array": "ibox-2", "pool": "pool-1"},
}
BASE_INFINIBOX: dict[str, Any] = {
    "url": "https://127.0.0.1:8443",
    "credentialsSecretRef": {"name": "ibox-credentials", "namespace": "ops"},
}
ARRAYS = st.sampled_from(["ibox-1", "ibox-2", "ibox-3"])


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


ACTIONS = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["a1", "b-2"]),
        "type": st.sampled_from(["SyncNow", "SwitchRole", "ChangeRole"]),
    }
)


@st.composite
def replica_specs(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly coherent specs (so that many are admitted), each field sometimes off on its own."""
    entity = draw(st.sampled_from(["volume", "filesystem"]))
    source: dict[str, Any] = {"array": draw(ARRAYS), entity: draw(NAMES)}
    mode = draw(_optional(st.sampled_from(["Create", "Existing", "BaseSnapshot"])))
    coherent = draw(st.integers(0, 3)) > 0
    target: dict[str, Any] = {
        "array": draw(ARRAYS),
        "mode": mode,
        "link": draw(_optional(st.sampled_from(["to-ibox-2", "nowhere"]))),
        "pool": draw(st.sampled_from(["pool-1", "pool-9"])) if mode in (None, "Create") else None,
        "name": draw(NAMES) if mode == "Existing" else draw(_optional(NAMES)) if mode is None else None,
        "baseSnapshot": (
            draw(st.fixed_dictionaries({"local": NAMES, "remote": NAMES})) if mode == "BaseSnapshot" else None
        ),
    }
    kind = draw(st.sampled_from([None, "ASYNC", "ASYNC", "SYNC", "ACTIVE_ACTIVE"]))
    scheduled = kind in (None, "ASYNC") or not coherent
    spec: dict[str, Any] = {
        "source": source,
        "target": target,
        "replicationType": kind,
        "rpo": draw(_optional(DURATIONS)) if scheduled else None,
        "syncInterval": draw(_optional(DURATIONS)) if scheduled else None,
        "suspended": draw(_optional(st.booleans())),
        "deletionPolicy": draw(_optional(st.sampled_from(["Delete", "Orphan"]))),
        "managementPolicy": draw(_optional(st.sampled_from(["Full", "ObserveOnly"]))),
        "action": draw(_optional(ACTIONS)),
    }
    if coherent and target["array"] == source["array"]:
        target["array"] = "ibox-2" if source["array"] != "ibox-2" else "ibox-1"
    return _without_none(spec)


@st.composite
def infinibox_specs(draw: st.DrawFn) -> dict[str, Any]:
    host = draw(st.sampled_from(["127.0.0.1", "ibox-1.example.com", "[::1]", "xn--.example", "h_1", "a..b"]))
    odd_port = st.integers(-1, 70000).map(str) | st.sampled_from(["", "https", "0443"])
    port = draw(st.none() | st.integers(1, 65535).map(str) | odd_port)
    userinfo = draw(st.sampled_from(["", "", "", "admin@", "admin:pw-3f9a@", ":@"]))
    scheme = draw(st.sampled_from(["https", "https", "http", "ftp"]))
    path = draw(st.sampled_from(["", "/", "/api?x=1"]))
    url = f"{scheme}://{userinfo}{host}{'' if port is None else ':' + port}{path}"
    tls = draw(
        _optional(
            st.fixed_dictionaries(
                {},
                optional={
                    "insecureSkipVerify": st.booleans(),
                    "caSecretRef": st.fixed_dictionaries(
                        {"name": st.just("ca"), "namespace": st.just("ops")}
                    ),
                },
            )
        )
    )
    spec: dict[str, Any] = {
        "url": url,
        "credentialsSecretRef": {"name": "ibox-credentials", "namespace": "ops"},
        "tls": tls,
        "pollInterval": draw(st.none() | st.none() | DURATIONS),
        "requestTimeout": draw(st.none() | st.none() | DURATIONS),
        "maxConcurrentRequests": draw(st.none() | st.integers(1, 64) | st.integers(-1, 70)),
    }
    return _without_none(spec)


def _without_none(node: Any) -> Any:
    if isinstance(node, dict):
        return {key: _without_none(value) for key, value in node.items() if value is not None}
    return node


def _admitted(
    api: kubernetes.client.CustomObjectsApi, plural: str, namespace: str | None, body: dict[str, Any]
) -> dict[str, Any] | None:
    """The object as the API server would store it, or None when it refuses it (422/400)."""
    try:
        if namespace is None:
            return dict(api.create_cluster_custom_object(GROUP, VERSION, plural, body, dry_run="All"))
        return dict(
            api.create_namespaced_custom_object(GROUP, VERSION, namespace, plural, body, dry_run="All")
        )
    except kubernetes.client.ApiException as error:
        if error.status in (400, 422):
            return None
        raise


def _world() -> World:
    """In-memory arrays that hold every entity the strategies name, so creates reach the request."""
    world = World()
    for fake in world.arrays.values():
        volume = fake.add_dataset("vol-1")
        fake.add_dataset("fs-1", EntityType.FILESYSTEM)
        fake.add_dataset("snap-1", parent_id=volume.id)
        fake.add_group("cg-1", ("cg-1-m1",))
    return world


async def _every_pass(stored: dict[str, Any]) -> None:
    """Create/update, then a poll with the status written, then the deletion: none may raise."""
    world = _world()
    reconciler = Reconciler(world.registry, world.kube, BACKOFF)
    body = {**stored, "metadata": {**stored["metadata"], "uid": UID, "generation": 1}}
    first = await reconciler.reconcile(body, Trigger.EVENT, world.lookup)
    settled = {**body, "status": first.update.status.to_cr()}
    await reconciler.on_poll(settled, world.lookup)
    deleting = {**settled, "metadata": {**settled["metadata"], "deletionTimestamp": "2026-11-25T12:00:00Z"}}
    await reconciler.reconcile(deleting, Trigger.DELETE, world.lookup)


@pytest.fixture(scope="module")
def custom_api(cluster: Cluster) -> kubernetes.client.CustomObjectsApi:
    return kubernetes.client.CustomObjectsApi(cluster.api_client())


_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,  # each example is a round trip to the API server
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def test_every_admitted_replica_spec_goes_through_a_whole_pass(
    custom_api: kubernetes.client.CustomObjectsApi, module_namespace: str
) -> None:
    admitted: list[int] = []

    @_SETTINGS
    @given(spec=replica_specs())
    @example(spec={**BASE_REPLICA, "rpo": "2562048h"})  # admitted before item 10, crash-looped
    @example(spec={**BASE_REPLICA, "syncInterval": "99999999999999m"})
    def check(spec: dict[str, Any]) -> None:
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Replica",
            "metadata": {"name": "gen"},
            "spec": spec,
        }
        stored = _admitted(custom_api, "replicas", module_namespace, body)
        if stored is None:
            return
        admitted.append(1)
        asyncio.run(_every_pass(stored))

    check()
    assert len(admitted) >= EXAMPLES // 10, f"only {len(admitted)} of {EXAMPLES} specs were admitted"


def test_every_admitted_infinibox_spec_is_checked_or_makes_a_client(
    custom_api: kubernetes.client.CustomObjectsApi,
) -> None:
    admitted: list[int] = []

    @_SETTINGS
    @given(spec=infinibox_specs())
    @example(spec={**BASE_INFINIBOX, "url": "https://xn--.example"})  # admitted; idna refuses it
    @example(spec={**BASE_INFINIBOX, "url": "https://admin:pw-3f9a@127.0.0.1:99999"})
    def check(spec: dict[str, Any]) -> None:
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "InfiniBox",
            "metadata": {"name": "gen"},
            "spec": spec,
        }
        stored = _admitted(custom_api, "infiniboxes", None, body)
        if stored is None:
            return
        admitted.append(1)
        model = InfiniBoxSpec.model_validate(stored["spec"])
        if configuration_problem(model, None) is None:
            client = infinibox_client("gen", model, "admin", SecretStr("pw-generated"), None)
            asyncio.run(client.aclose())

    check()
    assert len(admitted) >= EXAMPLES // 10, f"only {len(admitted)} of {EXAMPLES} specs were admitted"
