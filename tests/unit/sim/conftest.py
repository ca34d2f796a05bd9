"""The ``arrays`` fixture: two simulated systems on a manual clock, driven without HTTP."""

from __future__ import annotations

import pytest

from tests.unit.sim.arrays import Arrays


@pytest.fixture
def arrays() -> Arrays:
    return Arrays()
