"""The delivery log: one document per ticket and channel in the notifier's own collection.

`_id` = `<channel>:<sha256(ticket number)[:32]>`, so the unique key is ticket + channel and the
plain ticket number is not the key. States of the delivery document:

    pending --attempt n decided: sent-->    sent    (final)
       |    --attempt n decided: failed-->  failed  (final)
       +--- attempt n decided: retry (next_attempt_at = now + backoff), or released --+
       ^                                                                              |
       +------------------------------------------------------------------------------+
    pending --owner died after committing, lease over--> sending --recovery--> pending | failed

Who may act is decided by **inserting a unique `_id`** into `<collection>_attempts`, never by a
conditional update:
- `<key>#<n>`: attempt n is claimed (with a lease);
- `<key>#<n>/go`: attempt n is committed — inserted by the sender's `commit()` right before the
  provider may get the message — *or* released (the claimer died before committing and its lease
  ran out): whoever inserts first; a released claimer cannot commit, a committed attempt is never
  released;
- `<key>#<n>/done`: attempt n's outcome, holding the update itself (the owner finishing, or
  recovery after the lease ran out — whoever inserts first). Only the winner writes the delivery.
The delivery document is written once per attempt (when the decision is applied), not at claim
or commit: while attempt n runs it shows `pending` at attempt n-1. An owner that died after
committing is found by the next claimer (its `<key>#<n>` collides): once the commit's lease is
over, the delivery is marked `sending`, and the recovery of stale attempts applies the
unknown-outcome rule (see `service.py`).

Why inserts: FerretDB 1.24 (the MongoDB-compatible server on machines without Docker) does not
run a filtered `find_one_and_update` / `update_one` as an atomic compare-and-set — concurrent
claimers all "win" — while a duplicate `_id` insert is refused atomically on MongoDB and FerretDB
alike. And they are cheap there: FerretDB 1.24 on SQLite serves *only* inserts through an index
(its `_id` index is declared as `_ferretdb_sjson->"_id"` but looked up as
`_ferretdb_sjson->'$._id'`, which SQLite does not match), so every read or update by `_id` reads
the table, and a filter with more than `_id` even decodes every document. Hence marks are
inserted in groups (`GroupInsert`), a Kafka batch's deliveries in one `insert_many`, and the
delivery is written once per attempt.

The `job` (address, ticket number, register number) is kept only while the delivery is open and
removed by the final update: personal data stays no longer than it is needed. The outcome event is
written into the same document (`outbox`) by the final update (and into the decision mark before
it); the owner publishes it as soon as the decision is durable and writes the delivery already
marked published, so `outbox_pending` stays set only when Kafka did not take the event (the
dispatcher publishes it later, same event id).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError

Doc = dict[str, Any]
BeforeApply = Callable[[], Awaitable[Doc]]
PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
DUPLICATE_KEY = 11000


def delivery_id(ticket_number: str, channel: str) -> str:
    digest = hashlib.sha256(ticket_number.encode("utf-8")).hexdigest()[:32]
    return f"{channel}:{digest}"


class DeliveryLog:
    def __init__(self, client: AsyncMongoClient[Doc], database: str, collection: str) -> None:
        self.client = client
        self.col: AsyncCollection[Doc] = client[database][collection]
        self.marks: AsyncCollection[Doc] = client[database][f"{collection}_attempts"]
        self._ferretdb: bool | None = None  # see `_update_if`
        self._mark_inserts = GroupInsert(self.marks)

    async def ensure_indexes(self) -> None:
        await self.col.create_index([("state", ASCENDING), ("next_attempt_at", ASCENDING)])
        await self.col.create_index([("state", ASCENDING), ("lease_until", ASCENDING)])
        await self.col.create_index([("outbox_pending", ASCENDING), ("updated_at", ASCENDING)])

    async def ping(self) -> bool:
        await self.client.admin.command("ping")
        return True

    async def _take(self, mark: str, doc: Doc) -> bool:
        """Insert a unique mark; True for the one caller that inserted it."""
        return await self._mark_inserts.insert({"_id": mark, **doc})

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

    async def get(self, key: str) -> Doc | None:
        return await self.col.find_one({"_id": key})

    async def claim(
        self, key: str, owner: str, now: datetime, lease: timedelta, current: Doc | None = None
    ) -> Doc | None:
        """Take a due pending delivery for one attempt; None when it is not ours to send.
        The delivery stays `pending` until `commit` (just before the provider may get it).
        `current` is the delivery as the caller last read (or wrote) it, saving a read: a stale
        copy cannot win, because every attempt number's mark exists before its state changes,
        so a stale `attempts` collides with the mark already there."""
        doc = current if current is not None else await self.get(key)
        if doc is None or doc["state"] != PENDING or doc["next_attempt_at"] > now:
            return None
        attempt = doc["attempts"] + 1
        lease_until = now + lease
        mark = {"delivery": key, "attempt": attempt, "owner": owner, "lease_until": lease_until}
        if not await self._take(f"{key}#{attempt}", {**mark, "created_at": now}):
            await self._release_abandoned(key, attempt, now)
            return None
        return {
            **doc,
            "attempts": attempt,
            "owner": owner,
            "lease": lease,
            "claim_lease_until": lease_until,
        }

    async def commit(self, claimed: Doc, now: datetime) -> bool:
        """Go ahead with the claimed attempt: from here a crash leaves the outcome unknown.
        Decided by inserting `<key>#<n>/go` (with a fresh lease), which the release of an
        abandoned claim inserts too (see `_release_abandoned`): a claimer that stalled past its
        lease and was released cannot commit any more, and a committed attempt is never
        released. The delivery document is not written here (one write less per message): it
        stays `pending` at attempt n-1 until the attempt's decision is applied, and if the owner
        dies in between, the next claimer finds the `/go` mark and hands the attempt to the
        recovery of stale attempts (the unknown-outcome rule)."""
        key, attempt = claimed["_id"], claimed["attempts"]
        lease_until = now + claimed["lease"]
        go = {
            "delivery": key,
            "attempt": attempt,
            "owner": claimed["owner"],
            "lease_until": lease_until,
            "at": now,
        }
        if not await self._take(f"{key}#{attempt}/go", go):
            return False
        claimed.update({"committed": True, "lease_until": lease_until, "attempt_started_at": now})
        return True

    async def _release_abandoned(self, key: str, attempt: int, now: datetime) -> None:
        """A claim whose lease ran out. If its owner never committed (so never called the
        provider), close that attempt so the next one can start. If it committed and its
        lease ran out too, the owner is presumed dead mid-call: mark the delivery `sending`,
        so the recovery of stale attempts (the unknown-outcome rule) takes it over."""
        mark = await self.marks.find_one({"_id": f"{key}#{attempt}"})
        if mark is None or mark["lease_until"] >= now:
            return
        released = {"delivery": key, "attempt": attempt, "released": True, "at": now}
        if await self._take(f"{key}#{attempt}/go", released):
            update = {"$set": {"attempts": attempt, "next_attempt_at": now, "updated_at": now}}
            await self._decide(key, attempt, update, "release")
            return
        go = await self.marks.find_one({"_id": f"{key}#{attempt}/go"})
        if go is None or go.get("released") or go["lease_until"] >= now:
            return  # released by someone else, or committed and still within its lease
        sending = {
            "state": SENDING,
            "attempts": attempt,
            "owner": go.get("owner"),
            "lease_until": go["lease_until"],
            "attempt_started_at": go.get("at"),
            "updated_at": now,
        }
        await self._update_if(key, {"state": PENDING, "attempts": attempt - 1}, {"$set": sending})

    async def finish(
        self,
        claimed: Doc,
        update: Doc,
        by: str = "owner",
        before_apply: BeforeApply | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Record what attempt `claimed["attempts"]` did; False when another party (recovery, or
        the owner before it died) decided first — then *that* decision is applied instead.
        `before_apply` runs only for the winner, after its decision is durable and before the
        delivery is written; the fields it returns are added to that write (the service uses it
        to publish the outcome event first and write `outbox_pending: false` in the same update).
        `now`: the owner's clock; while the claim's lease runs, no other party can have decided
        (or rolled forward) this attempt, so the winning owner writes by `_id` alone."""
        attempt = claimed["attempts"]
        update = {**update, "$set": {**update["$set"], "attempts": attempt}}
        lease_until = claimed.get("claim_lease_until")
        in_lease = (
            by == "owner"
            and now is not None
            and lease_until is not None
            and now + claimed["lease"] / 2 < lease_until  # half the lease: room for clock skew
        )
        return await self._decide(
            claimed["_id"], attempt, update, by, before_apply, unguarded=in_lease
        )

    async def _decide(
        self,
        key: str,
        attempt: int,
        update: Doc,
        by: str,
        before_apply: BeforeApply | None = None,
        unguarded: bool = False,
    ) -> bool:
        """Insert the decision of an attempt (`<key>#<n>/done`, holding the update itself), then
        apply the winning decision to the delivery. A party that dies between the two steps is
        rolled forward by whoever tries to decide the same attempt next (with the decision as
        stored: an outcome event not yet acknowledged by Kafka stays `outbox_pending`).

        The delivery shows attempt n-1 until decision n is applied (or n, when recovery marked
        it `sending` after its owner died, or when decision n was applied already: applying it
        again changes nothing). Any other `attempts` means a later attempt was decided: the
        guard keeps a late roll-forward off it."""
        stored: Doc = {
            "delivery": key,
            "attempt": attempt,
            "by": by,
            "set": update.get("$set", {}),
            "unset": sorted(update.get("$unset", {})),
        }
        won = await self._take(f"{key}#{attempt}/done", stored)
        decided = stored if won else await self.marks.find_one({"_id": f"{key}#{attempt}/done"})
        if decided is not None:
            apply: Doc = {"$set": decided["set"]}
            if won and before_apply is not None:
                apply["$set"] = {**decided["set"], **await before_apply()}
            if decided["unset"]:
                apply["$unset"] = dict.fromkeys(decided["unset"], "")
            if won and unguarded:
                await self.col.update_one({"_id": key}, apply)
            else:
                n = decided["attempt"]
                await self._update_if(key, {"attempts": (n - 1, n)}, apply)
        return won

    async def open_work(
        self, now: datetime, published_before: datetime, limit: int
    ) -> tuple[list[Doc], list[Doc], list[Doc]]:
        """What the dispatcher has to do, in one query: (due pending deliveries, stale `sending`
        ones, unpublished outcomes). One scan instead of three: FerretDB 1.24 on SQLite uses no
        secondary index for these filters, so every query reads the whole collection."""
        cursor = (
            self.col.find(
                {
                    "$or": [
                        {"state": PENDING, "next_attempt_at": {"$lte": now}},
                        {"state": SENDING, "lease_until": {"$lt": now}},
                        {"outbox_pending": True, "updated_at": {"$lte": published_before}},
                    ]
                }
            )
            .sort("next_attempt_at", ASCENDING)
            .limit(limit)
        )
        due: list[Doc] = []
        stale: list[Doc] = []
        unpublished: list[Doc] = []
        async for doc in cursor:
            if doc.get("outbox_pending") and doc["updated_at"] <= published_before:
                unpublished.append(doc)
            elif doc["state"] == PENDING:
                due.append(doc)
            elif doc["state"] == SENDING:
                stale.append(doc)
        return due, stale, unpublished

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
        await self._update_if(
            key, {"outbox.event_id": event_id}, {"$set": {"outbox_pending": False}}
        )

    async def _update_if(self, key: str, guard: Doc, update: Doc) -> bool:
        """Update delivery `key` if its fields equal `guard` (a tuple: one of these values);
        True when it was updated.

        On MongoDB one filtered `update_one` (atomic, served by the `_id` index). FerretDB 1.24 on
        SQLite pushes a filter down to SQL only when it is exactly `{"_id": …}`: any other filter
        reads and decodes the whole collection, so every guarded update would grow slower as the
        log grows (measured: ~1 ms on a fresh log, ~95 ms at 2,000 deliveries). There the
        delivery is read by `_id`, the guard checked here, and written by `_id` — the same
        read-modify-write FerretDB itself performs for a filtered update (it is not atomic there
        either, which is why no correctness decision rests on it: the marks decide)."""
        if not await self._scans_filters():
            where = {k: {"$in": list(v)} if isinstance(v, tuple) else v for k, v in guard.items()}
            result = await self.col.update_one({"_id": key, **where}, update)
            return bool(result.matched_count)
        doc = await self.get(key)
        if doc is None or not all(
            _field(doc, path) in (value if isinstance(value, tuple) else (value,))
            for path, value in guard.items()
        ):
            return False
        await self.col.update_one({"_id": key}, update)
        return True

    async def _scans_filters(self) -> bool:
        if self._ferretdb is None:
            info = await self.client.admin.command("buildInfo")
            self._ferretdb = "ferretdbVersion" in info
        return self._ferretdb


class GroupInsert:
    """Unique-key inserts into one collection, sent together: while one `insert_many` is in
    flight, the inserts asked for meanwhile wait and go in the next one (no added delay when
    there is no contention). Each caller still learns whether *its* document was inserted or
    refused as a duplicate — the arbitration is the same as one `insert_one` each, at a
    fraction of the cost per document (on FerretDB 1.24 one command costs about as much as
    fifty documents in one command)."""

    def __init__(self, col: AsyncCollection[Doc], most: int = 200) -> None:
        self.col, self.most = col, most
        self._waiting: list[tuple[Doc, asyncio.Future[bool]]] = []
        self._sender: asyncio.Task[None] | None = None

    async def insert(self, doc: Doc) -> bool:
        """True when `doc` was inserted, False when its `_id` exists; raises what the store
        raised for anything else."""
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((doc, answer))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send(), name="group-insert")
        return await answer

    async def _send(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[: self.most], self._waiting[self.most :]
            docs = [doc for doc, _ in batch]
            try:
                inserted = await _insert_unordered(self.col, docs)
            except Exception as error:
                for _, answer in batch:
                    if not answer.done():
                        answer.set_exception(error)
                continue
            for (_, answer), new in zip(batch, inserted, strict=True):
                if not answer.done():
                    answer.set_result(new)


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


_MISSING = object()


def _field(doc: Doc, path: str) -> Any:
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value
