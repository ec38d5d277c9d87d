"""What each way an attempt ends becomes: the decision the log records (state, history line,
outbox) and the outcome event, and how the store writes a decision. No I/O."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from sipuma.notifier import outcomes
from sipuma.notifier.domain import FAILED, PENDING, SENT, UNKNOWN_DETAIL, Delivery, Job
from sipuma.notifier.ports import Receipt
from sipuma.notifier.retry import permanent, transient
from sipuma.notifier.store import decision_update, history_line
from sipuma.shared.events import NotificationFailed, NotificationSent
from sipuma.shared.payloads import NotificationFailure

pytestmark = pytest.mark.unit
NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def claimed(attempts: int = 1) -> Delivery:
    return Delivery(
        key="sms:abc",
        channel="sms",
        state="sending",
        attempts=attempts,
        next_attempt_at=NOW,
        created_at=NOW,
        updated_at=NOW,
        ticket_event_id=str(uuid.uuid4()),
        complaint_id=str(uuid.uuid4()),
        office_code="KPUBC-TPK-TJPRIOK",
        correlation_id="c-1",
        language="id",
        job=Job("+6281234567890", "AB12-CD34", None),
        owner="me",
        claimed_at=NOW,
        attempt_started_at=NOW + timedelta(seconds=1),
    )


def test_sent_is_final_with_its_event_in_the_outbox():
    decision, event = outcomes.sent(claimed(2), Receipt("http-json", "m-1"))
    assert isinstance(event, NotificationSent) and event.attempts == 2
    assert decision.state == SENT and decision.final and decision.by == "owner"
    assert decision.outbox is not None and decision.outbox.event_id == str(event.event_id)
    assert json.loads(decision.outbox.json)["provider_message_id"] == "m-1"


def test_a_transient_failure_is_retried_and_a_permanent_one_is_final():
    retry = outcomes.retry(transient("HTTP 503"), NOW + timedelta(seconds=4))
    assert retry.state == PENDING and not retry.final and retry.outbox is None
    assert retry.next_attempt_at == NOW + timedelta(seconds=4)
    assert retry.error == {"kind": "transient", "reason": "unavailable", "detail": "HTTP 503"}

    decision, event = outcomes.failed(
        claimed(), permanent(NotificationFailure.REJECTED, "HTTP 400")
    )
    assert decision.state == FAILED and decision.outcome == "failed"
    assert event.reason is NotificationFailure.REJECTED and event.final


def test_a_transient_failure_without_attempts_left_is_reported_as_exhausted():
    _, event = outcomes.failed(claimed(8), transient("HTTP 502"))
    assert event.reason is NotificationFailure.RETRIES_EXHAUSTED and event.attempts == 8


def test_recovery_resends_now_or_reports_the_unknown_outcome():
    resend = outcomes.resend(NOW)
    assert (resend.outcome, resend.by, resend.state) == ("unknown_resent", "recovery", PENDING)
    decision, event = outcomes.unknown_reported(claimed(), NotificationFailure.OTHER)
    assert (decision.outcome, decision.by, decision.state) == (
        "unknown_reported",
        "recovery",
        FAILED,
    )
    assert isinstance(event, NotificationFailed) and event.detail == UNKNOWN_DETAIL


def test_a_final_decision_drops_the_personal_data_and_fills_the_outbox():
    decision, event = outcomes.sent(claimed(), Receipt("smtp", "<x@y>"))
    update = decision_update(decision, NOW, {"attempt": 1})
    assert update["$unset"] == {"owner": "", "lease_until": "", "job": ""}
    assert update["$set"]["outbox_pending"] is True
    assert update["$set"]["outbox"]["event_id"] == str(event.event_id)
    assert update["$set"]["finished_at"] == NOW and update["$set"]["provider"] == "smtp"


def test_a_retry_keeps_the_job_and_its_history_line_has_no_personal_data():
    attempt = claimed(3)
    decision = outcomes.retry(transient("SMTP 451 on recipient"), NOW + timedelta(seconds=2))
    line = history_line(attempt, decision, NOW, "t")
    update = decision_update(decision, NOW, line)
    assert "job" not in update["$unset"] and "outbox" not in update["$set"]
    assert update["$set"]["next_attempt_at"] == NOW + timedelta(seconds=2)
    # the line goes with the decision, in the same single-document update
    assert update["$push"] == {"history": line}
    assert line["attempt"] == 3 and line["outcome"] == "retry" and line["by"] == "owner"
    assert line["started_at"] == attempt.attempt_started_at
    assert attempt.job is not None
    assert attempt.job.address not in str(line) and attempt.job.ticket_number not in str(line)
