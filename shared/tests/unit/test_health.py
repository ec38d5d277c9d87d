"""/healthz, /readyz and /metrics."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sipuma.shared.health import health_router
from sipuma.shared.metrics import EVENTS_PUBLISHED

pytestmark = pytest.mark.unit


async def ok() -> None:
    return None


async def down() -> None:
    raise ConnectionError("mongodb://user:pw@db")


async def slow() -> None:
    await asyncio.sleep(5)


def client(**checks: object) -> TestClient:
    app = FastAPI()
    app.include_router(health_router(checks, timeout_seconds=0.2))  # type: ignore[arg-type]
    return TestClient(app)


def test_healthz_never_runs_checks() -> None:
    answer = client(kafka=down).get("/healthz")
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}


def test_readyz_when_everything_answers() -> None:
    answer = client(kafka=ok, store=ok).get("/readyz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ready", "checks": {"kafka": "ok", "store": "ok"}}


def test_readyz_names_failing_and_slow_checks_without_details() -> None:
    answer = client(kafka=ok, store=down, spool=slow).get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["checks"] == {"kafka": "ok", "store": "failing", "spool": "failing"}
    assert "pw" not in answer.text


def test_metrics_in_prometheus_format() -> None:
    EVENTS_PUBLISHED.labels(topic="t", event_type="x").inc()
    answer = client().get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert 'sipuma_events_published_total{event_type="x",topic="t"}' in answer.text


def test_readyz_exports_each_check_as_a_gauge_for_the_alerts() -> None:
    """`sipuma_readiness_check{check}` is what the "store/MinIO/Kafka unreachable" alerts read."""
    c = client(kafka=ok, storage=down)
    c.get("/readyz")
    text = c.get("/metrics").text
    assert 'sipuma_readiness_check{check="kafka"} 1.0' in text
    assert 'sipuma_readiness_check{check="storage"} 0.0' in text
    c = client(storage=ok)
    c.get("/readyz")
    assert 'sipuma_readiness_check{check="storage"} 1.0' in c.get("/metrics").text
