"""Intake configuration from SIPUMA_* environment variables (12-factor), on the shared base."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from sipuma.intake.domain import CompletenessRule
from sipuma.shared import topics
from sipuma.shared.settings import StaffApiSettings


class IntakeSettings(StaffApiSettings):
    service: str = "intake"
    http_port: int = Field(8001, ge=1, le=65535)
    state_dir: Path = Field(
        Path.home() / ".local/state/sipuma/data",
        description="SIPUMA_STATE_DIR: spool and idempotency files live in <state_dir>/intake",
    )
    offices_file: Path | None = None

    completeness_rule: CompletenessRule = Field(
        CompletenessRule.SOP,
        description="sop: name, address, phone or e-mail · strict: PER-13/BC/2025, all four",
    )
    register_wait_s: float = Field(2.0, ge=0, le=30, description="Wait for the register number")
    received_at_max_age_days: int = Field(
        30,
        ge=1,
        le=3660,
        description=(
            "How long ago a complaint may have been received (received_at) when it is recorded. "
            "The SOP records a hand-delivered complaint within 30 minutes, but a letter or the "
            "complaint box may be recorded days later; anything older is almost always a slip "
            "(a wrong year) and is refused with 422 received_at/too_old."
        ),
    )
    # The registry's HTTP API: staff address complaints by register number; it answers which
    # complaint that is, under the caller's own token (SIPUMA_REGISTRY_URL).
    registry_url: str = "http://127.0.0.1:8002"
    registry_timeout_s: float = Field(5.0, gt=0, le=60)
    max_body_bytes: int = Field(256 * 1024, ge=1024)
    spool_path: Path | None = None
    idempotency_path: Path | None = None
    idempotency_ttl_s: float = Field(48 * 3600, gt=0)
    status_lookback_s: float = Field(
        7 * 24 * 3600, ge=0, description="How far back each replica reads for the status book"
    )
    status_book_max_entries: int = Field(500_000, ge=1000)
    kafka_send_timeout_s: float = Field(3.0, gt=0)
    kafka_connect_wait_s: float = Field(5.0, ge=0)

    @field_validator("offices_file", "spool_path", "idempotency_path", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def topic_complaint_received(self) -> str:
        return self.topic(topics.COMPLAINT_RECEIVED)

    @property
    def topic_complaint_registered(self) -> str:
        return self.topic(topics.COMPLAINT_REGISTERED)

    @property
    def topic_duplicates_hinted(self) -> str:
        return self.topic(topics.COMPLAINT_DUPLICATES_HINTED)

    @property
    def topic_complaint_supplemented(self) -> str:
        return self.topic(topics.COMPLAINT_SUPPLEMENTED)

    @property
    def topic_contact_provided(self) -> str:
        return self.topic(topics.CONTACT_PROVIDED)

    @property
    def topic_register_number_communicated(self) -> str:
        return self.topic(topics.REGISTER_NUMBER_COMMUNICATED)

    @property
    def spool_file(self) -> Path:
        return self.spool_path or self.state_dir / "intake" / "spool.sqlite3"

    @property
    def idempotency_file(self) -> Path:
        return self.idempotency_path or self.state_dir / "intake" / "idempotency.sqlite3"
