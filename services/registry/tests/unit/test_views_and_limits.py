"""Pure folds (intake duration, notification outcome, timeline), SLA CSV and the rate limiter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sipuma.registry.sla import minutes, to_csv
from sipuma.registry.tracking import RateLimiter
from sipuma.registry.views import build_view, intake_done_at, timeline

pytestmark = pytest.mark.unit
T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


def fact(kind: str, at_minute: int, **data: object) -> dict[str, Any]:
    return {"type": f"sipuma.{kind}.v1", "at": T0 + timedelta(minutes=at_minute), "data": data}


def test_intake_ends_at_ticket_sent_or_number_told_whichever_first() -> None:
    told = fact("complaint.register-number-communicated", 12, outcome="told")
    unreachable = fact("complaint.register-number-communicated", 5, outcome="unreachable")
    sent = fact("notification.sent", 20, channel="email")
    assert intake_done_at([sent, told, unreachable]) == T0 + timedelta(minutes=12)
    assert intake_done_at([unreachable]) is None
    assert minutes(T0, T0 + timedelta(minutes=12)) == 12


def test_view_takes_the_latest_outcome_per_channel() -> None:
    complaint = {"_id": "c", "saved_at": T0}
    failed = fact("notification.failed", 3, channel="sms", reason="unavailable", final=False)
    sent = fact("notification.sent", 4, channel="sms", attempts=2)
    bounced = fact("notification.failed", 5, channel="email", reason="rejected", final=True)
    view = build_view(complaint, None, [], [failed, sent, bounced], [])
    assert view["status"] == "received"
    assert view["notifications"]["sms"]["status"] == "sent"
    assert view["notification_failed"] is True


def test_timeline_has_statuses_and_dates_only() -> None:
    number = {"number": "PGD/X/2026/000001", "at": T0}
    change = {"to": "verified", "at": T0 + timedelta(days=1), "note": "rahasia", "by": "uki"}
    steps = timeline({"saved_at": T0}, number, [change])
    assert [s["status"] for s in steps] == ["received", "registered", "verified"]
    assert all(set(s) == {"status", "at", "label"} for s in steps)


def test_csv_of_an_empty_report_still_has_its_header() -> None:
    empty: dict[str, list[dict[str, Any]]] = {"offices": [], "complaints": []}
    assert to_csv(empty).splitlines()[0].startswith("office_code,office_name,count")


def test_rate_limiter_window_slides() -> None:
    now = [0.0]
    limiter = RateLimiter(2, clock=lambda: now[0])
    assert [limiter.retry_after("a") for _ in range(3)] == [0, 0, 61]
    assert limiter.retry_after("b") == 0  # per client
    now[0] = 61
    assert limiter.retry_after("a") == 0
