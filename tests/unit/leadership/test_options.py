"""`replica-operator run`'s election options: defaults, identity, namespace, refused terms."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from replica_operator.cli import main
from replica_operator.leadership import default_identity, default_namespace


def test_the_defaults_are_client_gos() -> None:
    context = main.commands["run"].make_context("run", [])
    assert context.params["leader_elect"] is True
    assert context.params["leader_election_id"] == "infinibox-replica-operator"
    assert context.params["lease_duration"] == timedelta(seconds=15)
    assert context.params["renew_deadline"] == timedelta(seconds=10)
    assert context.params["retry_period"] == timedelta(seconds=2)


def test_durations_read_the_environment_like_every_option(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPLICA_OPERATOR_RETRY_PERIOD", "500ms")
    monkeypatch.setenv("REPLICA_OPERATOR_LEADER_ELECT", "false")
    context = main.commands["run"].make_context("run", [])
    assert context.params["retry_period"] == timedelta(milliseconds=500)
    assert context.params["leader_elect"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lease-duration=10s", "--renew-deadline=10s"], "longer than the renew deadline"),
        (["--retry-period=9s"], "longer than 1.2 x the retry period"),
        (["--lease-duration=soon"], "invalid duration 'soon'"),
    ],
)
def test_terms_that_cannot_work_stop_the_start(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["run", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_identity_is_the_pod_name_else_unique_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POD_NAME", "operator-7d9c-x2")
    assert default_identity() == "operator-7d9c-x2"
    monkeypatch.delenv("POD_NAME")
    assert default_identity() != default_identity()


def test_namespace_from_the_service_account_then_pod_namespace_then_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mounted = tmp_path / "namespace"
    mounted.write_text("infinibox-system\n")
    monkeypatch.setenv("POD_NAMESPACE", "elsewhere")
    assert default_namespace(mounted) == "infinibox-system"
    assert default_namespace(tmp_path / "absent") == "elsewhere"
    monkeypatch.delenv("POD_NAMESPACE")
    assert default_namespace(tmp_path / "absent") == "default"
