"""The delivery log's arbitration on the real MongoDB-compatible store: however many processes
race for an attempt, exactly one sends, and exactly one decides its outcome."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from sipuma.notifier.store import PENDING, SENDING, DeliveryLog

pytestmark = pytest.mark.integration


def _doc(key: str, now: datetime) -> dict[str, Any]:
    return {"_id": key, "state": PENDING, "attempts": 0, "next_attempt_at": now, "job": {}}


async def test_racing_claims_have_exactly_one_winner(settings, deliveries):
    clients = [AsyncMongoClient(settings.mongo_uri, tz_aware=True) for _ in range(6)]
    logs = [
        DeliveryLog(c, settings.mongo_database, settings.deliveries_collection) for c in clients
    ]
    now = datetime.now(UTC)
    lease = timedelta(seconds=30)
    try:
        for i in range(40):
            key = f"sms:{i}"
            recorded = await asyncio.gather(*(log.record(_doc(key, now)) for log in logs))
            assert sum(recorded) == 1, "one insert wins, the others see the existing entry"
            claims = await asyncio.gather(
                *(log.claim(key, f"owner-{n}", now, lease) for n, log in enumerate(logs))
            )
            winners = [(n, c) for n, c in enumerate(claims) if c is not None]
            assert len(winners) == 1, f"round {i}: {len(winners)} claimers won"
            n, claimed = winners[0]
            assert await logs[n].commit(claimed, now)
            assert (await logs[0].get(key))["state"] == SENDING
            stale = {**claimed}
            update = {"$set": {"state": "sent", "updated_at": now}}
            decided = await asyncio.gather(
                *(log.finish(stale, update, by=f"r{n}") for n, log in enumerate(logs))
            )
            assert sum(decided) == 1, "owner and recovery never both decide an attempt"
    finally:
        for client in clients:
            await client.close()


async def test_a_released_claimer_cannot_commit_any_more(settings, deliveries):
    """A claimer that stalls past its lease is released; its late commit is refused, so it
    never sends (and the next attempt can go ahead)."""
    client = AsyncMongoClient(settings.mongo_uri, tz_aware=True)
    log = DeliveryLog(client, settings.mongo_database, settings.deliveries_collection)
    now = datetime.now(UTC)
    try:
        await log.record(_doc("sms:z", now))
        slow = await log.claim("sms:z", "slow", now, timedelta(seconds=1))
        assert slow is not None
        later = now + timedelta(seconds=5)
        assert await log.claim("sms:z", "other", later, timedelta(seconds=30)) is None  # releases
        assert await log.commit(slow, later) is False
        next_one = await log.claim("sms:z", "other", later, timedelta(seconds=30))
        assert next_one is not None and next_one["attempts"] == 2
    finally:
        await client.close()


async def test_abandoned_claim_is_released_after_its_lease(settings, deliveries):
    """A process that inserted the claim mark and died before marking the delivery `sending`
    never called the provider: once the lease is over the next attempt may go ahead."""
    client = AsyncMongoClient(settings.mongo_uri, tz_aware=True)
    log = DeliveryLog(client, settings.mongo_database, settings.deliveries_collection)
    now = datetime.now(UTC)
    try:
        await log.record(_doc("email:x", now))
        await log.marks.insert_one(
            {"_id": "email:x#1", "owner": "dead", "lease_until": now - timedelta(seconds=1)}
        )
        assert await log.claim("email:x", "me", now, timedelta(seconds=30)) is None
        claimed = await log.claim("email:x", "me", now, timedelta(seconds=30))
        assert claimed is not None and claimed["attempts"] == 2
        assert await log.commit(claimed, now)
        assert (await log.get("email:x"))["state"] == SENDING
    finally:
        await client.close()


async def test_a_decision_taken_before_a_crash_is_rolled_forward(settings, deliveries):
    """The owner inserted its decision (sent) and died before writing the delivery: whoever
    tries to decide that attempt next applies the owner's decision, not its own."""
    client = AsyncMongoClient(settings.mongo_uri, tz_aware=True)
    log = DeliveryLog(client, settings.mongo_database, settings.deliveries_collection)
    now = datetime.now(UTC)
    try:
        await log.record(_doc("sms:y", now))
        claimed = await log.claim("sms:y", "owner", now, timedelta(seconds=30))
        assert claimed is not None and await log.commit(claimed, now)
        sent = {"$set": {"state": "sent", "updated_at": now}, "$unset": {"job": ""}}
        await log.marks.insert_one(
            {
                "_id": "sms:y#1/done",
                "delivery": "sms:y",
                "attempt": 1,
                "by": "owner",
                "expect": 1,
                "set": sent["$set"],
                "unset": ["job"],
            }
        )  # ... and the process died here
        unknown = {"$set": {"state": "failed", "updated_at": now}}
        assert await log.finish(claimed, unknown, by="recovery") is False
        doc = await log.get("sms:y")
        assert doc["state"] == "sent" and "job" not in doc
    finally:
        await client.close()
