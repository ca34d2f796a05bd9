"""A throwaway CA and a server certificate for 127.0.0.1 (the control plane's own PKI helpers)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from controlplane.pki import certificate, pem_key


@dataclass(frozen=True)
class ServerCertificate:
    ca_pem: str
    ca_file: Path
    cert_file: Path
    key_file: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_server_certificate(directory: Path) -> ServerCertificate:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("ibox-sim test CA")
    ca_cert = certificate(ca_name, ca_name, ca_key.public_key(), ca_key, ca=True, usages=[], sans=[])
    key = ec.generate_private_key(ec.SECP256R1())
    cert = certificate(
        _name("127.0.0.1"),
        ca_name,
        key.public_key(),
        ca_key,
        ca=False,
        usages=[ExtendedKeyUsageOID.SERVER_AUTH],
        sans=[x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")],
    )
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM).decode()
    paths = ServerCertificate(
        ca_pem=ca_pem,
        ca_file=directory / "ca.pem",
        cert_file=directory / "server.pem",
        key_file=directory / "server.key",
    )
    paths.ca_file.write_text(ca_pem)
    paths.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key_file.write_bytes(pem_key(key))
    return paths
