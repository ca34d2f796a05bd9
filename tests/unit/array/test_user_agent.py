"""The User-Agent names the pod, so an array's audit log (and the simulator's) tells the pods apart."""

from __future__ import annotations

import pytest

from replica_operator import __version__
from replica_operator.array.session import user_agent


def test_the_user_agent_names_the_pod(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POD_NAME", "op-a")
    assert user_agent() == f"infinibox-replica-operator/{__version__} (op-a)"
    monkeypatch.delenv("POD_NAME")
    assert user_agent() == f"infinibox-replica-operator/{__version__}"
