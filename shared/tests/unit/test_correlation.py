"""X-Correlation-ID: kept when usable, created otherwise, bound for logs and events."""

from __future__ import annotations

import pytest
import structlog
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sipuma.shared.correlation import (
    HEADER,
    CorrelationIdMiddleware,
    correlation_scope,
    current_correlation_id,
)

pytestmark = pytest.mark.unit


def make_client() -> TestClient:
    app = FastAPI()
    app.add_middleware(CorrelationIdMiddleware)

    @app.get("/who")
    async def who() -> dict[str, object]:
        return {
            "current": current_correlation_id(),
            "logged": structlog.contextvars.get_contextvars().get("correlation_id"),
        }

    return TestClient(app)


def test_incoming_id_is_kept_bound_and_echoed() -> None:
    answer = make_client().get("/who", headers={HEADER: "req-123"})
    assert answer.json() == {"current": "req-123", "logged": "req-123"}
    assert answer.headers[HEADER] == "req-123"


@pytest.mark.parametrize("sent", [None, "", "x" * 200, "bad id\n", "a@b.id"])
def test_missing_or_unsafe_ids_are_replaced(sent: str | None) -> None:
    headers = {HEADER: sent} if sent is not None else {}
    answer = make_client().get("/who", headers=headers)
    created = answer.headers[HEADER]
    assert created != sent and len(created) == 32
    assert answer.json()["current"] == created


def test_scope_sets_and_restores() -> None:
    with correlation_scope("outer", event_id="e1"):
        assert current_correlation_id() == "outer"
        assert structlog.contextvars.get_contextvars()["event_id"] == "e1"
    assert structlog.contextvars.get_contextvars().get("correlation_id") is None
    assert current_correlation_id() != current_correlation_id()  # fresh outside any scope
