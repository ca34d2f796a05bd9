"""The chart's PrometheusRule and Grafana dashboard, checked with the real promtool.

The rules are rendered from the chart by the real helm (what a user installs), then
``promtool check rules`` and ``promtool test rules`` run them on series shaped like the operator's
own: each series has exactly the labels its metric declares in the operator's registry, plus the
target labels a prometheus-operator ServiceMonitor scrape adds (which renames the per-object label
``namespace`` to ``exported_namespace``). Every metric named by a rule or a dashboard query must
exist in the operator's registry.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.shipping.helpers import CHART, Helm
from tests.unit.shipping.alert_series import cases
from tests.unit.shipping.operator_metrics import exported

DASHBOARD = CHART / "dashboards" / "infinibox-replica-operator.json"
RULE_NAMES = {
    "InfiniBoxReplicaRPOExceeded",
    "InfiniBoxReplicaAutoSuspended",
    "InfiniBoxArrayDisconnected",
    "InfiniBoxTypeChangeDeferred",
    "InfiniBoxReplicaDeletionBlocked",
    "InfiniBoxReplicaOperatorLeaderMissing",
}
PROMTOOL_TIMEOUT_SECONDS = 120


@pytest.fixture(scope="module")
def promtool() -> Path:
    from controlplane.binaries import ensure_promtool

    return ensure_promtool()


@pytest.fixture(scope="module")
def rules(helm: Helm) -> list[dict[str, Any]]:
    """The rule groups of the PrometheusRule the chart renders with prometheusRule.enabled."""
    (rule,) = helm.template(
        "--set", "prometheusRule.enabled=true", "--show-only", "templates/prometheusrule.yaml"
    )
    assert rule["kind"] == "PrometheusRule"
    groups: list[dict[str, Any]] = rule["spec"]["groups"]
    return groups


@pytest.fixture
def rule_file(rules: list[dict[str, Any]], tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": rules}))
    return path


def _promtool(promtool: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(promtool), *args], capture_output=True, text=True, timeout=PROMTOOL_TIMEOUT_SECONDS, check=False
    )
    assert result.returncode == 0, f"promtool {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


def test_chart_renders_the_six_alerts(rules: list[dict[str, Any]]) -> None:
    assert {rule["alert"] for group in rules for rule in group["rules"]} == RULE_NAMES


def test_promtool_check_rules(promtool: Path, rule_file: Path) -> None:
    assert "SUCCESS: 6 rules found" in _promtool(promtool, "check", "rules", str(rule_file)).stdout


def test_promtool_test_rules(promtool: Path, rule_file: Path, tmp_path: Path) -> None:
    spec = {"rule_files": [rule_file.name], "evaluation_interval": "1m", "tests": cases()}
    test_file = tmp_path / "alerts_test.yaml"
    test_file.write_text(yaml.safe_dump(spec, sort_keys=False))
    assert "SUCCESS" in _promtool(promtool, "test", "rules", str(test_file)).stdout


# -- every metric named exists in the operator ---------------------------------------------------
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}
_STRING = re.compile(r'"(?:\\.|[^"\\])*"')
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_MATCHERS_OR_RANGE = re.compile(r"\{[^}]*\}|\[[^\]]*\]")
_IDENTIFIER = re.compile(r"[A-Za-z_:][\w:]*")


def metric_names(expr: str) -> set[str]:
    """The metrics a PromQL expression selects: identifiers that are no function, keyword or label."""
    text = _MATCHERS_OR_RANGE.sub(" ", _GROUPING.sub(" ", _STRING.sub('""', expr)))
    names = set()
    for match in _IDENTIFIER.finditer(text):
        if match.group() not in _KEYWORDS and not text[match.end() :].lstrip().startswith("("):
            names.add(match.group())
    return names


def _dashboard_queries() -> list[str]:
    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if isinstance(node.get("expr"), str):
                yield node["expr"]
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    return list(walk(json.loads(DASHBOARD.read_text())))


def test_metric_names_are_read_from_promql() -> None:
    expr = (
        'sum by (le, array) (rate(infinibox_poll_duration_seconds_bucket{result!="ok"}[5m])) > 0 or absent(x)'
    )
    assert metric_names(expr) == {"infinibox_poll_duration_seconds_bucket", "x"}


def test_every_metric_the_rules_name_is_exported(rules: list[dict[str, Any]]) -> None:
    named = {name for group in rules for rule in group["rules"] for name in metric_names(rule["expr"])}
    assert named, "no metric found in the rules"
    assert sorted(named - set(exported())) == []


def test_every_metric_the_dashboard_queries_is_exported() -> None:
    queries = _dashboard_queries()
    assert len(queries) >= 10
    named = set().union(*(metric_names(query) for query in queries))
    assert sorted(named - set(exported())) == []


def test_dashboard_queries_are_valid_promql(promtool: Path, tmp_path: Path) -> None:
    """promtool parses each query as a recording rule (Grafana's range variables as 5m)."""
    rules = [
        {
            "record": f"dashboard:query_{number}",
            "expr": re.sub(r"\$__(rate_interval|range|interval)", "5m", query),
        }
        for number, query in enumerate(_dashboard_queries())
    ]
    path = tmp_path / "dashboard-rules.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    assert f"SUCCESS: {len(rules)} rules found" in _promtool(promtool, "check", "rules", str(path)).stdout


def test_dashboard_is_grafana_json_with_a_datasource_variable() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "infinibox-replica-operator"
    assert [v["name"] for v in dashboard["templating"]["list"]] == ["datasource"]
    panels = [panel for panel in dashboard["panels"] if panel["type"] != "row"]
    assert all(panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"} for panel in panels)
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])


def test_dashboard_configmap_carries_the_file_and_the_sidecar_label(helm: Helm) -> None:
    (configmap,) = helm.template(
        "--set", "grafanaDashboard.enabled=true", "--show-only", "templates/dashboard-configmap.yaml"
    )
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(configmap["data"]["infinibox-replica-operator.json"]) == json.loads(
        DASHBOARD.read_text()
    )


def test_rules_and_dashboard_are_off_by_default(helm: Helm) -> None:
    kinds = {obj["kind"] for obj in helm.template()}
    assert "PrometheusRule" not in kinds
    names = {obj["metadata"]["name"] for obj in helm.template() if obj["kind"] == "ConfigMap"}
    assert not any(name.endswith("-dashboard") for name in names)


def test_selector_and_alert_values_reach_the_rules(helm: Helm) -> None:
    (rule,) = helm.template(
        "--set",
        "prometheusRule.enabled=true",
        "--set",
        'prometheusRule.selector=job="iro-metrics"',
        "--set",
        "prometheusRule.alerts.InfiniBoxArrayDisconnected.enabled=false",
        "--set",
        "prometheusRule.alerts.InfiniBoxTypeChangeDeferred.for=12h",
        "--set",
        "prometheusRule.additionalAlertLabels.team=storage",
        "--show-only",
        "templates/prometheusrule.yaml",
    )
    by_name = {r["alert"]: r for group in rule["spec"]["groups"] for r in group["rules"]}
    assert set(by_name) == RULE_NAMES - {"InfiniBoxArrayDisconnected"}
    assert by_name["InfiniBoxTypeChangeDeferred"]["for"] == "12h"
    for alerting in by_name.values():
        assert alerting["labels"]["team"] == "storage"
        assert all('job="iro-metrics"' in selector for selector in re.findall(r"\{[^}]*\}", alerting["expr"]))
