"""The delivery log's arbitration on the real MongoDB-compatible store: however many processes
race for an attempt, exactly one sends, and exactly one decides its outcome."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from sipuma.notifier.domain import CLAIMED, PENDING, SENDING, SENT, Decision, Delivery, Job
from sipuma.notifier.settings import NotifierSettings
from sipuma.notifier.store import MongoDeliveryLog

pytestmark = pytest.mark.integration


def _delivery(key: str, now: datetime) -> Delivery:
    return Delivery(
        key=key,
        channel=key.split(":")[0],
        state=PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
        ticket_event_id="e",
        complaint_id="c",
        office_code="o",
        correlation_id="r",
        language="id",
    )


def _client(settings: NotifierSettings) -> AsyncMongoClient[dict[str, Any]]:
    return AsyncMongoClient(settings.mongo_uri, tz_aware=True)


def _log(client: AsyncMongoClient[dict[str, Any]], settings: NotifierSettings) -> MongoDeliveryLog:
    return MongoDeliveryLog(client, settings.mongo_database, settings.deliveries_collection)


@pytest.fixture
async def log(settings: NotifierSettings, deliveries: Any) -> AsyncIterator[MongoDeliveryLog]:
    """One process's view of the test's delivery log (its own client)."""
    client = _client(settings)
    try:
        yield _log(client, settings)
    finally:
        await client.close()


async def _record(log: MongoDeliveryLog, key: str, now: datetime) -> bool:
    [new] = await log.record([_delivery(key, now)])
    return new


SENT_BY_OWNER = Decision("sent", "owner", SENT)
SENT_BY_RECOVERY = Decision("unknown_resent", "recovery", SENT)


async def test_racing_claims_commits_and_decisions_have_exactly_one_winner(settings, deliveries):
    """Six clients (six connection pools, as six replicas) race at every step, 40 times."""
    clients = [_client(settings) for _ in range(6)]
    logs = [_log(c, settings) for c in clients]
    await logs[0].ensure_indexes()
    now = datetime.now(UTC)
    lease = timedelta(seconds=30)
    try:
        for i in range(40):
            key = f"sms:{i}"
            recorded = await asyncio.gather(*(_record(log, key, now) for log in logs))
            assert sum(recorded) == 1, "one insert wins, the others see the existing entry"
            claims = await asyncio.gather(
                *(log.claim(key, f"owner-{n}", now, lease) for n, log in enumerate(logs))
            )
            winners = [c for c in claims if c is not None]
            assert len(winners) == 1, f"round {i}: {len(winners)} claimers won"
            claimed = winners[0]
            assert claimed.state == CLAIMED and claimed.attempts == 1
            commits = await asyncio.gather(
                *(log.commit(claimed, now, lease) for log in logs)  # the same claim, six times
            )
            assert sum(commits) == 1, "an attempt is committed once"
            committed = dataclasses.replace(claimed, state=SENDING)
            # the owner and five recoveries (its lease is over for them) decide at once
            later = now + timedelta(minutes=5)
            decided = await asyncio.gather(
                logs[0].decide(committed, SENT_BY_OWNER, now),
                *(log.decide(committed, SENT_BY_RECOVERY, later) for log in logs[1:]),
            )
            assert sum(decided) == 1, "owner and recovery never both decide an attempt"
            lines = (await deliveries.find_one({"_id": key}))["history"]
            assert [(h["attempt"], h["by"]) for h in lines] == [
                (1, "owner" if decided[0] else "recovery")
            ], "exactly one history line, the winner's"
    finally:
        for client in clients:
            await client.close()


async def test_a_claimer_claimed_over_cannot_commit_any_more(log, deliveries):
    """A claimer that stalls past its lease before committing is claimed over; its late commit
    is refused, so it never calls the provider (and the new attempt goes ahead)."""
    now = datetime.now(UTC)
    lease = timedelta(seconds=30)
    await _record(log, "sms:z", now)
    slow = await log.claim("sms:z", "slow", now, timedelta(seconds=1))
    assert slow is not None
    assert await log.claim("sms:z", "other", now, lease) is None, "held"
    later = now + timedelta(seconds=5)
    taken = await log.claim("sms:z", "other", later, lease)
    assert taken is not None and taken.attempts == 2 and taken.owner == "other"
    assert await log.commit(slow, later, lease) is False
    assert await log.decide(slow, SENT_BY_OWNER, later) is False
    assert await log.commit(taken, later, lease)
    assert (await deliveries.find_one({"_id": "sms:z"}))["state"] == SENDING


async def test_a_committed_attempt_whose_owner_died_goes_to_recovery(log, deliveries):
    """The owner committed and died before deciding: the attempt is never claimed again (its
    message may have gone out). Once the lease is over, recovery finds it and decides."""
    now = datetime.now(UTC)
    lease = timedelta(seconds=2)
    await _record(log, "sms:w", now)
    claimed = await log.claim("sms:w", "dies", now, lease)
    assert claimed is not None and await log.commit(claimed, now, lease)  # ... and died here
    later = now + timedelta(seconds=5)
    assert await log.claim("sms:w", "other", later, lease) is None, "never claimed again"
    assert await log.expired(now + timedelta(seconds=1), 10) == [], "within its lease"
    stale = await log.expired(later, 10)
    assert [(d.key, d.state, d.owner) for d in stale] == [("sms:w", SENDING, "dies")]
    resend = Decision("unknown_resent", "recovery", PENDING, next_attempt_at=later)
    assert await log.decide(stale[0], resend, later)
    again = await log.claim("sms:w", "other", later, lease)
    assert again is not None and again.attempts == 2


async def test_recovery_cannot_decide_an_attempt_within_its_lease(log, deliveries):
    now = datetime.now(UTC)
    lease = timedelta(seconds=30)
    await _record(log, "email:v", now)
    claimed = await log.claim("email:v", "owner", now, lease)
    assert claimed is not None and await log.commit(claimed, now, lease)
    failed = Decision("unknown_reported", "recovery", "failed")
    assert not await log.decide(claimed, failed, now)
    assert await log.decide(claimed, SENT_BY_OWNER, now)
    doc = await deliveries.find_one({"_id": "email:v"})
    assert doc["state"] == "sent" and "job" not in doc


async def test_an_abandoned_claim_is_claimed_again_after_its_lease(log, deliveries):
    """A process that claimed and died before committing never called the provider: once the
    lease is over, the dispatcher finds it and the next attempt may go ahead."""
    now = datetime.now(UTC)
    lease = timedelta(seconds=30)
    await _record(log, "email:x", now)
    assert await log.claim("email:x", "dead", now, timedelta(seconds=1)) is not None
    later = now + timedelta(seconds=5)
    assert [(d.key, d.state) for d in await log.expired(later, 10)] == [("email:x", CLAIMED)]
    claimed = await log.claim("email:x", "me", later, lease)
    assert claimed is not None and claimed.attempts == 2
    assert await log.commit(claimed, later, lease)


async def test_grouped_writes_keep_each_callers_own_outcome(log, deliveries, settings):
    """One process's workers write at the same moment, so their writes share store commands
    (group commit); a loser in a batch stays a loser for its caller only, the others win."""
    now, lease = datetime.now(UTC), timedelta(seconds=30)
    keys = [f"email:g{i}" for i in range(12)]
    recorded = await asyncio.gather(
        *(_record(log, key, now) for key in keys), _record(log, keys[0], now)
    )
    assert recorded == [True] * 12 + [False], "the duplicate alone is refused"

    claimed = [await log.claim(key, "owner", now, lease) for key in keys]
    assert all(c is not None for c in claimed)
    attempts = [c for c in claimed if c is not None]
    # keys[1]'s attempt is committed twice at once: only one of the two wins
    commits = await asyncio.gather(
        *(log.commit(a, now, lease) for a in attempts), log.commit(attempts[1], now, lease)
    )
    assert sum(commits) == 12 and commits[1] != commits[-1], "one commit per attempt"

    sending = [dataclasses.replace(a, state=SENDING) for a in attempts]
    later = now + timedelta(minutes=5)
    # the owner decides every attempt while recovery decides keys[2]'s in the same moment
    decided = await asyncio.gather(
        *(log.decide(a, SENT_BY_OWNER, now) for a in sending),
        log.decide(sending[2], SENT_BY_RECOVERY, later),
    )
    assert decided[:2] == [True, True] and decided[3:12] == [True] * 9
    assert decided[2] != decided[12], "owner and recovery never both decide an attempt"
    found = {d["_id"]: d["history"] async for d in deliveries.find({"_id": {"$in": keys}})}
    assert sorted(found) == sorted(keys)
    assert all(len(lines) == 1 for lines in found.values()), "one history line each"

    await asyncio.gather(*(log.mark_published(key, "none") for key in keys))
    states = {d["_id"]: d["state"] async for d in deliveries.find({"_id": {"$in": keys}})}
    assert set(states.values()) == {SENT}


async def test_grouped_claims_one_winner_each_and_the_claimers_own_job(log, deliveries):
    """The claims of one process's workers share at most two store commands (a bulk of
    conditional updates, one read by token): the same delivery claimed twice at once is won
    once, a missing one by nobody; a claimer that brings the delivery as recorded gets its own
    copy back (nothing read back, nothing decrypted) while the stored job is there; once an
    erasure removed the job, that first claim does not match and a claim without a copy
    finds no job."""
    now, lease = datetime.now(UTC), timedelta(seconds=30)
    keys = [f"email:c{i}" for i in range(8)]
    stored = Job("c@example.com", "TKT-C", None)
    await log.record([dataclasses.replace(_delivery(key, now), job=stored) for key in keys])
    await deliveries.update_one({"_id": keys[7]}, {"$unset": {"job": ""}})  # erased meanwhile
    mine = Job("c@example.com", "TKT-C", None)
    claims = await asyncio.gather(
        *(
            log.claim(key, f"w{i}", now, lease, dataclasses.replace(_delivery(key, now), job=mine))
            if i >= 2
            else log.claim(key, f"w{i}", now, lease)
            for i, key in enumerate(keys)
        ),
        log.claim(keys[0], "twice", now, lease),
        log.claim("email:missing", "x", now, lease),
    )
    first, twice, missing, erased = claims[0], claims[8], claims[9], claims[7]
    assert (first is None) != (twice is None), "claimed twice at once: won once"
    assert missing is None
    assert erased is None, "a first claim matches only while the job is there"
    won = [c for c in claims if c is not None]
    assert sorted(c.key for c in won) == keys[:7] and all(c.attempts == 1 for c in won)
    assert all(c.state == CLAIMED and c.owner is not None for c in won)
    by_key = {c.key: c for c in won}
    assert by_key[keys[1]].job == stored, "no job brought: the stored one"
    assert all(by_key[k].job is mine for k in keys[2:7]), "the claimer's own copy"
    owners = {d["_id"]: d.get("owner") async for d in deliveries.find({"_id": {"$in": keys}})}
    assert owners == {c.key: c.owner for c in won} | {keys[7]: None}
    stored_claims = {d["_id"]: d async for d in deliveries.find({"_id": {"$in": keys[2:7]}})}
    for key in keys[2:7]:  # what the claimer was handed is what the store holds
        doc, handed = stored_claims[key], by_key[key]
        assert (doc["state"], doc["attempts"], doc["owner"]) == (
            handed.state,
            handed.attempts,
            handed.owner,
        )
    late = await log.claim(keys[7], "later", now, lease)  # the dispatcher, without a copy
    assert late is not None and late.job is None, "erased: no job, nothing to send"


async def test_a_first_claim_with_a_stale_copy_wins_nothing(log, deliveries):
    """Six processes bring the recorded copy of one first attempt at once: one wins. A copy
    taken before an attempt was made (attempts 0 in hand, 1 in the log, due again) wins
    nothing, even though the delivery is pending and due: that copy no longer says what the
    delivery is."""
    now, lease = datetime.now(UTC), timedelta(seconds=30)
    job = Job("d@example.com", "TKT-D", None)
    recorded = dataclasses.replace(_delivery("email:d", now), job=job)
    await log.record([recorded])
    claims = await asyncio.gather(
        *(log.claim("email:d", f"p{n}", now, lease, recorded) for n in range(6))
    )
    assert len([c for c in claims if c is not None]) == 1
    await deliveries.update_one(  # that attempt came to "try again now"
        {"_id": "email:d"}, {"$set": {"state": PENDING}, "$unset": {"owner": ""}}
    )
    assert await log.claim("email:d", "stale", now, lease, recorded) is None
    again = await log.claim("email:d", "fresh", now, lease)
    assert again is not None and again.attempts == 2 and again.job == job
