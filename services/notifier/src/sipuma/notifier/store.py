"""The delivery log: one document per ticket and channel in the notifier's own collection.

`_id` = `<channel>:<sha256(ticket number)[:32]>`, so the unique key is ticket + channel and the
plain ticket number is not the key. States:

    pending --claim, commit--> sending --sent-->   sent    (final)
       ^                          |    --failed-->  failed  (final)
       +------ retry due <--------+    (transient failure: next_attempt_at = now + backoff)

`claim` only inserts the attempt's mark; the sender's `commit()` (right before the provider may
get the message) marks the delivery `sending`. A failure before the commit goes straight back to
`pending` (or `failed`); an owner that died before committing is released after its lease.

Who may act is decided by **inserting a unique `_id`**, never by a conditional update: attempt n
of a delivery is claimed by inserting `<key>#<n>` into `<collection>_attempts`, and its outcome is
decided by inserting `<key>#<n>/done` (the owner finishing, or recovery after the lease ran out —
whoever inserts first). Only the winner then writes the delivery document. Why: FerretDB 1.24 (the
MongoDB-compatible server on machines without Docker) does not run a filtered
`find_one_and_update` / `update_one` as an atomic compare-and-set — concurrent claimers all "win" —
while a duplicate `_id` insert is refused atomically on MongoDB and FerretDB alike.

The `job` (address, ticket number, register number) is kept only while the delivery is open and
removed by the final update: personal data stays no longer than it is needed. The outcome event is
written into the same document (`outbox`) by the final update and published afterwards;
`outbox_pending` marks it until Kafka acknowledged it (single-document outbox).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

Doc = dict[str, Any]
PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"


def delivery_id(ticket_number: str, channel: str) -> str:
    digest = hashlib.sha256(ticket_number.encode("utf-8")).hexdigest()[:32]
    return f"{channel}:{digest}"


class DeliveryLog:
    def __init__(self, client: AsyncMongoClient[Doc], database: str, collection: str) -> None:
        self.client = client
        self.col: AsyncCollection[Doc] = client[database][collection]
        self.marks: AsyncCollection[Doc] = client[database][f"{collection}_attempts"]

    async def ensure_indexes(self) -> None:
        await self.col.create_index([("state", ASCENDING), ("next_attempt_at", ASCENDING)])
        await self.col.create_index([("state", ASCENDING), ("lease_until", ASCENDING)])
        await self.col.create_index([("outbox_pending", ASCENDING), ("updated_at", ASCENDING)])

    async def ping(self) -> bool:
        await self.client.admin.command("ping")
        return True

    async def _take(self, mark: str, doc: Doc) -> bool:
        """Insert a unique mark; True for the one caller that inserted it."""
        try:
            await self.marks.insert_one({"_id": mark, **doc})
        except DuplicateKeyError:
            return False
        return True

    async def record(self, doc: Doc) -> bool:
        """Insert the delivery unless it exists (any state); answer True when it was new."""
        try:
            await self.col.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def get(self, key: str) -> Doc | None:
        return await self.col.find_one({"_id": key})

    async def claim(self, key: str, owner: str, now: datetime, lease: timedelta) -> Doc | None:
        """Take a due pending delivery for one attempt; None when it is not ours to send.
        The delivery stays `pending` until `commit` (just before the provider may get it)."""
        doc = await self.get(key)
        if doc is None or doc["state"] != PENDING or doc["next_attempt_at"] > now:
            return None
        attempt = doc["attempts"] + 1
        mark = {"delivery": key, "attempt": attempt, "owner": owner, "lease_until": now + lease}
        if not await self._take(f"{key}#{attempt}", {**mark, "created_at": now}):
            await self._release_abandoned(key, attempt, now)
            return None
        return {**doc, "attempts": attempt, "owner": owner, "lease": lease}

    async def commit(self, claimed: Doc, now: datetime) -> bool:
        """Mark the claimed attempt `sending`: from here a crash leaves the outcome unknown.
        Filtered, so a claimer that stalled past its lease (and was released) cannot take the
        delivery back from a newer attempt."""
        sending = {
            "state": SENDING,
            "attempts": claimed["attempts"],
            "owner": claimed["owner"],
            "lease_until": now + claimed["lease"],
            "attempt_started_at": now,
            "updated_at": now,
        }
        marked = await self.col.update_one(
            {"_id": claimed["_id"], "state": PENDING, "attempts": claimed["attempts"] - 1},
            {"$set": sending},
        )
        if marked.modified_count != 1:
            return False
        claimed.update(sending)
        return True

    async def _release_abandoned(self, key: str, attempt: int, now: datetime) -> None:
        """A claim whose owner died before marking the delivery `sending` (so before any
        provider call): once its lease ran out, close that attempt so the next one can start."""
        mark = await self.marks.find_one({"_id": f"{key}#{attempt}"})
        if mark is None or mark["lease_until"] >= now:
            return
        doc = await self.get(key)
        if doc is None or doc["state"] != PENDING or doc["attempts"] != attempt - 1:
            return  # it did reach `sending`: recovery of stale attempts handles it
        update = {"$set": {"attempts": attempt, "next_attempt_at": now, "updated_at": now}}
        await self._decide(key, attempt, attempt - 1, update, "release")

    async def finish(self, claimed: Doc, update: Doc, by: str = "owner") -> bool:
        """Record what attempt `claimed["attempts"]` did; False when another party (recovery, or
        the owner before it died) decided first — then *that* decision is applied instead."""
        attempt = claimed["attempts"]
        expect = attempt if claimed["state"] == SENDING else attempt - 1  # committed or not
        update = {**update, "$set": {**update["$set"], "attempts": attempt}}
        return await self._decide(claimed["_id"], attempt, expect, update, by)

    async def _decide(self, key: str, attempt: int, expect: int, update: Doc, by: str) -> bool:
        """Insert the decision of an attempt (`<key>#<n>/done`, holding the update itself), then
        apply the winning decision to the delivery. A party that dies between the two steps is
        rolled forward by whoever tries to decide the same attempt next."""
        stored: Doc = {
            "delivery": key,
            "attempt": attempt,
            "by": by,
            "expect": expect,
            "set": update.get("$set", {}),
            "unset": sorted(update.get("$unset", {})),
        }
        won = await self._take(f"{key}#{attempt}/done", stored)
        decided = stored if won else await self.marks.find_one({"_id": f"{key}#{attempt}/done"})
        if decided is not None:
            apply: Doc = {"$set": decided["set"]}
            if decided["unset"]:
                apply["$unset"] = dict.fromkeys(decided["unset"], "")
            # `attempts` in the filter keeps a late roll-forward off a newer attempt.
            await self.col.update_one({"_id": key, "attempts": decided["expect"]}, apply)
        return won

    async def due(self, now: datetime, limit: int) -> list[str]:
        cursor = (
            self.col.find({"state": PENDING, "next_attempt_at": {"$lte": now}}, {"_id": 1})
            .sort("next_attempt_at", ASCENDING)
            .limit(limit)
        )
        return [doc["_id"] async for doc in cursor]

    async def stale(self, now: datetime, limit: int) -> list[Doc]:
        """Deliveries whose owner died (or hung) during an attempt: the lease ran out."""
        cursor = self.col.find({"state": SENDING, "lease_until": {"$lt": now}}).limit(limit)
        return [doc async for doc in cursor]

    async def unpublished(self, older_than: datetime, limit: int) -> list[Doc]:
        cursor = self.col.find(
            {"outbox_pending": True, "updated_at": {"$lte": older_than}}, {"outbox": 1}
        ).limit(limit)
        return [doc async for doc in cursor]

    async def mark_published(self, key: str, event_id: str) -> None:
        await self.col.update_one(
            {"_id": key, "outbox.event_id": event_id}, {"$set": {"outbox_pending": False}}
        )
