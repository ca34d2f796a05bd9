"""The pure parts of tools/image: which mirror debootstrap uses, what pip and podman are told."""

from __future__ import annotations

import configparser
import tomllib
from pathlib import Path

from replica_image.base import BaseSpec, debian_mirror
from replica_image.build import CA_IN_BUILD, build_pip_conf, parse_pip_config_list
from replica_image.host import ULIMIT, containers_conf_text

DEB822 = """\
Types: deb
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
"""


def test_the_mirror_comes_from_the_deb822_stanza_of_the_suite(tmp_path: Path) -> None:
    (tmp_path / "debian.sources").write_text(DEB822)
    assert debian_mirror("bookworm", tmp_path, tmp_path / "absent.list") == "http://mirror.example/debian"
    assert (
        debian_mirror("bookworm-security", tmp_path, tmp_path / "absent.list")
        == "http://mirror.example/debian-security"
    )


def test_the_mirror_comes_from_a_one_line_source_else_debians_default(tmp_path: Path) -> None:
    sources = tmp_path / "sources.list"
    sources.write_text(
        "# comment\ndeb-src http://src.example/debian bookworm main\n"
        "deb [signed-by=/k.gpg] http://one.example/debian bookworm main\n"
    )
    assert debian_mirror("bookworm", tmp_path, sources) == "http://one.example/debian"
    assert debian_mirror("trixie", tmp_path, sources) == "http://deb.debian.org/debian"


def test_pip_settings_of_files_and_environment_are_read_and_only_registry_ones_carry_over() -> None:
    listed = (
        "global.cert='/etc/ssl/certs/ca-certificates.crt'\n"
        "global.index-url='https://mirror.example/simple'\n"
        "site.index-url='https://ignored.example/simple'\n"
        ":env:.default-timeout='180'\n"
        ":env:.find-links='/opt/wheels'\n"
        ":env:.index-url='https://env.example/simple'\n"
    )
    settings = parse_pip_config_list(listed)
    assert settings == {
        "cert": "/etc/ssl/certs/ca-certificates.crt",
        "index-url": "https://env.example/simple",  # PIP_INDEX_URL wins over the file, as in pip
        "default-timeout": "180",
        "find-links": "/opt/wheels",
    }
    config = configparser.ConfigParser()
    config.read_string(build_pip_conf(settings | {"cert": "/host/only/ca.pem"}))
    assert dict(config["global"]) == {
        "cert": CA_IN_BUILD,  # where the build mounts the host's bundle, not the host's path
        "disable-pip-version-check": "true",
        "default-timeout": "180",
        "index-url": "https://env.example/simple",
    }


def test_containers_conf_sets_what_podman_needs_here() -> None:
    conf = tomllib.loads(containers_conf_text())
    (nofile,) = [limit for limit in conf["containers"]["default_ulimits"] if limit.startswith("nofile=")]
    soft, hard = (int(value) for value in nofile.removeprefix("nofile=").split(":"))
    assert soft == hard
    assert 0 < soft <= ULIMIT
    assert f"nproc={ULIMIT}:{ULIMIT}" in conf["containers"]["default_ulimits"]
    assert conf["engine"] == {"runtime": "runc", "cgroup_manager": "cgroupfs", "events_logger": "file"}


def test_the_base_is_keyed_by_suite_and_packages() -> None:
    base = BaseSpec()
    assert base.image.startswith("localhost/iro-base:bookworm-")
    assert BaseSpec(packages=tuple(reversed(base.packages))).image == base.image  # order does not matter
    assert BaseSpec(suite="trixie").image != base.image
    assert BaseSpec(packages=(*base.packages, "tini")).archive != base.archive
    assert {"python3", "python3-venv", "python-is-python3", "ca-certificates"} <= set(base.packages)
