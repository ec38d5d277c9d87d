"""SIPUMA_REGISTRY_ROLE (README "Roles"): the `reports` process loads neither the Kafka client nor
the holiday calendar (what kept the registry above 100 MiB, docs/benchmarks.md (x)), and serves the
staff read side, a part of what the `all` role serves."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from fastapi import FastAPI

from sipuma.registry.main import build
from sipuma.registry.read_side import build_reports
from sipuma.registry.settings import RegistrySettings

pytestmark = pytest.mark.unit
# Nothing connects at build time: an address nobody answers is enough.
UNREACHABLE = "mongodb://127.0.0.1:9/"

PROBE = """
import sys
from sipuma.registry import cli
from sipuma.registry.read_side import build_reports
from sipuma.registry.settings import RegistrySettings
build_reports(RegistrySettings(registry_role="reports", mongo_uri="mongodb://127.0.0.1:9/"))
heavy = ("faststream", "aiokafka", "holidays", "sipuma.registry.main", "sipuma.registry.handlers")
print(" ".join(name for name in heavy if name in sys.modules))
"""


def test_the_reports_role_loads_neither_kafka_nor_the_holiday_calendar() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIPUMA_")}
    found = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        stdin=subprocess.DEVNULL,
    )
    assert found.stdout.strip() == "", found.stdout


def _routes(app: FastAPI) -> set[tuple[str, str]]:
    """(METHOD, path) of every operation, as the OpenAPI document lists them."""
    return {
        (method.upper(), path) for path, item in app.openapi()["paths"].items() for method in item
    }


def test_the_reports_role_serves_the_read_side_which_the_all_role_serves_too() -> None:
    reports = build_reports(RegistrySettings(registry_role="reports", mongo_uri=UNREACHABLE))
    everything = build(RegistrySettings(mongo_uri=UNREACHABLE))
    assert everything.settings.registry_role == "all"  # the default
    routes, all_routes = _routes(reports.app), _routes(everything.app)
    assert {
        ("GET", "/v1/complaints"),
        ("POST", "/v1/complaints/search"),
        ("GET", "/v1/statistics"),
        ("GET", "/v1/statistics/complaints"),
        ("GET", "/v1/reports/service-standard"),
        ("GET", "/v1/overdue"),
    } <= routes
    assert routes < all_routes
    # Changes (outbox, calendar), the audited identity and the public tracking stay in `all`.
    kept = {"/v1/complaints/{register_number}", "/v1/complaints/{register_number}/status"}
    kept.add("/v1/track")
    assert kept <= {path for _, path in all_routes}
    assert not {path for _, path in routes} & kept
