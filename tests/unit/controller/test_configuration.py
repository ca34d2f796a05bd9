"""What makes an InfiniBox's configuration unusable, said without repeating a secret."""

from __future__ import annotations

import pytest

from replica_operator.controller.configuration import url_problem


@pytest.mark.parametrize(
    "url",
    ["https://ibox-1.example.com", "http://127.0.0.1:8080/", "https://[::1]:443/api", "https://h:65535"],
)
def test_usable_urls_have_no_problem(url: str) -> None:
    assert url_problem(url) is None


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("https://admin:pw-5e1@ibox-1", "must not carry credentials"),
        ("https://admin@ibox-1", "must not carry credentials"),
        ("https://ibox-1:99999", "port is 1-65535"),
        ("https://ibox-1:0", "a port is 1-65535"),
        ("https://ibox-1:https", "port is 1-65535"),
        ("ftp://ibox-1", "must look like https://host[:port]"),
        ("https://xn--.example", "check the host name"),
    ],
)
def test_unusable_urls_name_the_field_and_not_the_value(url: str, words: str) -> None:
    problem = url_problem(url)
    assert problem is not None
    assert problem.reason == "InvalidConfiguration"
    assert problem.message.startswith("spec.url")
    assert words in problem.message
    assert "pw-5e1" not in problem.message
