"""`sipuma.shared.mongo_idempotency` on the real store: one holder per key across replicas, the
answer kept, a dead holder's key taken over after its lease, expired answers gone."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from sipuma.shared.idempotency import Outcome, StoredAnswer
from sipuma.shared.mongo import create_indexes
from sipuma.shared.mongo_idempotency import MongoIdempotencyStore

pytestmark = pytest.mark.integration


async def test_one_holder_per_key_and_the_kept_answer(
    endpoints: Any, unique_name: Callable[[str], str]
) -> None:
    name = unique_name("idem").replace("-", "_")
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(endpoints.mongo_uri, tz_aware=True)
    try:
        # Two replicas: two adapters on the same collection.
        one = MongoIdempotencyStore(client[name]["answers"], ttl_s=3600, lease_s=600)
        two = MongoIdempotencyStore(client[name]["answers"], ttl_s=3600, lease_s=600)
        await create_indexes(client[name], {"answers": one.indexes})
        info = await one.collection.index_information()
        assert info["expires"]["expireAfterSeconds"] == 3600

        raced = await asyncio.gather(*(r.begin("o\x1fPOST", "k", "p") for r in (one, two) * 4))
        outcomes = [outcome for outcome, _ in raced]
        assert outcomes.count(Outcome.NEW) == 1, outcomes
        assert set(outcomes) == {Outcome.NEW, Outcome.IN_PROGRESS}
        assert (await two.begin("o\x1fPOST", "k", "other"))[0] is Outcome.MISMATCH

        answer = StoredAnswer(201, {"id": "x", "n": [1, 2]}, {"Location": "/x"})
        await one.finish("o\x1fPOST", "k", "p", answer)
        assert await two.begin("o\x1fPOST", "k", "p") == (Outcome.REPLAY, answer)
        assert (await two.begin("o\x1fPOST", "k", "other"))[0] is Outcome.MISMATCH
        # Keys are per scope (officer + route): the same key elsewhere is a new request.
        assert (await two.begin("p\x1fPOST", "k", "p"))[0] is Outcome.NEW

        # A failed request lets its key go: a retry runs again.
        assert (await one.begin("o\x1fPOST", "k2", "p"))[0] is Outcome.NEW
        await one.abandon("o\x1fPOST", "k2")
        assert (await two.begin("o\x1fPOST", "k2", "p"))[0] is Outcome.NEW
    finally:
        await client.drop_database(name)
        await client.close()


async def test_a_dead_holders_key_is_taken_over_and_expired_answers_are_gone(
    endpoints: Any, unique_name: Callable[[str], str]
) -> None:
    name = unique_name("idem").replace("-", "_")
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(endpoints.mongo_uri, tz_aware=True)
    try:
        store = MongoIdempotencyStore(client[name]["answers"], ttl_s=3600, lease_s=600)
        assert (await store.begin("s", "k", "p"))[0] is Outcome.NEW
        assert (await store.begin("s", "k", "p"))[0] is Outcome.IN_PROGRESS
        # Its holder died: the lease ran out (moved into the past here, not waited for).
        past = datetime.now(UTC) - timedelta(seconds=1)
        await store.collection.update_many({}, {"$set": {"lease_until": past}})
        raced = await asyncio.gather(*(store.begin("s", "k", "p") for _ in range(4)))
        assert [o for o, _ in raced].count(Outcome.NEW) == 1, raced
        # A holder that still runs renews its lease: the key stays its own.
        await store.collection.update_many({}, {"$set": {"lease_until": past}})
        await store.renew("s", "k")
        assert (await store.begin("s", "k", "p"))[0] is Outcome.IN_PROGRESS

        await store.finish("s", "k", "p", StoredAnswer(201, {}, {}))
        # Older than the TTL, before the store's TTL task removed it: a new request.
        old = datetime.now(UTC) - timedelta(seconds=3601)
        await store.collection.update_many({}, {"$set": {"created_at": old}})
        assert (await store.begin("s", "k", "other"))[0] is Outcome.NEW
    finally:
        await client.drop_database(name)
        await client.close()
