"""`sipuma.shared.mongo.create_indexes` on the real store: ordered indexes, retired ones dropped,
and the page a sorted query reads straight from an ordered index."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, IndexModel

from sipuma.shared.mongo import create_indexes, ordered_index
from tests.harness.plans import assert_index_backed, explain_find

pytestmark = pytest.mark.integration

KEYS = [("office", ASCENDING), ("at", DESCENDING), ("_id", ASCENDING)]


async def test_ordered_index_serves_a_sorted_page_and_retired_indexes_go(
    endpoints: Any, unique_name: Callable[[str], str]
) -> None:
    name = unique_name("idx").replace("-", "_")
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(endpoints.mongo_uri, tz_aware=True)
    try:
        items = client[name]["items"]
        # A store kept from an older release: the index the ordered one replaces.
        await items.create_indexes(
            [IndexModel([("office", ASCENDING), ("at", DESCENDING)], name="old")]
        )
        start = datetime(2026, 1, 1, tzinfo=UTC)
        await items.insert_many(
            [
                {"_id": f"c{i:05d}", "office": f"O{i % 4}", "at": start + timedelta(minutes=i)}
                for i in range(2000)
            ]
        )
        indexes = {"items": [ordered_index(KEYS, name="office_at_id")]}
        for _ in range(2):  # idempotent
            await create_indexes(client[name], indexes, retired={"items": ["old", "never_made"]})

        assert set(await items.index_information()) == {"_id_", "office_at_id"}
        query = {"office": "O1", "at": {"$gte": start, "$lt": start + timedelta(days=30)}}
        order = [("at", -1), ("_id", 1)]
        plan = await explain_find(items, query, sort=order, limit=50)
        assert_index_backed(plan, "office_at_id", sorted_by_index=True)
        page = await items.find(query).sort(order).limit(5).to_list()
        assert [d["_id"] for d in page] == ["c01997", "c01993", "c01989", "c01985", "c01981"]
    finally:
        await client.drop_database(name)
        await client.close()


async def test_a_range_with_a_sort_on_a_single_field_index(
    endpoints: Any, unique_name: Callable[[str], str]
) -> None:
    """New indexes are built by DocumentDB's extended RUM access method (docs/store.md), whose
    single-path operator family lacked the range operators until `extended_rum.sql` added them:
    a bounded range sorted on its field failed with "operator … is not a member of opfamily"."""
    name = unique_name("idx").replace("-", "_")
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(endpoints.mongo_uri, tz_aware=True)
    try:
        items = client[name]["items"]
        await create_indexes(
            client[name],
            {
                "items": [
                    IndexModel([("at", ASCENDING)], name="at"),
                    IndexModel([("due", ASCENDING)], name="due", sparse=True),
                ]
            },
        )
        start = datetime(2026, 1, 1, tzinfo=UTC)
        await items.insert_many(
            [
                {"_id": i, "at": start + timedelta(minutes=i), "due": start + timedelta(minutes=i)}
                for i in range(3000)
            ]
        )
        for field in ("at", "due"):
            window = {
                field: {"$gte": start + timedelta(minutes=10), "$lt": start + timedelta(minutes=20)}
            }
            for direction, first in ((1, 10), (-1, 19)):
                found = await items.find(window).sort(field, direction).limit(3).to_list()
                assert [d["_id"] for d in found] == [
                    first,
                    first + direction,
                    first + 2 * direction,
                ]
    finally:
        await client.drop_database(name)
        await client.close()
