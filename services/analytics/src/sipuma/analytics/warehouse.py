"""The DuckDB warehouse: one `events` table (a row per event id, the payload as JSON), typed
views per question (`schema.sql`), the read positions, and Parquet files partitioned by office
and local day.

Exactly-once effect: a batch's rows and the positions after it are written in one DuckDB
transaction, and `event_id` is the primary key (a duplicate publish, a replay over rows already
there, is ignored). A crash before the commit leaves neither; after it, both. So replaying from
offset 0 into an empty warehouse gives the same tables, row for row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb

SCHEMA = resources.files("sipuma.analytics").joinpath("schema.sql").read_text(encoding="utf-8")
# What a warehouse compares by: every table and view, its rows in a fixed order.
TABLES = (
    "events",
    "registered",
    "status_changes",
    "evidence",
    "notifications",
    "deadline_alerts",
    "categorisations",
    "complaint_categories",
)


@dataclass(frozen=True)
class Row:
    event_id: str
    event_type: str
    office_code: str
    day: date  # the office's local date of occurred_at
    complaint_id: str
    occurred_at: datetime
    payload: str  # the event as published (JSON); unknown fields kept


class Warehouse:
    def __init__(self, path: Path | str) -> None:
        self.db = duckdb.connect(str(path))
        self.db.execute("SET TimeZone = 'UTC'")
        self.db.execute(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def positions(self) -> dict[tuple[str, int], int]:
        """The next offset to read per (topic, partition)."""
        rows = self.db.execute("SELECT topic, part, next_offset FROM positions").fetchall()
        return {(topic, part): offset for topic, part, offset in rows}

    def ingest(
        self, rows: Sequence[Row], positions: dict[tuple[str, int], int], rejected: int = 0
    ) -> set[tuple[str, date]]:
        """One transaction: the new rows (duplicates ignored) and the positions after them.
        Answers the (office, day) partitions that got a row."""
        db = self.db
        db.execute("BEGIN TRANSACTION")
        try:
            if rows:
                db.executemany(
                    "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    [
                        (r.event_id, r.event_type, r.office_code, r.day, r.complaint_id,
                         r.occurred_at, r.payload)
                        for r in rows
                    ],
                )  # fmt: skip
            db.executemany(
                "INSERT OR REPLACE INTO positions VALUES (?, ?, ?)",
                [(topic, part, offset) for (topic, part), offset in positions.items()],
            )
            if rejected:
                db.execute("UPDATE counters SET rejected = rejected + ?", [rejected])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return {(r.office_code, r.day) for r in rows}

    def export(self, directory: Path, partitions: Iterable[tuple[str, date]] | None = None) -> int:
        """Rewrite the Parquet file of each (office, day) partition given (None: every one), as
        `office_code=<code>/day=<date>/events.parquet`, rows in event-id order (the same rows
        make the same file). Answers how many files were written."""
        if partitions is None:
            partitions = self.db.execute("SELECT DISTINCT office_code, day FROM events").fetchall()
        written = 0
        for office, day in sorted(set(partitions)):
            folder = directory / f"office_code={office}" / f"day={day.isoformat()}"
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / "events.parquet"
            # Office codes are validated identifiers and days are dates: safe to place in SQL.
            self.db.execute(
                f"COPY (SELECT event_id, event_type, complaint_id, occurred_at, payload "  # noqa: S608
                f"FROM events WHERE office_code = '{office}' AND day = DATE '{day}' "
                f"ORDER BY event_id) TO '{target}' (FORMAT parquet)"
            )
            written += 1
        return written

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every table and view, ordered: what a replay must reproduce."""
        return {
            name: self.db.execute(f"SELECT * FROM {name} ORDER BY ALL").fetchall()  # noqa: S608
            for name in TABLES
        }

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.db.execute(sql, list(params)).fetchall()
