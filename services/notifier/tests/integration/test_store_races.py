"""The delivery log's arbitration on the real MongoDB-compatible store: however many processes
race for an attempt, exactly one sends, and exactly one decides its outcome."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from sipuma.notifier.settings import NotifierSettings
from sipuma.notifier.store import PENDING, SENDING, DeliveryLog

pytestmark = pytest.mark.integration


def _doc(key: str, now: datetime) -> dict[str, Any]:
    return {"_id": key, "state": PENDING, "attempts": 0, "next_attempt_at": now, "job": {}}


def _client(settings: NotifierSettings) -> AsyncMongoClient[dict[str, Any]]:
    return AsyncMongoClient(settings.mongo_uri, tz_aware=True)


async def _stored(log: DeliveryLog, key: str) -> dict[str, Any]:
    doc = await log.get(key)
    assert doc is not None, f"{key} is not in the delivery log"
    return doc


async def test_racing_claims_have_exactly_one_winner(settings, deliveries):
    clients = [_client(settings) for _ in range(6)]
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
            _, claimed = winners[0]
            commits = await asyncio.gather(
                *(log.commit({**claimed}, now) for log in logs)  # the same claim, six times
            )
            assert sum(commits) == 1, "an attempt is committed once"
            assert await logs[0].marks.find_one({"_id": f"{key}#1/go"}) is not None
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
    client = _client(settings)
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
    """A process that inserted the claim mark and died before committing (the `/go` mark)
    never called the provider: once the lease is over the next attempt may go ahead."""
    client = _client(settings)
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
        assert (await _stored(log, "email:x"))["attempts"] == 1, "attempt 1 closed, 2 running"
    finally:
        await client.close()


async def test_a_committed_attempt_whose_owner_died_goes_to_recovery(settings, deliveries):
    """The owner committed (inserted `/go`) and died before deciding: the attempt is never
    released (its message may have gone out). Once the lease is over, the next claimer marks
    the delivery `sending`, which is what the recovery of stale attempts looks for."""
    client = _client(settings)
    log = DeliveryLog(client, settings.mongo_database, settings.deliveries_collection)
    now = datetime.now(UTC)
    lease = timedelta(seconds=2)
    try:
        await log.record(_doc("sms:w", now))
        claimed = await log.claim("sms:w", "dies", now, lease)
        assert claimed is not None and await log.commit(claimed, now)  # ... and died here
        assert await log.claim("sms:w", "other", now + timedelta(seconds=1), lease) is None
        assert (await _stored(log, "sms:w"))["state"] == PENDING, "within its lease: left alone"
        later = now + timedelta(seconds=5)
        assert await log.claim("sms:w", "other", later, lease) is None, "never released"
        doc = await _stored(log, "sms:w")
        assert doc["state"] == SENDING and doc["attempts"] == 1 and doc["owner"] == "dies"
        assert [d["_id"] for d in await log.stale(later, 10)] == ["sms:w"]
        unknown = {"$set": {"state": "failed", "updated_at": later}}
        assert await log.finish(doc, unknown, by="recovery")
        assert (await _stored(log, "sms:w"))["state"] == "failed"
    finally:
        await client.close()


async def test_many_marks_at_once_each_learn_their_own_outcome(settings, deliveries):
    """Marks are inserted in groups (one command for all asked meanwhile); each caller still
    learns whether its own mark was new, duplicates within a group included."""
    client = _client(settings)
    log = DeliveryLog(client, settings.mongo_database, settings.deliveries_collection)
    try:
        await log.marks.insert_one({"_id": "k3"})
        names = [f"k{i % 7}" for i in range(60)]
        won = await asyncio.gather(*(log._take(name, {"n": n}) for n, name in enumerate(names)))
        winners = sorted(name for name, w in zip(names, won, strict=True) if w)
        assert winners == ["k0", "k1", "k2", "k4", "k5", "k6"]
        assert await log.marks.count_documents({}) == 7
    finally:
        await client.close()


async def test_a_decision_taken_before_a_crash_is_rolled_forward(settings, deliveries):
    """The owner inserted its decision (sent) and died before writing the delivery: whoever
    tries to decide that attempt next applies the owner's decision, not its own."""
    client = _client(settings)
    log = DeliveryLog(client, settings.mongo_database, settings.deliveries_collection)
    now = datetime.now(UTC)
    try:
        await log.record(_doc("sms:y", now))
        claimed = await log.claim("sms:y", "owner", now, timedelta(seconds=30))
        assert claimed is not None and await log.commit(claimed, now)
        sent = {"$set": {"state": "sent", "attempts": 1, "updated_at": now}, "$unset": {"job": ""}}
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
        doc = await _stored(log, "sms:y")
        assert doc["state"] == "sent" and "job" not in doc
    finally:
        await client.close()
