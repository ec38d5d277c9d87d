"""Alert rules and the Grafana dashboard: checked by promtool (syntax, then the unit tests in
deploy/prometheus/sipuma-alerts.test.yml), the PrometheusRule kept equal to the plain rules file,
and every metric a rule or panel reads is one the services export and docs/operations.md names."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

from tests.deploy import tools

pytestmark = [pytest.mark.unit, pytest.mark.timeout(tools.BUILD_TIMEOUT_S)]

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "sipuma-alerts.yml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "sipuma-alerts.test.yml"
PROMETHEUS_RULE = ROOT / "deploy" / "k8s" / "base" / "monitoring" / "prometheusrule.yaml"
DASHBOARD = ROOT / "deploy" / "k8s" / "base" / "monitoring" / "sipuma-dashboard.json"
OPERATIONS = ROOT / "docs" / "operations.md"
METRIC_MODULES = (
    "sipuma.shared.metrics",
    "sipuma.intake.metrics",
    "sipuma.registry.metrics",
    "sipuma.evidence.metrics",
    "sipuma.notifier.metrics",
)
# Series Prometheus itself makes (not exported by a service).
PROMETHEUS_OWN = {"up"}
SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "gauge": ("",),
}


@pytest.fixture(scope="module")
def promtool() -> Path:
    return tools.ensure(tools.PROMTOOL)


@pytest.fixture(scope="module")
def exported() -> dict[str, str]:
    """Every series name the services export, to the metric (family) it belongs to."""
    for module in METRIC_MODULES:
        importlib.import_module(module)
    names: dict[str, str] = {}
    for family in REGISTRY.collect():
        if not family.name.startswith("sipuma_"):
            continue
        for suffix in SUFFIXES.get(family.type, ("",)):
            names[family.name + suffix] = family.name
    return names


def _metrics_in(expr: str) -> set[str]:
    without_strings = re.sub(r'"[^"]*"', '""', expr)
    return set(re.findall(r"\b(sipuma_[a-z0-9_]+)\b", without_strings)) | {
        name for name in PROMETHEUS_OWN if re.search(rf"\b{name}\b", without_strings)
    }


def _rules() -> list[dict[str, Any]]:
    loaded: dict[str, Any] = yaml.safe_load(RULES.read_text())
    return [rule for group in loaded["groups"] for rule in group["rules"]]


def test_promtool_accepts_the_rules(promtool: Path) -> None:
    result = subprocess.run(
        [str(promtool), "check", "rules", str(RULES)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_of_the_alerts_pass(promtool: Path) -> None:
    result = subprocess.run(
        [str(promtool), "test", "rules", str(RULE_TESTS)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=RULE_TESTS.parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_refuses_a_broken_rule(promtool: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(RULES.read_text().replace("> 1000", "> > 1000", 1))
    result = subprocess.run(
        [str(promtool), "check", "rules", str(broken)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0


def test_the_prometheus_rule_holds_the_same_groups_as_the_rules_file() -> None:
    resource = yaml.safe_load(PROMETHEUS_RULE.read_text())
    assert resource["kind"] == "PrometheusRule"
    assert resource["spec"]["groups"] == yaml.safe_load(RULES.read_text())["groups"]


def test_the_issue_s_alerts_are_all_there() -> None:
    names = {rule["alert"] for rule in _rules()}
    assert {
        "SipumaConsumerLagHigh",
        "SipumaDeadLetters",
        "SipumaOutboxStale",
        "SipumaNotificationFailures",
        "SipumaServiceStandardAtRisk",
        "SipumaKafkaUnreachable",
        "SipumaStoreUnreachable",
        "SipumaMinioUnreachable",
    } <= names
    runbook = OPERATIONS.read_text()
    for rule in _rules():
        anchor = rule["annotations"]["runbook"].split("#", 1)[1]
        assert f"### {rule['alert']}" in runbook and anchor == rule["alert"].lower()


def test_every_metric_a_rule_reads_is_exported(exported: dict[str, str]) -> None:
    for rule in _rules():
        for name in _metrics_in(rule["expr"]) - PROMETHEUS_OWN:
            assert name in exported, f"{rule['alert']}: {name} is not exported by any service"


def test_the_dashboard_parses_and_reads_only_exported_metrics(exported: dict[str, str]) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["schemaVersion"] >= 36
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            for name in _metrics_in(target["expr"]) - PROMETHEUS_OWN:
                assert name in exported, f"panel {panel['title']!r}: {name} is not exported"


def test_every_exported_metric_is_documented(exported: dict[str, str]) -> None:
    documented = OPERATIONS.read_text()
    for family in sorted(set(exported.values())):
        assert f"`{family}" in documented, f"{family} is not in docs/operations.md"
