"""Notifier settings: `SIPUMA_*` environment variables, built once in `main.py`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator

from sipuma.notifier.domain import UnknownOutcome
from sipuma.shared.settings import IdentityAtRestSettings, StoreSettings

SmsProvider = Literal["generic", "zenziva"]


class NotifierSettings(IdentityAtRestSettings, StoreSettings):
    service: str = "notifier"
    http_port: int = Field(8004, ge=1, le=65535)
    mongo_database: str = "sipuma_notifier"
    deliveries_collection: str = "deliveries"
    consumer_group: str = "notifier"
    offices_file: Path | None = None

    # Message content (the language is the complainant's, `TicketIssued.contact.language`)
    tracking_url: str = "https://sipuma.beacukai.go.id/lacak"
    sender_name: str = "SIPUMA Bea Cukai"

    # E-mail (SMTP)
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(1025, ge=1, le=65535)
    smtp_starttls: bool = False
    smtp_implicit_tls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "no-reply@sipuma.beacukai.go.id"
    smtp_timeout_seconds: float = Field(10.0, gt=0)
    # Open SMTP connections kept and used at most at a time (each reused for up to
    # smtp_messages_per_connection messages, closed after smtp_idle_seconds unused). 16: the
    # attempts in flight share the store's round trips (claims, commits, decisions), so 8 -> 16
    # took a third of the store commands per e-mail (issue 15); still under common relays'
    # per-client limits (Exchange's MaxInboundConnectionPerSource 20, Postfix's 50).
    smtp_connections: int = Field(16, ge=1)
    smtp_messages_per_connection: int = Field(100, ge=1)
    smtp_idle_seconds: float = Field(30.0, gt=0)
    email_rate_per_second: float = Field(100.0, gt=0)

    # SMS gateway
    sms_provider: SmsProvider = "generic"
    sms_gateway_url: str = "http://127.0.0.1:8026/sms"
    sms_api_key: SecretStr | None = None  # generic: Bearer token; zenziva: passkey
    sms_user_key: str | None = None  # zenziva: userkey
    sms_timeout_seconds: float = Field(10.0, gt=0)
    sms_rate_per_second: float = Field(5.0, gt=0)

    # Retries: attempt n waits min(max, base * 2**(n-1)) with full jitter.
    retry_max_attempts: int = Field(8, ge=1)
    retry_base_seconds: float = Field(2.0, gt=0)
    retry_max_seconds: float = Field(900.0, gt=0)
    # A claimed delivery whose owner does not record an outcome within the lease is recovered.
    lease_seconds: float = Field(60.0, gt=0)
    # What recovery does, per channel, with a delivery whose provider call may or may not have
    # reached the provider (the owner died mid-call): send it again with the same Message-ID /
    # Idempotency-Key, or report it as failed without resending. SMS: None = "resend" when the
    # provider deduplicates on the Idempotency-Key (generic), "report" otherwise (zenziva).
    # See README "The duplicate window".
    unknown_outcome_email: UnknownOutcome = "resend"
    unknown_outcome_sms: UnknownOutcome | None = None
    # TicketIssued records taken per poll (one batch in flight, committed once it is recorded),
    # tickets recorded at once, and how long an idle poll waits for the first record.
    consumer_batch_size: int = Field(100, ge=1)
    consumer_concurrency: int = Field(16, ge=1)
    consumer_batch_wait_ms: int = Field(100, ge=1)
    # Deadline reminders to staff (staff_alerts.py): office → role → addresses (JSON file).
    staff_contacts_file: Path | None = None
    staff_alerts_collection: str = "staff_alerts"
    staff_consumer_group: str = "notifier-staff"
    erasure_consumer_group: str = "notifier-erasures"
    dispatch_interval_seconds: float = Field(1.0, gt=0)
    dispatch_batch: int = Field(50, ge=1)
    # Attempts running at a time (the worker pool), and deliveries queued for it in memory.
    dispatch_concurrency: int = Field(32, ge=1)
    dispatch_queue: int = Field(1000, ge=1)

    @model_validator(mode="after")
    def _lease_outlasts_an_attempt(self) -> Self:
        # An SMTP send is several commands, each with the timeout: the lease must cover them all,
        # or a slow but live attempt would be recovered as "outcome unknown".
        slowest = max(self.smtp_timeout_seconds, self.sms_timeout_seconds)
        if self.lease_seconds < 1.5 * slowest:
            raise ValueError("lease_seconds must be at least 1.5 x the slowest send timeout")
        return self

    def unknown_outcome(self) -> dict[str, UnknownOutcome]:
        """Per channel (`email`, `sms`): what recovery does when an attempt's outcome is unknown."""
        sms = self.unknown_outcome_sms
        if sms is None:
            sms = "resend" if self.sms_provider == "generic" else "report"
        return {"email": self.unknown_outcome_email, "sms": sms}
