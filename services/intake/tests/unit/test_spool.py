"""The spool: durable across reopen (a kill -9 loses nothing), sent oldest first, removed only
after the sender acknowledged."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest

from sipuma.intake.spool import OutgoingRecord, Relay, Spool

pytestmark = pytest.mark.unit


def rec(i: int) -> OutgoingRecord:
    return OutgoingRecord(
        "t", f"k{i % 3}".encode(), f"v{i}".encode(), (("ce_id", str(i).encode()),)
    )


class FlakySender:
    """Acknowledges `budget` records, then fails (as Kafka going away would)."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.sent: list[OutgoingRecord] = []
        self.available = True

    async def send_in_order(self, records: Sequence[OutgoingRecord]) -> int:
        take = min(self.budget, len(records))
        self.sent.extend(records[:take])
        self.budget -= take
        return take


async def test_wal_full_sync_and_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    spool = Spool(path)
    await spool.append([rec(i) for i in range(5)])
    spool.close()  # nothing flushed by hand: the commit itself is durable

    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()

    again = Spool(path)
    assert again.pending == 5
    got = await again.oldest(10)
    assert [r.record for r in got] == [rec(i) for i in range(5)]
    again.close()


async def test_relay_sends_in_order_and_keeps_what_failed(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.sqlite3")
    await spool.append([rec(i) for i in range(10)])
    sender = FlakySender(budget=4)
    relay = Relay(spool, sender, batch=3)
    assert await relay.drain_once() == 4
    assert [r.value for r in sender.sent] == [f"v{i}".encode() for i in range(4)]
    assert spool.pending == 6

    sender.budget = 100
    assert await relay.drain_once() == 6
    assert [r.value for r in sender.sent] == [f"v{i}".encode() for i in range(10)]
    assert spool.pending == 0
    assert await spool.oldest(10) == []


async def test_relay_waits_while_sender_unavailable(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.sqlite3")
    await spool.append([rec(1)])
    sender = FlakySender(budget=10)
    sender.available = False
    assert await Relay(spool, sender).drain_once() == 0
    assert spool.pending == 1
