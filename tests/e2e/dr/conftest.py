"""The two-site world, started once for the DR runbooks and stopped with everything it started."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.e2e.dr.world import NAMESPACE, World, two_sites
from tests.integration.operator.conftest import assert_password_nowhere
from tests.support.operator import assert_no_unexpected_tracebacks


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with two_sites() as world:
        yield world
        for site in (world.a, world.b):
            if site.operator.process is not None:
                log = site.operator.log()
                assert_no_unexpected_tracebacks(log, f"site {site.name}")
                assert_password_nowhere(site.cluster, NAMESPACE, log)
