"""Analytics consumer settings: `SIPUMA_*` environment variables, built once in `main.py`."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from sipuma.shared.settings import ServiceSettings


class AnalyticsSettings(ServiceSettings):
    service: str = "analytics"
    consumer_group: str = "analytics"  # only a name: positions live in DuckDB, not in Kafka
    duckdb_path: Path = Path("analytics.duckdb")
    parquet_dir: Path = Path("analytics-parquet")
    offices_file: Path | None = None
    poll_max_records: int = Field(1000, ge=1, le=100_000)
    poll_timeout_ms: int = Field(1000, ge=10)
