"""Retry policy: which failures are worth another attempt, and when the next attempt is due.

Transient (retried): connection refused/reset, timeouts, SMTP 4xx, HTTP 408/425/429/5xx.
Permanent (not retried): SMTP 5xx (mailbox unknown, policy refusal), an invalid number, any other
HTTP 4xx (the gateway refused the request as such, so sending it again cannot help).

Retries are not slept inside the Kafka consumer: a transient failure is written to the delivery
log with `next_attempt_at = now + delay(attempt)` and the dispatcher loop picks it up when due, so
one slow recipient never holds back other tickets and a restart loses no schedule.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum

import aiosmtplib
import httpx

from sipuma.shared.payloads import NotificationFailure


class Kind(StrEnum):
    TRANSIENT = "transient"
    PERMANENT = "permanent"


class DeliveryError(Exception):
    """A failed attempt, classified. `detail` is technical text without any address or number."""

    def __init__(self, kind: Kind, reason: NotificationFailure, detail: str) -> None:
        super().__init__(f"{kind.value}/{reason.value}: {detail}")
        self.kind = kind
        self.reason = reason
        self.detail = detail[:300]

    @property
    def transient(self) -> bool:
        return self.kind is Kind.TRANSIENT


def transient(detail: str) -> DeliveryError:
    return DeliveryError(Kind.TRANSIENT, NotificationFailure.UNAVAILABLE, detail)


def permanent(reason: NotificationFailure, detail: str) -> DeliveryError:
    return DeliveryError(Kind.PERMANENT, reason, detail)


RETRYABLE_HTTP = frozenset({408, 425, 429})


def classify_http_status(status: int, detail: str = "") -> DeliveryError:
    text = f"HTTP {status}" + (f": {detail}" if detail else "")
    if status in RETRYABLE_HTTP or status >= 500:
        return transient(text)
    return permanent(NotificationFailure.REJECTED, text)


def classify_smtp_code(code: int, what: str) -> DeliveryError:
    text = f"SMTP {code} on {what}"
    if 400 <= code < 500:
        return transient(text)
    reason = (
        NotificationFailure.INVALID_RECIPIENT
        if what == "recipient"
        else NotificationFailure.REJECTED
    )
    return permanent(reason, text)


def classify(error: BaseException) -> DeliveryError:
    """Map a library exception to a classified `DeliveryError` (never includes message text that
    may echo the recipient: only codes and exception class names)."""
    if isinstance(error, DeliveryError):
        return error
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in error.recipients] or [550]
        return classify_smtp_code(min(codes), "recipient")
    if isinstance(error, aiosmtplib.SMTPRecipientRefused):
        return classify_smtp_code(error.code, "recipient")
    if isinstance(error, aiosmtplib.SMTPAuthenticationError):
        # A wrong password will not fix itself, but an operator can fix it: keep trying (loudly).
        return transient(f"SMTP {error.code} on authentication")
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return classify_smtp_code(error.code, type(error).__name__)
    if isinstance(error, httpx.HTTPStatusError):
        return classify_http_status(error.response.status_code)
    if isinstance(error, aiosmtplib.SMTPException | httpx.TransportError | OSError | TimeoutError):
        return transient(type(error).__name__)
    return permanent(NotificationFailure.OTHER, type(error).__name__)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And
    Jitter"): attempt n waits uniform(0, min(cap, base * 2**(n-1))), at least `floor` seconds."""

    base_seconds: float
    max_seconds: float
    max_attempts: int
    floor_seconds: float = 0.05

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** max(attempt - 1, 0))
        jittered = (rng or _RNG).uniform(0, ceiling)
        return max(self.floor_seconds, jittered)

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts


_RNG = random.SystemRandom()
