"""Registry settings: `SIPUMA_*` environment variables, built once in `main.py`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator

from sipuma.registry.deadlines import DEFAULT_STAGES, Stage
from sipuma.registry.domain import (
    DEFAULT_DESTINATIONS,
    DEFAULT_NUMBER_FORMAT,
    Destination,
    validate_number_format,
)
from sipuma.shared.settings import (
    DEV_SECRET_PREFIX,
    IdentityAtRestSettings,
    StaffApiSettings,
    StoreSettings,
)


class RegistrySettings(IdentityAtRestSettings, StaffApiSettings, StoreSettings):
    service: str = "registry"
    # README "Roles": all = consumers, calendar and the whole API; reports = the staff read side
    # alone (list, search, downloads, statistics), no Kafka, no calendar: a small process.
    registry_role: Literal["all", "reports"] = "all"
    http_port: int = Field(8002, ge=1, le=65535)
    mongo_database: str = "sipuma_registry"
    consumer_group: str = "registry"
    register_number_format: str = DEFAULT_NUMBER_FORMAT
    ticket_hash_key: SecretStr = SecretStr(DEV_SECRET_PREFIX + "registry-ticket-hash-key")
    offices_file: Path | None = None
    # Possible-duplicate hint (docs/identity.md): the blind index key of NIK/phone, and how far
    # back earlier filings by the same complainant are looked for.
    complainant_index_key: SecretStr = SecretStr(DEV_SECRET_PREFIX + "registry-complainant-index")
    duplicate_window_days: int = Field(30, ge=1, le=3660)
    # How often the outbox relay looks for entries whose fast publish did not happen.
    outbox_interval_seconds: float = Field(1.0, gt=0)
    # Records taken per poll and complaints handled at once; each poll is committed whole. The
    # whole poll at once: its handlers then move in step and share each grouped store command
    # (measured, issue 15: 0.28 store commands per complaint against 1.26 with 64 lanes of 200).
    consumer_batch_size: int = Field(200, ge=1, le=10_000)
    consumer_concurrency: int = Field(200, ge=1, le=1000)
    # Bytes the producer gathers per partition into one batch. aiokafka has one produce
    # request per broker in flight (a batch per partition in it); at its default 16 KiB a
    # poll's ~400 events (~1 KiB each) went as ~25 requests one after another, each waiting
    # for acks=all, the handlers parked in `add_message` until a batch drained (issue 15:
    # ~4.5 % of bench (b)'s samples). A batch must stay under the broker's message.max.bytes
    # (1 MiB by default).
    producer_max_batch_bytes: int = Field(256 * 1024, ge=16 * 1024, le=512 * 1024)
    track_requests_per_minute: int = Field(20, ge=1)
    track_max_clients: int = Field(100_000, ge=1, description="Client addresses remembered")
    track_min_seconds: float = Field(0.05, ge=0, description="Floor on the tracking answer time")
    recover_on_start: bool = True
    # Where a complaint may be forwarded (units and external bodies); JSON list of {code, name}.
    forward_destinations: list[Destination] = Field(
        default_factory=lambda: list(DEFAULT_DESTINATIONS), min_length=1
    )
    # A replica that died holds its partitions until the session times out (Kafka's minimum is
    # 6 s by default); a restarted one with the same instance id takes them back at once.
    consumer_session_timeout_ms: int = Field(10_000, ge=1000)
    consumer_heartbeat_interval_ms: int = Field(3_000, ge=100)
    consumer_instance_id: str | None = None

    # Working-day deadlines (deadlines.py, README "Working-day deadlines"): the stages as JSON,
    # e.g. SIPUMA_DEADLINE_STAGES='[{"name":"verification","status":"registered","working_days":3}]'
    deadline_stages: tuple[Stage, ...] = DEFAULT_STAGES
    collective_leave_file: Path | None = None  # cuti bersama; default: the reviewed file shipped
    # Kategori pengaduan (categories.py): default: the reviewed file shipped, UKI to confirm.
    complaint_categories_file: Path | None = None
    deadline_check_seconds: float = Field(60.0, gt=0, description="How often reminders are due")
    deadline_watch: bool = True  # off: this replica runs no reminder pass (another one does)

    @field_validator("register_number_format")
    @classmethod
    def _format(cls, value: str) -> str:
        return validate_number_format(value)
