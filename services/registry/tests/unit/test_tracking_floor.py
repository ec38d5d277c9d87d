"""Found, unknown or malformed: every tracking answer waits out the same time floor, so timing
tells nothing. Proven with a controlled clock and a recorded pause, never by measuring."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sipuma.registry.domain import UnknownTicket
from sipuma.registry.problems import install_domain_problems
from sipuma.registry.rate_limit import TrackingRateLimiter
from sipuma.registry.tracking_api import tracking_router

pytestmark = pytest.mark.unit

FLOOR = 0.25


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.pauses: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def pause(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds


class Lookups:
    """Queries.track as seen from the router: the work takes `cost` seconds on the clock."""

    def __init__(self, clock: Clock, cost: float) -> None:
        self.clock, self.cost = clock, cost

    async def track(self, ticket: str) -> list[dict[str, Any]]:
        self.clock.now += self.cost
        if ticket != "7KQ2-M9XD-4HBT-0RZ1":
            raise UnknownTicket
        at = "2026-12-01T03:00:00Z"
        return [{"status": "registered", "at": at, "label": {"id": "Tercatat", "en": "x"}}]


@pytest.mark.parametrize("cost", [0.0, 0.01, 0.2, 0.4])
def test_every_answer_ends_at_the_same_floor(cost: float) -> None:
    clock = Clock()
    app = FastAPI()
    install_domain_problems(app)
    router = tracking_router(
        Lookups(clock, cost),  # type: ignore[arg-type]
        TrackingRateLimiter(per_minute=100),
        FLOOR,
        clock=clock,
        pause=clock.pause,
    )
    app.include_router(router)
    client = TestClient(app)
    spent = {}
    for name, ticket in (
        ("found", "7KQ2-M9XD-4HBT-0RZ1"),
        ("unknown", "7KQ2-M9XD-4HBT-0RZ0"),
        ("malformed", "not-a-ticket"),
    ):
        started = clock.now
        status = client.post("/v1/track", json={"ticket": ticket}).status_code
        assert status == (200 if name == "found" else 404)
        spent[name] = clock.now - started
    # Each answer took max(floor, work) on the clock: the same for all three.
    assert spent == pytest.approx(dict.fromkeys(spent, max(FLOOR, cost)))
    assert len(clock.pauses) == 3
