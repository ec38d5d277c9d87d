"""Issue 18's queries are index-backed on the real store, checked from `explain` once the
planner's statistics counted a seeded listing: the reminder pass (`next_alert`), the overdue list
(`due_at`, read in order), and the statistics' cursor over a range (the listing's range index)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from sipuma.registry.statistics import FIELDS
from sipuma.registry.store import EARLIEST, Store
from tests.harness.plans import assert_index_backed, explain_find
from tests.harness.state import eventually

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
OFFICES = ["KPUBC-TPK-TJPRIOK", "KPPBC-TMP-NGURAHRAI", "KPPBC-TMP-JAYAPURA"]
COUNT = 4000


async def test_deadline_and_statistics_queries_use_their_indexes(store: Store) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    docs = []
    for n in range(COUNT):
        at = start + timedelta(hours=2 * n)
        doc = {"_id": str(uuid4()), "office_code": OFFICES[n % 3], "received_at": at, "view": {}}
        if n % 100 == 0:  # few open complaints with a deadline to come
            doc["due_at"] = doc["next_alert_at"] = at + timedelta(days=5)
        docs.append(doc)
    await store.listing.insert_many(docs)
    probe = await store.db.command("explain", {"find": "listing", "filter": {}})
    if "serverInfo" not in probe:  # DocumentDB plans from ANALYZE's counts: wait for them

        async def analyzed() -> bool:
            stats = await store.db.command("collStats", "listing")
            return bool(stats.get("analyzedCount", 0) >= 0.9 * COUNT)

        await eventually("planner statistics for listing", analyzed, 240)
    now = start + timedelta(days=30)
    assert_index_backed(
        await explain_find(
            store.listing,
            {"next_alert_at": {"$lte": now}},
            sort=[("next_alert_at", 1)],
            limit=500,
        ),
        "next_alert",
    )
    assert_index_backed(
        await explain_find(
            store.listing,
            {"due_at": {"$lte": now}, "office_code": OFFICES[0]},
            sort=[("due_at", 1), ("_id", 1)],
            limit=100,
        ),
    )
    # The staff list with `sort=due` (Store.page): an office or all, a deadline, in key order.
    for office in ({"office_code": OFFICES[0]}, {}):
        assert_index_backed(
            await explain_find(
                store.listing,
                {**office, "due_at": {"$gte": EARLIEST}},
                sort=[("due_at", 1), ("_id", 1)],
                limit=50,
            ),
            sorted_by_index=True,
        )
    assert_index_backed(
        await explain_find(
            store.listing,
            {
                "received_at": {"$gte": start, "$lt": start + timedelta(days=31)},
                "office_code": {"$in": OFFICES[:2]},
            },
            projection=FIELDS,
        ),
    )
