"""Pure folds (intake duration, notification outcome, timeline), SLA CSV and the rate limiter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sipuma.registry.rate_limit import TrackingRateLimiter
from sipuma.registry.sla import minutes
from sipuma.registry.views import build_view, intake_done_at, timeline

pytestmark = pytest.mark.unit
T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


def fact(kind: str, at_minute: int, **data: object) -> dict[str, Any]:
    return {"type": f"sipuma.{kind}.v1", "at": T0 + timedelta(minutes=at_minute), "data": data}


def test_intake_ends_at_ticket_sent_number_told_or_unreachable_whichever_first() -> None:
    told = fact("complaint.register-number-communicated", 12, outcome="told")
    unreachable = fact("complaint.register-number-communicated", 5, outcome="unreachable")
    sent = fact("notification.sent", 20, channel="email")
    # SOP step 6: a complainant who cannot be reached ends the intake too (issue 20, defect 7).
    assert intake_done_at([sent, told, unreachable]) == T0 + timedelta(minutes=5)
    assert intake_done_at([sent, told]) == T0 + timedelta(minutes=12)
    assert intake_done_at([unreachable]) == T0 + timedelta(minutes=5)
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
    steps = timeline({"received_at": T0, "saved_at": T0}, number, [change])
    assert [s["status"] for s in steps] == ["received", "registered", "verified"]
    assert all(set(s) == {"status", "at", "label"} for s in steps)


def test_received_on_the_timeline_is_the_receipt_time_not_the_save_time() -> None:
    """SOP: "Diterima" is when the officer received the complaint (an hour before it was
    saved here, e.g. entered after a queue), not when it was saved."""
    received = T0 - timedelta(hours=1)
    steps = timeline({"received_at": received, "saved_at": T0}, None, [])
    assert steps[0]["label"]["id"] == "Diterima"
    assert steps[0]["at"] == received


def test_rate_limiter_window_slides() -> None:
    now = [0.0]
    limiter = TrackingRateLimiter(2, clock=lambda: now[0])
    assert [limiter.retry_after("a") for _ in range(3)] == [0, 0, 61]
    assert limiter.retry_after("b") == 0  # per client
    now[0] = 61
    assert limiter.retry_after("a") == 0


def test_rotating_addresses_never_resets_a_client_that_keeps_asking() -> None:
    """Past the bound the least recently seen address is dropped, never all of them (the old
    limiter emptied every counter at 100,000 addresses)."""
    now = [0.0]
    limiter = TrackingRateLimiter(2, max_clients=100, clock=lambda: now[0])
    assert [limiter.retry_after("a"), limiter.retry_after("a")] == [0, 0]
    for i in range(1000):  # ten times the bound, within the same minute
        now[0] += 0.01
        assert limiter.retry_after(f"10.0.{i // 256}.{i % 256}") == 0
        if i % 10 == 0:
            assert limiter.retry_after("a") > 0, f"bucket of a reset after {i} addresses"
        assert len(limiter) <= 100


def test_idle_addresses_are_forgotten_first() -> None:
    now = [0.0]
    limiter = TrackingRateLimiter(1, max_clients=3, clock=lambda: now[0])
    limiter.retry_after("old")
    now[0] = 30
    limiter.retry_after("a")
    limiter.retry_after("b")
    now[0] = 61  # the window of "old" is empty now: it goes, the others stay
    limiter.retry_after("c")
    assert len(limiter) == 3
    assert limiter.retry_after("a") > 0 and limiter.retry_after("b") > 0
