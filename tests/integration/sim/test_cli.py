"""``ibox-sim`` as a child process: ready line, ports, state file across a restart, TLS, clean stop."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from infinisdk import InfiniBox

from ibox_sim.testing import RunningSimulator, run_simulator, stop_process

AUTH = ("admin", "admin")


def _first(client: httpx.Client, path: str, **params: Any) -> dict[str, Any]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return dict(response.json()["result"][0])


def _replicate(sim: RunningSimulator) -> tuple[int, int]:
    """A volume on ibox-1 replicated to ibox-2; returns (replica id, remote replica id)."""
    with (
        httpx.Client(base_url=sim.url("ibox-1"), auth=AUTH, timeout=10) as one,
        httpx.Client(base_url=sim.url("ibox-2"), auth=AUTH, timeout=10) as two,
    ):
        pool = _first(one, "/api/rest/pools", name="pool-1")["id"]
        volume = one.post("/api/rest/volumes", json={"name": "keep", "size": 10**9, "pool_id": pool}).json()
        body = {
            "link_id": _first(one, "/api/rest/links", name="to-ibox-2")["id"],
            "remote_pool_id": _first(two, "/api/rest/pools", name="pool-1")["id"],
            "entity_pairs": [{"local_entity_id": volume["result"]["id"], "remote_base_action": "CREATE"}],
            "description": "owned-by-test",
        }
        replica = one.post("/api/rest/replicas", json=body).json()["result"]
        return int(replica["id"]), int(replica["remote_replica_id"])


def test_ready_line_ports_and_links() -> None:
    with run_simulator(systems=3, initial_sync_seconds=1) as sim:
        assert [s["name"] for s in sim.systems] == ["ibox-1", "ibox-2", "ibox-3"]
        assert [s["url"] for s in sim.systems] == [f"http://127.0.0.1:{sim.base_port + k}" for k in range(3)]
        assert [s["serial"] for s in sim.systems] == [10001, 10002, 10003]
        for system in sim.systems:
            with httpx.Client(base_url=system["url"], auth=AUTH, timeout=10) as client:
                assert client.get("/api/rest/system").json()["result"]["name"] == system["name"]
                links = client.get("/api/rest/links", params={"sort": "name"}).json()["result"]
                others = sorted(f"to-{s['name']}" for s in sim.systems if s["name"] != system["name"])
                assert [link["name"] for link in links] == others
        assert sim.admin("GET", "/_sim/config")["initial_sync_seconds"] == 1
        process = sim.process
    assert process.returncode == 0  # SIGTERM stops it cleanly


def test_state_file_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state" / "ibox.json"
    with run_simulator(systems=2, state_file=state, auto_suspend_after_seconds=0) as sim:
        replica_id, remote_id = _replicate(sim)
        sim.admin("PUT", "/_sim/links/ibox-1/to-ibox-2", {"state": "DOWN"})
    assert state.exists()

    with run_simulator(systems=2, state_file=state, auto_suspend_after_seconds=0) as sim:
        with httpx.Client(base_url=sim.url("ibox-1"), auth=AUTH, timeout=10) as one:
            replica = one.get(f"/api/rest/replicas/{replica_id}").json()["result"]
            assert (replica["description"], replica["role"]) == ("owned-by-test", "SOURCE")
            assert replica["state"] == "AUTO_SUSPENDED"
            assert _first(one, "/api/rest/volumes", name="keep")["rmr_source"] is True
            pool = _first(one, "/api/rest/pools", name="pool-1")["id"]
            fresh = one.post("/api/rest/volumes", json={"name": "new", "size": 10**9, "pool_id": pool}).json()
            assert fresh["result"]["id"] > replica_id  # ids carry on, no clash
        with httpx.Client(base_url=sim.url("ibox-2"), auth=AUTH, timeout=10) as two:
            remote = two.get(f"/api/rest/replicas/{remote_id}").json()["result"]
            assert (remote["role"], remote["remote_replica_id"]) == ("TARGET", replica_id)
        sim.admin("PUT", "/_sim/links/ibox-1/to-ibox-2", {"state": "UP"})
        with httpx.Client(base_url=sim.url("ibox-1"), auth=AUTH, timeout=10) as one:
            path = f"/api/rest/replicas/{replica_id}"
            assert one.get(path).json()["result"]["state"] == "AUTO_SUSPENDED"  # until resumed
            assert one.post(path + "/resume").status_code == 200
            assert one.get(path).json()["result"]["state"] == "ACTIVE"


def test_state_file_with_other_system_count_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "ibox.json"
    with run_simulator(systems=2, state_file=state):
        pass
    with (
        pytest.raises(RuntimeError, match="holds 2 systems"),
        run_simulator(systems=3, state_file=state, retries=1),
    ):
        pass


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ibox-sim")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")  # infinisdk never verifies
def test_tls(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    with run_simulator(systems=2, extra_args=["--tls-cert", str(cert), "--tls-key", str(key)]) as sim:
        url = sim.url("ibox-1")
        assert url.startswith("https://127.0.0.1:")
        trust = ssl.create_default_context(cafile=str(cert))
        sim.verify = trust
        assert sim.admin("GET", "/_sim/clock")["now"] > 0
        with httpx.Client(base_url=url, verify=trust, timeout=10) as client:
            login = client.post("/api/rest/users/login", json={"username": "admin", "password": "admin"})
            assert "secure" in login.headers["set-cookie"].lower()
        port = int(url.rsplit(":", 1)[1])
        system = InfiniBox(("127.0.0.1", port), auth=AUTH, use_ssl=True)
        system.login()
        assert system.get_name() == "ibox-1"


def test_busy_port_is_reported() -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        process = subprocess.run(
            [sys.executable, "-m", "ibox_sim", "--systems", "1", "--base-port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert process.returncode != 0
    assert "cannot listen" in process.stderr
    assert process.stdout == ""


def test_help_lists_the_contract_options() -> None:
    process = subprocess.run(
        [sys.executable, "-m", "ibox_sim", "--help"], capture_output=True, text=True, timeout=60, check=True
    )
    for option in (
        "--systems",
        "--base-port",
        "--host",
        "--username",
        "--password",
        "--initial-sync-seconds",
        "--state-file",
        "--tls-cert",
        "--tls-key",
    ):
        assert option in process.stdout


def test_stop_process_is_idempotent() -> None:
    with run_simulator(systems=1) as sim:
        assert stop_process(sim.process) == 0
        assert stop_process(sim.process) == 0


def test_fidelity_options_reach_the_config() -> None:
    flags = ["--require-remote-auth", "--null-optional-fields", "--latency-deletes-ms", "7"]
    with run_simulator(
        systems=2, latency_profile="realistic", allow_duplicate_replicas=True, extra_args=flags
    ) as sim:
        config = sim.admin("GET", "/_sim/config")
        assert config["latency"] == {"reads": 20, "creates": 150, "actions": 150, "deletes": 7}
        assert config["max_concurrent_inits"] == 8  # the realistic profile's limit
        assert config["auto_suspend_after_seconds"] == 24 * 3600
        assert (config["require_remote_auth"], config["null_optional_fields"]) == (True, True)
        assert config["allow_duplicate_replicas"] is True
    with run_simulator(systems=2, max_concurrent_inits=0, auto_suspend_after_seconds=5) as sim:
        config = sim.admin("GET", "/_sim/config")
        assert (config["max_concurrent_inits"], config["auto_suspend_after_seconds"]) == (None, 5)
        assert config["latency"]["creates"] == 0
