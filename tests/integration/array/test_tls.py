"""TLS: verified by default, against a CA given as PEM text or a file; unverified only when asked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ibox_sim.server import SimulatorServer
from replica_operator.array import InfiniBoxClient, RequestRecord, RetryPolicy, Unavailable
from tests.integration.array.certs import ServerCertificate, make_server_certificate
from tests.integration.array.sim import PASSWORD, USERNAME


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> ServerCertificate:
    return make_server_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls_url(certificate: ServerCertificate) -> Iterator[str]:
    server = SimulatorServer(
        systems=1, password=PASSWORD, tls_cert=certificate.cert_file, tls_key=certificate.key_file
    )
    with server:
        yield server.url("ibox-1")


def client(url: str, **options: Any) -> InfiniBoxClient:
    return InfiniBoxClient(
        url,
        username=USERNAME,
        password=PASSWORD,
        retry=RetryPolicy(attempts=3, wait_initial=0),
        **options,
    )


async def test_the_simulator_serves_https(tls_url: str) -> None:
    assert tls_url.startswith("https://127.0.0.1:")


async def test_verification_is_on_by_default(tls_url: str) -> None:
    records: list[RequestRecord] = []
    async with client(tls_url, observer=records.append) as array:
        with pytest.raises(Unavailable) as caught:
            await array.get_system()
    assert type(caught.value) is Unavailable
    assert caught.value.code == "TLS_ERROR"
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)
    assert len(records) == 1, "a certificate failure is not retried"


async def test_a_ca_given_as_pem_text(tls_url: str, certificate: ServerCertificate) -> None:
    async with client(tls_url, ca_pem=certificate.ca_pem) as array:
        assert (await array.get_system()).name == "ibox-1"


async def test_a_ca_given_as_a_file(tls_url: str, certificate: ServerCertificate) -> None:
    async with client(tls_url, ca_file=certificate.ca_file) as array:
        assert (await array.get_system()).name == "ibox-1"
    async with client(tls_url, ca_file=str(certificate.ca_file)) as array:
        assert (await array.get_system()).serial == 10001


async def test_another_ca_is_refused(tls_url: str, tmp_path: Path) -> None:
    stranger = make_server_certificate(tmp_path)
    async with client(tls_url, ca_pem=stranger.ca_pem) as array:
        with pytest.raises(Unavailable) as caught:
            await array.get_system()
    assert caught.value.code == "TLS_ERROR"


async def test_insecure_skips_verification(tls_url: str) -> None:
    async with client(tls_url, insecure=True) as array:
        assert (await array.get_system()).name == "ibox-1"
