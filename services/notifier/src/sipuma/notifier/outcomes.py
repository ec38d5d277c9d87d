"""What an attempt comes to, as a `Decision` for the delivery log and, when final, the outcome
event that goes with it (`NotificationSent` / `NotificationFailed`, no address). No I/O."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sipuma.notifier.domain import (
    FAILED,
    PENDING,
    SENT,
    UNKNOWN_DETAIL,
    Actor,
    AttemptOutcome,
    Decision,
    Delivery,
    Outbox,
)
from sipuma.notifier.ports import Receipt
from sipuma.notifier.retry import DeliveryError
from sipuma.shared import pii
from sipuma.shared.events import Event, NotificationFailed, NotificationSent
from sipuma.shared.payloads import NotificationFailure


def sent(claimed: Delivery, receipt: Receipt) -> tuple[Decision, Event]:
    event = NotificationSent(
        **_event_base(claimed),
        channel=claimed.channel,
        attempts=claimed.attempts,
        provider=receipt.provider,
        provider_message_id=receipt.message_id,
    )
    decision = Decision(
        "sent",
        "owner",
        SENT,
        provider=receipt.provider,
        provider_message_id=receipt.message_id,
        outbox=outbox_of(event),
    )
    return decision, event


def retry(error: DeliveryError, at: datetime) -> Decision:
    """A transient failure with attempts left: pending again, due at `at`."""
    return Decision("retry", "owner", PENDING, next_attempt_at=at, error=last_error(error))


def failed(claimed: Delivery, error: DeliveryError) -> tuple[Decision, NotificationFailed]:
    """The owner gives up: a permanent failure, or a transient one with no attempt left."""
    reason = NotificationFailure.RETRIES_EXHAUSTED if error.transient else error.reason
    event = _failed_event(claimed, reason, error.detail)
    return _final_failure("failed", "owner", event, last_error(error)), event


def resend(now: datetime) -> Decision:
    """Recovery: the outcome of the dead owner's attempt is unknown; attempt it again now."""
    return Decision("unknown_resent", "recovery", PENDING, next_attempt_at=now)


def unknown_reported(
    stale: Delivery, reason: NotificationFailure
) -> tuple[Decision, NotificationFailed]:
    """Recovery: the outcome is unknown and is reported as a final failure, not resent."""
    event = _failed_event(stale, reason, UNKNOWN_DETAIL)
    return _final_failure("unknown_reported", "recovery", event, None), event


def last_error(error: DeliveryError) -> dict[str, Any]:
    return {"kind": error.kind.value, "reason": error.reason.value, "detail": error.detail}


def outbox_of(event: Event) -> Outbox:
    return Outbox(str(event.event_id), event.event_type, event.model_dump_json())


def _final_failure(
    outcome: AttemptOutcome, by: Actor, event: Event, error: dict[str, Any] | None
) -> Decision:
    return Decision(outcome, by, FAILED, error=error, outbox=outbox_of(event))


def _event_base(delivery: Delivery) -> dict[str, Any]:
    return {
        "source": "notifier",
        "correlation_id": delivery.correlation_id,
        "office_code": delivery.office_code,
        "complaint_id": uuid.UUID(delivery.complaint_id),
        "ticket_event_id": uuid.UUID(delivery.ticket_event_id),
    }


def _failed_event(
    delivery: Delivery, reason: NotificationFailure, detail: str
) -> NotificationFailed:
    return NotificationFailed(
        **_event_base(delivery),
        channel=delivery.channel,
        attempts=max(1, delivery.attempts),
        reason=reason,
        final=True,
        detail=pii.mask_text(detail)[:500],
    )
