"""A streamed read (statistics, the per-complaint export, the staff list's export) lists each
complaint once, even when listing entries are updated while it reads.

On the store (PostgreSQL + DocumentDB) an update writes a new row version elsewhere in the heap;
one multi-batch cursor could meet it again in a later batch (3,000 entries read 200 at a time,
the unread ones updated after the first batch: 3,000 + the re-met ones returned). The streams
read pages of fresh queries continuing after the last key instead (docs/store.md)."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from registry_testkit.events import OFFICES

from sipuma.registry.domain import ComplaintFilter, OfficeScope
from sipuma.registry.store import STREAM_BATCH, Store

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

SEEDED = 3000
START = datetime(2026, 10, 1, tzinfo=UTC)
END = START + timedelta(days=31)
CHANGED = {"version": 1}


def _entries() -> list[dict[str, Any]]:
    # Several entries share one moment (ties on received_at, broken by _id), over three offices.
    return [
        {
            "_id": str(uuid4()),
            "office_code": OFFICES[i % len(OFFICES)],
            "received_at": START + timedelta(minutes=(i // 4) * 7),
            "channel": "in_person",
            "view": {"status": "registered", "notifications": {}},
            "version": 1,
        }
        for i in range(SEEDED)
    ]


async def _read_while_updated(store: Store, entries: AsyncIterator[Any]) -> Counter[str]:
    """Every `_id` the stream yields (counted); after the first batch, every entry (those read
    already and those not yet) is updated the way the consumers and staff do (a status step, a
    category): an entry's new row version lands where the cursor's continuation meets it."""
    seen: Counter[str] = Counter()
    updated = False
    async for entry in entries:
        seen[entry["_id"]] += 1
        if not updated and sum(seen.values()) == STREAM_BATCH:
            result = await store.listing.update_many(
                {}, {"$set": {"view.status": "verified", "category": "pelayanan"}, "$inc": CHANGED}
            )
            assert result.modified_count == SEEDED
            updated = True
    assert updated
    return seen


@pytest.mark.parametrize(
    "offices", [None, OFFICES, OFFICES[:1]], ids=["every-office", "three-offices", "one-office"]
)
async def test_statistics_stream_lists_each_entry_once_while_entries_change(
    store: Store, offices: list[str] | None
) -> None:
    seeded = _entries()
    await store.listing.insert_many(seeded)
    expected = {e["_id"] for e in seeded if offices is None or e["office_code"] in offices}

    fields = {"office_code": 1, "received_at": 1, "view.status": 1}
    seen = await _read_while_updated(store, store.listed_stream(offices, START, END, fields))

    twice = {k: n for k, n in seen.items() if n > 1}
    assert not twice, f"{len(twice)} entries read more than once, {sum(seen.values())} read"
    assert set(seen) == expected and sum(seen.values()) == len(expected)


@pytest.mark.parametrize("sort", ["-received_at", "status"])
async def test_list_export_stream_lists_each_entry_once_while_entries_change(
    store: Store, sort: str
) -> None:
    # The staff list's export keeps one cursor, a sorted one: on DocumentDB it is not continued
    # by row position as an unsorted scan is (observed: each entry comes once, even when the
    # sort key itself, the status, changes during the read). This test guards that.
    seeded = _entries()
    await store.listing.insert_many(seeded)
    wanted = ComplaintFilter(start=START, end=END, scope=OfficeScope(frozenset(OFFICES)), sort=sort)

    async def entries() -> AsyncIterator[Any]:
        async for batch in store.stream(wanted, STREAM_BATCH):
            for entry in batch:
                yield entry

    seen = await _read_while_updated(store, entries())

    twice = {k: n for k, n in seen.items() if n > 1}
    assert not twice, f"{len(twice)} entries read more than once, {sum(seen.values())} read"
    assert set(seen) == {e["_id"] for e in seeded}
