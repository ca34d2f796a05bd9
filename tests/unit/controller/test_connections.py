"""The registry: a client per array from its Secret, rebuilt only when something it depends on changed."""

from __future__ import annotations

from replica_operator.array import Unauthorized, Unavailable
from tests.unit.controller.fakes import World, infinibox_body


async def test_a_connection_logs_in_and_lists_once() -> None:
    world = World()
    world.arrays["ibox-1"].add_replica(role="SOURCE")
    connection = await world.registry.ensure_polled("ibox-1", infinibox_body("ibox-1"))
    assert connection.ready
    assert connection.replicas is not None
    assert len(connection.replicas) == 1
    assert world.log.names("ibox-1") == ["login", "read_capabilities", "list_all_replicas", "list_links"]
    await world.registry.ensure_polled("ibox-1", infinibox_body("ibox-1"))
    assert world.log.names("ibox-1").count("list_all_replicas") == 1  # a listing is there: no second


async def test_the_same_secret_keeps_the_client_a_new_version_replaces_it() -> None:
    world = World()
    await world.registry.connect("ibox-1", infinibox_body("ibox-1"))
    await world.registry.connect("ibox-1", infinibox_body("ibox-1"))
    assert world.clients_made == ["ibox-1"]
    world.kube.secret_version = "2"  # the credentials were rotated
    await world.registry.connect("ibox-1", infinibox_body("ibox-1"))
    assert world.clients_made == ["ibox-1", "ibox-1"]
    assert "aclose" in world.log.names("ibox-1")  # the old client was closed


async def test_a_reconnect_whose_system_read_fails_forgets_the_old_serial() -> None:
    """A new client may lead to another system: a failed first read leaves the serial unknown
    (it kept the old one, so another system's answers passed for this one's), and the next
    listing reads the system again before the replicas."""
    world = World()
    connection = await world.registry.ensure_polled("ibox-1", infinibox_body("ibox-1"))
    assert connection.system is not None
    world.kube.secret_version = "2"  # a new client (as a changed url makes one)
    world.arrays["ibox-1"].fail["read_capabilities"] = Unavailable("ibox-1", "answer lost")
    connection = await world.registry.connect("ibox-1", infinibox_body("ibox-1"))
    assert connection.problem is not None
    assert (connection.system, connection.capabilities) == (None, None)
    del world.arrays["ibox-1"].fail["read_capabilities"]
    before = len(world.log.names("ibox-1"))
    await world.registry.poll("ibox-1", infinibox_body("ibox-1"))
    assert connection.system is not None
    assert world.log.names("ibox-1")[before:].index("read_capabilities") < world.log.names("ibox-1")[
        before:
    ].index("list_all_replicas")


async def test_a_missing_secret_is_a_problem_not_a_client() -> None:
    world = World()
    world.kube.secrets.clear()
    connection = await world.registry.connect("ibox-1", infinibox_body("ibox-1"))
    assert connection.client is None
    assert connection.problem is not None
    assert connection.problem.reason == "SecretNotFound"
    assert world.clients_made == []


async def test_refused_credentials_are_reported_without_the_password() -> None:
    world = World()
    world.arrays["ibox-1"].fail["login"] = Unauthorized("ibox-1", "invalid credentials", status_code=401)
    connection = await world.registry.connect("ibox-1", infinibox_body("ibox-1"))
    assert connection.problem is not None
    assert (connection.problem.reason, connection.problem.retryable) == ("Unauthorized", False)
    assert "unit-pw-7c1e" not in connection.problem.message


async def test_a_missing_secret_is_read_once_per_poll_not_once_per_object() -> None:
    world = World()
    world.kube.secrets.clear()
    body = infinibox_body("ibox-1")
    await world.registry.poll("ibox-1", body)  # the poller's attempt
    for _ in range(50):  # every object's pass that names the array
        connection = await world.registry.ensure_polled("ibox-1", body)
        assert connection.problem is not None
        assert connection.problem.reason == "SecretNotFound"
    assert world.log.names("kube").count("read_secret") == 1
    await world.registry.poll("ibox-1", body)  # the next poll retries
    assert world.log.names("kube").count("read_secret") == 2


async def test_a_url_with_credentials_is_an_invalid_configuration_without_the_password() -> None:
    world = World()
    body = infinibox_body("ibox-1")
    body["spec"]["url"] = "https://admin:url-pw-91f3@127.0.0.1:1"
    connection = await world.registry.connect("ibox-1", body)
    assert connection.client is None
    assert connection.problem is not None
    assert connection.problem.reason == "InvalidConfiguration"
    assert "spec.url" in connection.problem.message
    assert "url-pw-91f3" not in connection.problem.message
    assert world.clients_made == []


async def test_a_ca_that_is_not_pem_is_an_invalid_configuration_naming_the_field() -> None:
    world = World()
    world.kube.secrets[("ops", "ibox-ca")] = {"ca.crt": "-----BEGIN CERTIFICATE-----\nnot-base64-ca-7d2\n"}
    body = infinibox_body("ibox-1")
    body["spec"]["tls"] = {"caSecretRef": {"name": "ibox-ca", "namespace": "ops"}}
    connection = await world.registry.connect("ibox-1", body)
    assert connection.problem is not None
    assert connection.problem.reason == "InvalidConfiguration"
    assert "spec.tls.caSecretRef" in connection.problem.message
    assert "not-base64-ca-7d2" not in connection.problem.message
    assert world.clients_made == []
