"""Store-and-forward: events that could not reach Kafka wait here, on disk, in arrival order.

Rules that keep "nothing accepted is ever lost" and per-complaint order:
- an event goes to the spool when Kafka cannot take it, *or* while the spool is not empty (so a
  later event for the same complaint never overtakes a spooled one);
- the append is committed (WAL, synchronous=FULL) before intake answers 202 "queued";
- the relay sends the oldest records first and deletes them only after Kafka acknowledged them
  (acks=all). A crash between the two resends a record: the event id and complaint id are the same,
  so the registry de-duplicates it (at-least-once on the wire, exactly-once in the register).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import structlog

from sipuma.intake.sqlite import Durable

log = structlog.get_logger("sipuma.intake.spool")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    key BLOB,
    value BLOB NOT NULL,
    headers TEXT NOT NULL,
    created_at REAL NOT NULL
)
"""


@dataclass(frozen=True)
class OutgoingRecord:
    topic: str
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class SpooledRecord:
    seq: int
    record: OutgoingRecord


class Spool:
    def __init__(self, path: Path) -> None:
        self._db = Durable(path)
        self._db.run(lambda c: c.execute(_SCHEMA))
        self._pending = self._db.run(
            lambda c: int(c.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
        )
        self.wake = asyncio.Event()

    @property
    def pending(self) -> int:
        return self._pending

    async def append(self, records: Sequence[OutgoingRecord]) -> None:
        now = time.time()
        rows = [
            (
                r.topic,
                r.key,
                r.value,
                json.dumps([[k, v.decode("latin-1")] for k, v in r.headers]),
                now,
            )
            for r in records
        ]

        def insert(c: sqlite3.Connection) -> None:
            c.executemany(
                "INSERT INTO outbox (topic, key, value, headers, created_at) VALUES (?,?,?,?,?)",
                rows,
            )

        await self._db.arun(insert)
        self._pending += len(rows)
        self.wake.set()

    async def oldest(self, limit: int) -> list[SpooledRecord]:
        def select(c: sqlite3.Connection) -> list[SpooledRecord]:
            rows = c.execute(
                "SELECT seq, topic, key, value, headers FROM outbox ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
            return [
                SpooledRecord(
                    seq,
                    OutgoingRecord(
                        topic,
                        key,
                        value,
                        tuple((k, v.encode("latin-1")) for k, v in json.loads(headers)),
                    ),
                )
                for seq, topic, key, value, headers in rows
            ]

        return await self._db.arun(select)

    async def remove_through(self, seq: int) -> None:
        def delete(c: sqlite3.Connection) -> int:
            return c.execute("DELETE FROM outbox WHERE seq <= ?", (seq,)).rowcount

        removed = await self._db.arun(delete)
        self._pending = max(0, self._pending - removed)

    async def ping(self) -> bool:
        return await self._db.arun(lambda c: c.execute("SELECT 1").fetchone() == (1,))

    def close(self) -> None:
        self._db.close()


class RecordSender(Protocol):
    @property
    def available(self) -> bool: ...

    async def send_in_order(self, records: Sequence[OutgoingRecord]) -> int:
        """Send and wait for acks; return how many of the first records were acknowledged."""
        ...


class Relay:
    """Drains the spool into Kafka, oldest first, whenever the sender is available."""

    def __init__(
        self, spool: Spool, sender: RecordSender, batch: int = 200, idle_s: float = 1.0
    ) -> None:
        self._spool = spool
        self._sender = sender
        self._batch = batch
        self._idle_s = idle_s

    async def drain_once(self) -> int:
        """Send what the spool holds, batch by batch; stops at the first failure."""
        total = 0
        while self._spool.pending and self._sender.available:
            records = await self._spool.oldest(self._batch)
            if not records:
                break
            acked = await self._sender.send_in_order([r.record for r in records])
            if acked:
                await self._spool.remove_through(records[acked - 1].seq)
                total += acked
            if acked < len(records):
                break
        return total

    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._spool.wake.wait(), timeout=self._idle_s)
            self._spool.wake.clear()
            try:
                sent = await self.drain_once()
            except Exception:  # a disk or Kafka error: keep the records, try again next tick
                log.exception("spool_relay_failed")
                continue
            if sent:
                log.info("spool_relayed", sent=sent, pending=self._spool.pending)
