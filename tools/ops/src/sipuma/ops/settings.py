"""sipuma-dlq's settings: the same `SIPUMA_*` variables as the services (Kafka, topic prefix)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from sipuma.shared.settings import ServiceSettings


class OpsSettings(ServiceSettings):
    service: str = "ops"
    # Where each action's audit line is appended (JSON lines), besides the structured log.
    audit_file: Path = Field(
        Path.home() / ".local/state/sipuma/ops/dlq-audit.jsonl",
        description="SIPUMA_AUDIT_FILE: append-only JSON lines, one per action",
    )
    kafka_timeout_s: float = Field(15.0, gt=0)
