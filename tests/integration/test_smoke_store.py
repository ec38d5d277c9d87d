"""The MongoDB-compatible store is real: PyMongo's async API, atomic upsert + $inc, unique index."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.errors import DuplicateKeyError

from tests.harness.endpoints import Endpoints

pytestmark = pytest.mark.integration


async def test_insert_find_upsert_inc_and_unique_index(endpoints: Endpoints, unique_name) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(endpoints.mongo_uri)
    db = client[unique_name("smoke").replace("-", "_")]
    try:
        docs = db["complaints"]
        await docs.insert_one({"_id": "c1", "office": "KPPBC-TPMP-JKT", "what": "pungli"})
        found = await docs.find_one({"_id": "c1"})
        assert found is not None and found["what"] == "pungli"

        counters = db["counters"]
        for expected in (1, 2, 3):
            counter = await counters.find_one_and_update(
                {"_id": "KPPBC-TPMP-JKT/2026"},
                {"$inc": {"seq": 1}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
            assert counter is not None and counter["seq"] == expected

        await docs.create_index([("office", 1), ("number", 1)], unique=True)
        await docs.insert_one({"_id": "c2", "office": "X", "number": 1})
        with pytest.raises(DuplicateKeyError):
            await docs.insert_one({"_id": "c3", "office": "X", "number": 1})
    finally:
        await client.drop_database(db.name)
        await client.close()
