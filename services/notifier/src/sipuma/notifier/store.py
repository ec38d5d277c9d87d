"""The delivery log: one document per ticket and channel, in the notifier's own database.

`_id` = `<channel>:<sha256(ticket number)[:32]>`, so the unique key is ticket + channel and the
plain ticket number is not the key.

**Insert-only facts**
- the delivery itself: inserted once per ticket and channel (a duplicate `_id` is refused, which
  is how a redelivered or repeated `TicketIssued` is recognised);
- the attempt history (`<collection>_attempts`): one document per decided attempt,
  `_id` = `<key>#<n>`, written in the same transaction as the decision. It holds no personal
  data (outcome, error kind and code, provider message id, times).

**The atomic view**: the delivery's state, changed only by conditional single-document updates
(each one atomic, so exactly one of several racing callers matches):

    pending --claim--> claimed --commit--> sending --owner decides--> sent | failed  (final)
    claimed | sending --owner decides: retry later--> pending
    claimed, lease over (never committed) --claimed again--> claimed
    sending, lease over (owner died mid-call) --recovery--> pending (resend) | failed (report)

- **claim**: `find_one_and_update` of a due `pending` delivery (or a `claimed` one whose lease
  ran out: its owner died before the provider could get anything) to `claimed`, `attempts + 1`,
  with the claimer as owner and a lease;
- **commit**: `claimed` → `sending`, right before the provider may get the message, only by the
  owner of that attempt: a claimer that stalled and was claimed over cannot commit any more;
- **decide**: the owner (state `claimed` or `sending`, its own attempt number), or recovery
  (state `sending`, that attempt's lease over: the owner presumably died mid-call). Whoever
  matches first decides; the other's update matches nothing.

The `job` (address, ticket number, register number) is kept only while the delivery is open and
removed by the final decision: personal data stays no longer than it is needed. A final decision
also writes the outcome event into the document (`outbox`, `outbox_pending: true`); it is
published after the decision is durable and then marked published, and the dispatcher publishes
whatever stays pending (same event id).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient, IndexModel, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError

from sipuma.shared.transactions import in_transaction

Doc = dict[str, Any]
PENDING, CLAIMED, SENDING, SENT, FAILED = "pending", "claimed", "sending", "sent", "failed"
OPEN = (PENDING, CLAIMED, SENDING)
DUPLICATE_KEY = 11000

# Every index the notifier needs, in one place; created at start, before any data is written.
# Each query below names the index it relies on; tests/integration/test_query_plans.py checks
# the plans.
DELIVERY_INDEXES = [
    # due(): pending deliveries whose next attempt is due, oldest first
    IndexModel([("state", ASCENDING), ("next_attempt_at", ASCENDING)], name="state_next_attempt"),
    # expired(): claimed / sending deliveries whose lease ran out
    IndexModel([("state", ASCENDING), ("lease_until", ASCENDING)], name="state_lease"),
    # unpublished(): decided outcomes Kafka has not taken yet
    IndexModel([("outbox_pending", ASCENDING), ("updated_at", ASCENDING)], name="outbox_pending"),
]
ATTEMPT_INDEXES = [IndexModel([("delivery", ASCENDING), ("attempt", ASCENDING)], name="delivery")]


def delivery_id(ticket_number: str, channel: str) -> str:
    digest = hashlib.sha256(ticket_number.encode("utf-8")).hexdigest()[:32]
    return f"{channel}:{digest}"


# -- the query shapes (filters) the log uses; the plan test explains each one ------------------
def claim_filter(key: str, now: datetime) -> Doc:
    return {
        "_id": key,
        "$or": [
            {"state": PENDING, "next_attempt_at": {"$lte": now}},
            # claimed and never committed, lease over: nothing reached the provider
            {"state": CLAIMED, "lease_until": {"$lt": now}},
        ],
    }


def commit_filter(claimed: Doc) -> Doc:
    return {
        "_id": claimed["_id"],
        "state": CLAIMED,
        "owner": claimed["owner"],
        "attempts": claimed["attempts"],
    }


def decide_filter(claimed: Doc, by: str, now: datetime) -> Doc:
    guard: Doc = {"_id": claimed["_id"], "attempts": claimed["attempts"]}
    if by == "owner":  # its own attempt, committed or not
        return guard | {"owner": claimed["owner"], "state": {"$in": [CLAIMED, SENDING]}}
    return guard | {"state": SENDING, "lease_until": {"$lt": now}}  # recovery


def published_filter(key: str, event_id: str) -> Doc:
    return {"_id": key, "outbox.event_id": event_id}


def due_filter(now: datetime) -> Doc:
    return {"state": PENDING, "next_attempt_at": {"$lte": now}}


def expired_filter(now: datetime) -> Doc:
    return {"state": {"$in": [CLAIMED, SENDING]}, "lease_until": {"$lt": now}}


def unpublished_filter(older_than: datetime) -> Doc:
    return {"outbox_pending": True, "updated_at": {"$lte": older_than}}


def history_filter(key: str) -> Doc:
    return {"delivery": key}


@dataclass(frozen=True)
class Attempt:
    """What one decided attempt leaves in the history (no personal data)."""

    outcome: str  # sent | failed | retry | unknown_resent | unknown_reported
    by: str  # owner | recovery
    error: Doc | None = None
    provider_message_id: str | None = None


class DeliveryLog:
    def __init__(self, client: AsyncMongoClient[Doc], database: str, collection: str) -> None:
        self.client = client
        self.col: AsyncCollection[Doc] = client[database][collection]
        self.attempts: AsyncCollection[Doc] = client[database][f"{collection}_attempts"]

    async def ensure_indexes(self) -> None:
        await self.col.create_indexes(DELIVERY_INDEXES)
        await self.attempts.create_indexes(ATTEMPT_INDEXES)

    async def ping(self) -> bool:
        await self.client.admin.command("ping")
        return True

    # -- the facts ----------------------------------------------------------------------------
    async def record(self, doc: Doc) -> bool:
        """Insert the delivery unless it exists (any state); answer True when it was new."""
        try:
            await self.col.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def record_many(self, docs: list[Doc]) -> list[bool]:
        """`record` for several deliveries in one unordered insert: per document, True when it
        was new (a duplicate `_id` is refused for that document only; any other error raises)."""
        return await _insert_unordered(self.col, docs) if docs else []

    async def history(self, key: str) -> list[Doc]:
        """The decided attempts of one delivery, in order (index `delivery`)."""
        cursor = self.attempts.find(history_filter(key)).sort("attempt", ASCENDING)
        return [doc async for doc in cursor]

    # -- the atomic view ----------------------------------------------------------------------
    async def get(self, key: str) -> Doc | None:
        return await self.col.find_one({"_id": key})

    async def claim(self, key: str, owner: str, now: datetime, lease: timedelta) -> Doc | None:
        """Take the delivery for its next attempt if it is due and nobody holds it; None when it
        is not ours to send. The answer is the delivery as claimed (state `claimed`)."""
        lease_until = now + lease
        claimed = await self.col.find_one_and_update(
            claim_filter(key, now),
            {
                "$set": {
                    "state": CLAIMED,
                    "owner": owner,
                    "lease_until": lease_until,
                    "claimed_at": now,
                },
                "$inc": {"attempts": 1},
            },
            return_document=ReturnDocument.AFTER,
        )
        if claimed is not None:
            claimed["lease"] = lease
        return claimed

    async def commit(self, claimed: Doc, now: datetime) -> bool:
        """Go ahead with the claimed attempt: from here a crash leaves the outcome unknown.
        Only the owner of this attempt can commit it, and only once; a claimer that stalled past
        its lease and was claimed over is refused (and so never calls the provider)."""
        lease_until = now + claimed["lease"]
        result = await self.col.update_one(
            commit_filter(claimed),
            {"$set": {"state": SENDING, "lease_until": lease_until, "attempt_started_at": now}},
        )
        if not result.matched_count:
            return False
        claimed.update({"state": SENDING, "lease_until": lease_until, "attempt_started_at": now})
        return True

    async def decide(self, claimed: Doc, update: Doc, attempt: Attempt, now: datetime) -> bool:
        """Record what attempt `claimed["attempts"]` did, and its history line, in one
        transaction; False when another party decided this attempt first (then nothing is
        written). The owner may decide its attempt whether it committed or not; recovery only an
        attempt that was committed and whose lease is over."""
        n = claimed["attempts"]
        guard = decide_filter(claimed, attempt.by, now)
        fact: Doc = {
            "_id": f"{claimed['_id']}#{n}",
            "delivery": claimed["_id"],
            "channel": claimed.get("channel"),
            "attempt": n,
            "outcome": attempt.outcome,
            "by": attempt.by,
            "started_at": claimed.get("attempt_started_at") or claimed.get("claimed_at"),
            "decided_at": now,
        }
        if attempt.error is not None:
            fact["error"] = attempt.error
        if attempt.provider_message_id is not None:
            fact["provider_message_id"] = attempt.provider_message_id

        async def both(session: AsyncClientSession) -> bool:
            result = await self.col.update_one(guard, update, session=session)
            if not result.matched_count:
                return False
            await self.attempts.insert_one(fact, session=session)
            return True

        return await in_transaction(self.client, both)

    async def mark_published(self, key: str, event_id: str) -> None:
        await self.col.update_one(
            published_filter(key, event_id), {"$set": {"outbox_pending": False}}
        )

    # -- what the dispatcher looks for --------------------------------------------------------
    async def due(self, now: datetime, limit: int) -> list[Doc]:
        """Pending deliveries whose next attempt is due, oldest first (`state_next_attempt`)."""
        cursor = self.col.find(due_filter(now)).sort("next_attempt_at", ASCENDING).limit(limit)
        return [doc async for doc in cursor]

    async def expired(self, now: datetime, limit: int) -> list[Doc]:
        """Claimed or sending deliveries whose lease ran out (`state_lease`): the owner died or
        hung. `claimed` ones are simply claimed again; `sending` ones go to recovery."""
        cursor = self.col.find(expired_filter(now)).limit(limit)
        return [doc async for doc in cursor]

    async def unpublished(self, older_than: datetime, limit: int) -> list[Doc]:
        """Decided outcomes whose event Kafka has not taken yet (`outbox_pending`)."""
        cursor = self.col.find(unpublished_filter(older_than), {"outbox": 1}).limit(limit)
        return [doc async for doc in cursor]


async def _insert_unordered(col: AsyncCollection[Doc], docs: list[Doc]) -> list[bool]:
    """Insert every document that is new; per document, True when it was inserted (a duplicate
    `_id` is refused for that document only; any other error raises)."""
    if len(docs) == 1:
        try:
            await col.insert_one(docs[0])
        except DuplicateKeyError:
            return [False]
        return [True]
    try:
        await col.insert_many(docs, ordered=False)
    except BulkWriteError as error:
        errors = error.details.get("writeErrors", [])
        if error.details.get("writeConcernErrors") or any(
            e.get("code") != DUPLICATE_KEY for e in errors
        ):
            raise
        refused = {e["index"] for e in errors}
        return [n not in refused for n in range(len(docs))]
    return [True] * len(docs)
