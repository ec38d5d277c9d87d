"""The notifier's vocabulary and rules, without I/O.

A **delivery** is one ticket number to one channel (e-mail or SMS) of one complainant, recorded
once (its key is ticket + channel) and then attempted until it is final:

    pending --claim--> claimed --commit--> sending --owner decides--> sent | failed  (final)
    claimed | sending --owner decides: retry later--> pending
    claimed, lease over (never committed) --claimed again--> claimed
    sending, lease over (owner died mid-call) --recovery--> pending (resend) | failed (report)

Each step is decided by the delivery log (`ports.DeliveryLog`) atomically: of several racing
callers exactly one wins. A **decision** is what one attempt came to: the delivery's next state
and the attempt's line in the history, written together or not at all.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sipuma.shared.payloads import NotificationChannel

Language = Literal["id", "en"]
UnknownOutcome = Literal["report", "resend"]  # what recovery does when an outcome is unknown
Actor = Literal["owner", "recovery"]
# What an attempt left in the history.
AttemptOutcome = Literal["sent", "failed", "retry", "unknown_resent", "unknown_reported"]

EMAIL, SMS = NotificationChannel.EMAIL.value, NotificationChannel.SMS.value
PENDING, CLAIMED, SENDING, SENT, FAILED = "pending", "claimed", "sending", "sent", "failed"
FINAL = (SENT, FAILED)
UNKNOWN_DETAIL = "outcome unknown: the notifier stopped during the provider call; not resent"


class ClaimLost(Exception):
    """The attempt was claimed over (its lease ran out) before it could be committed."""


def delivery_id(ticket_number: str, channel: str) -> str:
    """`<channel>:<sha256(ticket number)[:32]>`: unique per ticket and channel, and the plain
    ticket number is not the key."""
    digest = hashlib.sha256(ticket_number.encode("utf-8")).hexdigest()[:32]
    return f"{channel}:{digest}"


@dataclass(frozen=True)
class Job:
    """The personal data an open delivery needs; dropped by the final decision."""

    address: str
    ticket_number: str
    register_number: str | None


@dataclass(frozen=True)
class Delivery:
    key: str
    channel: str
    state: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    updated_at: datetime
    ticket_event_id: str
    complaint_id: str
    office_code: str
    correlation_id: str
    language: Language
    job: Job | None = None  # None once final
    owner: str | None = None  # who holds the current attempt (claimed / sending)
    lease_until: datetime | None = None
    claimed_at: datetime | None = None
    attempt_started_at: datetime | None = None  # the commit: from here the outcome is unknown

    @property
    def final(self) -> bool:
        return self.state in FINAL

    @property
    def reference(self) -> str:
        """Stable per delivery: the Message-ID and the Idempotency-Key, so a resend is known."""
        return self.key.replace(":", "-")


@dataclass(frozen=True)
class Outbox:
    """An outcome event written with the final decision, published once that is durable."""

    event_id: str
    event_type: str
    json: str


@dataclass(frozen=True)
class PendingOutcome:
    """A decided delivery whose outcome event Kafka has not taken yet."""

    key: str
    outbox: Outbox


@dataclass(frozen=True)
class Decision:
    """What attempt `Delivery.attempts` came to. `by`: the attempt's owner, or recovery once a
    committed attempt's lease is over (the owner presumably died in the provider call)."""

    outcome: AttemptOutcome
    by: Actor
    state: str  # PENDING (another attempt at `next_attempt_at`), SENT or FAILED
    next_attempt_at: datetime | None = None
    error: dict[str, Any] | None = None  # kind, reason, detail: no personal data
    provider: str | None = None
    provider_message_id: str | None = None
    outbox: Outbox | None = None  # final decisions: the outcome event

    @property
    def final(self) -> bool:
        return self.state in FINAL
