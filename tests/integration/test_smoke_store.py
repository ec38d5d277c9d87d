"""The MongoDB-compatible store is real: PyMongo's async API, atomic upsert + $inc, unique index,
atomic updates under concurrency, multi-document transactions (commit and abort). Locally it is
PostgreSQL + DocumentDB behind DocumentDB's gateway; with Docker, MongoDB 8 as a one-node
replica set (docs/store.md)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
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


async def test_concurrent_inc_on_one_document_is_atomic(endpoints: Endpoints, unique_name) -> None:
    """200 concurrent read-modify-writes on one document: none is lost (FerretDB 1.24 left 8)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(endpoints.mongo_uri, maxPoolSize=50)
    db = client[unique_name("smoke_inc").replace("-", "_")]
    try:
        counters = db["counters"]
        await counters.insert_one({"_id": "office/2026", "seq": 0})

        async def bump() -> int:
            found = await counters.find_one_and_update(
                {"_id": "office/2026"}, {"$inc": {"seq": 1}}, return_document=ReturnDocument.AFTER
            )
            assert found is not None
            return int(found["seq"])

        seen = await asyncio.gather(*(bump() for _ in range(200)))
        final = await counters.find_one({"_id": "office/2026"})
        assert final is not None and final["seq"] == 200
        assert sorted(seen) == list(range(1, 201))  # each caller saw its own, distinct value
    finally:
        await client.drop_database(db.name)
        await client.close()


class _Abort(Exception):
    pass


async def test_transaction_commits_both_or_leaves_nothing(
    endpoints: Endpoints, unique_name
) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(endpoints.mongo_uri)
    db = client[unique_name("smoke_txn").replace("-", "_")]
    try:
        numbers, complaints = db["numbers"], db["complaints"]
        # Collections exist before the transactions (MongoDB creates them implicitly in a
        # transaction only from 4.4 on, and not on every topology).
        await db.create_collection("numbers")
        await db.create_collection("complaints")
        await numbers.create_index([("office", 1), ("seq", 1)], unique=True)

        async def both(session: AsyncClientSession) -> None:
            await numbers.insert_one({"_id": "n1", "office": "X", "seq": 1}, session=session)
            await complaints.insert_one({"_id": "c1", "number": "n1"}, session=session)

        async with client.start_session() as session:
            await session.with_transaction(both)
        assert await numbers.count_documents({}) == 1
        assert await complaints.count_documents({}) == 1

        # A callback that fails after two writes: the transaction aborts, neither write stays.
        async def fails(session: AsyncClientSession) -> None:
            await numbers.insert_one({"_id": "n2", "office": "X", "seq": 2}, session=session)
            await complaints.insert_one({"_id": "c2", "number": "n2"}, session=session)
            raise _Abort

        async with client.start_session() as session:
            with pytest.raises(_Abort):
                await session.with_transaction(fails)

        # A write the server refuses (duplicate key) inside an explicit transaction: the write
        # before it is rolled back with it.
        async def refused() -> None:
            async with client.start_session() as session, await session.start_transaction():
                await complaints.insert_one({"_id": "c3", "number": "n3"}, session=session)
                await numbers.insert_one({"_id": "n3", "office": "X", "seq": 1}, session=session)

        with pytest.raises(DuplicateKeyError):
            await refused()

        assert await numbers.find({}, {"_id": 1}).to_list() == [{"_id": "n1"}]
        assert await complaints.find({}, {"_id": 1}).to_list() == [{"_id": "c1"}]
    finally:
        await client.drop_database(db.name)
        await client.close()
