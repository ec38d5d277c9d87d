"""The complaint database through PyMongo's native async API (`AsyncMongoClient`).

FerretDB 1.24 (SQLite) applies an update as read-modify-write outside a transaction: concurrent
updates of one document lose each other ($inc, $push, compare-and-set all lose; see FerretDB
issue #3040). Inserts are different: the `_id` and unique indexes are SQLite constraints and are
enforced atomically. So every fact the registry owns is written **once, as an insert** whose key
makes duplicates impossible, and the change it causes carries its outbox entry in the same insert:

- `complaints`: one per complaint (`_id` = complaint id), the intake data, never updated;
- `register_numbers`: one per number (`_id` = office/year/seq, unique complaint id), carrying
  its ComplaintRegistered outbox entry;
- `tickets`: one per tracking contact (`_id` = complaint/contact event) + TicketIssued;
- `ticket_hashes`: one per ticket (`_id` = the ticket's keyed hash → complaint id), inserted
  before the ticket, so the public tracking lookup is an `_id` read, never a scan;
- `status_changes`: one per step (`_id` = complaint/0001, /0002, ...) + ComplaintStatusChanged;
- `facts`: one per absorbed event (`_id` = complaint/0001, /0002, ..., unique event id — the
  consumer de-duplication): supplements, contact, evidence, notification outcomes, "number told";
- `listing`: one per *numbered* complaint (`_id` = complaint id): the summary and `view` that
  staff list and filter, a cache rebuilt from the facts above, never a source of truth;
- `outbox_pending`: a marker per status change whose event may not have left yet.
The same code runs on MongoDB 7/8, where these writes are atomic too.

What FerretDB 1.24 makes expensive (measured on its SQLite backend): it pushes only one filter
down to SQLite, `{"_id": <string>}`; any other filter, sort or `$in` decodes the whole
collection, so its cost grows with the database. Decoding one stored document costs several
milliseconds of server CPU (~4 ms for a complaint), an update reads and rewrites the document
(~11 ms for a complaint), an insert or an `_id` lookup that finds nothing ~0.5 ms. So the
consumer reads by `_id` only and never updates the complaint: a complaint's status steps and
facts are runs keyed complaint/0001, /0002, ... (contiguous: slot n is inserted only after
n-1 was seen, and nothing is deleted), read by probing until the first missing key; the highest
register number is found by probing keys (`highest_number`); the listing entry is small and is
inserted, with its view, once the complaint is numbered. Secondary indexes stay for MongoDB and
for uniqueness, which SQLite does enforce.

Each command also costs FerretDB a SQLite transaction: one `insert_many` of 16 documents costs
about a fifth of 16 `insert_one`s per document. So inserts are group-committed
(`GroupInsert`): what concurrent handlers insert into one collection while an insert is in
flight goes into the next `insert_many`, unordered, so each document is still inserted or
refused on its own, and each caller learns its own outcome.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure, PyMongoError

from sipuma.registry.domain import number_key

Doc = dict[str, Any]

INDEXES: dict[str, list[IndexModel]] = {
    "listing": [
        IndexModel(
            [("office_code", ASCENDING), ("received_at", DESCENDING)], name="office_received"
        ),
        IndexModel([("view.register_number", ASCENDING)], name="view_register_number"),
    ],
    "register_numbers": [
        IndexModel(
            [("office_code", ASCENDING), ("year", ASCENDING), ("seq", ASCENDING)],
            name="office_year_seq",
            unique=True,
        ),
        IndexModel([("complaint_id", ASCENDING)], name="complaint_id", unique=True),
        IndexModel([("number", ASCENDING)], name="register_number", unique=True),
    ],
    "tickets": [
        IndexModel([("hash", ASCENDING)], name="ticket_hash", unique=True),
        IndexModel([("complaint_id", ASCENDING)], name="complaint_id"),
    ],
    "status_changes": [
        IndexModel([("complaint_id", ASCENDING), ("step", ASCENDING)], name="complaint_step"),
    ],
    "facts": [
        IndexModel([("event_id", ASCENDING)], name="event_id", unique=True),
        IndexModel([("complaint_id", ASCENDING), ("at", ASCENDING)], name="complaint_at"),
    ],
}


def is_duplicate(exc: BaseException) -> bool:
    """A unique-key violation. FerretDB reports one on *update* as InternalError (code 1) with
    SQLite's 'UNIQUE constraint failed' instead of DuplicateKeyError (11000)."""
    if isinstance(exc, DuplicateKeyError):
        return True
    return isinstance(exc, OperationFailure) and (
        exc.code == 11000 or "UNIQUE constraint failed" in str(exc)
    )


def _write_error_is_duplicate(error: Doc) -> bool:
    return error.get("code") == 11000 or "UNIQUE constraint failed" in str(error.get("errmsg"))


async def insert_run(collection: AsyncCollection[Doc], docs: list[Doc]) -> int:
    """Ordered `insert_many`: how many of `docs` were inserted — always the first n, the insert
    stops at the first refused key (MongoDB and FerretDB alike). Raises on any other error."""
    try:
        await collection.insert_many(docs, ordered=True)
    except BulkWriteError as refused:
        errors = refused.details.get("writeErrors", [])
        if errors and _write_error_is_duplicate(errors[0]):
            return int(refused.details.get("nInserted", errors[0]["index"]))
        raise
    return len(docs)


class GroupInsert:
    """Group commit for one collection: `insert_once` calls that arrive while an insert is in
    flight share the next `insert_many` (unordered: each document inserted or refused on its
    own). The first waits for nothing. Each caller gets its own outcome; an error that leaves
    the outcome unknown (connection lost) is raised to every caller of that batch."""

    def __init__(self, collection: AsyncCollection[Doc], limit: int = 200) -> None:
        self._collection = collection
        self._limit = limit
        self._queue: list[tuple[Doc, asyncio.Future[bool]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def insert_once(self, doc: Doc) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.append((doc, future))
        if self._flushing is None:
            self._flushing = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue[: self._limit], self._queue[self._limit :]
                try:
                    outcome = await self._insert([doc for doc, _ in batch])
                except BaseException as error:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    if not isinstance(error, Exception):
                        raise
                    continue
                for (_, future), result in zip(batch, outcome, strict=True):
                    if not future.done():
                        if isinstance(result, BaseException):
                            future.set_exception(result)
                        else:
                            future.set_result(result)
        finally:
            self._flushing = None

    async def _insert(self, docs: list[Doc]) -> list[bool | BaseException]:
        if len(docs) == 1:  # the usual idle case: a plain insert
            try:
                await self._collection.insert_one(docs[0])
            except Exception as exc:
                if is_duplicate(exc):
                    return [False]
                raise
            return [True]
        outcome: list[bool | BaseException] = [True] * len(docs)
        try:
            await self._collection.insert_many(docs, ordered=False)
        except BulkWriteError as refused:
            for error in refused.details.get("writeErrors", []):
                index = int(error["index"])
                if _write_error_is_duplicate(error):
                    outcome[index] = False
                else:
                    outcome[index] = OperationFailure(str(error.get("errmsg")), error.get("code"))
        return outcome


# In `ticket_hashes`: the older tickets have their entries (see `backfill_ticket_hashes`).
BACKFILL_MARKER = "~backfilled"


def run_key(complaint_id: str, slot: int) -> str:
    """Key of a complaint's n-th status step or fact (1-based)."""
    return f"{complaint_id}/{slot:04d}"


class Store:
    def __init__(self, client: AsyncMongoClient[Doc], database: str) -> None:
        self.client = client
        self.db: AsyncDatabase[Doc] = client[database]
        self.complaints: AsyncCollection[Doc] = self.db["complaints"]
        self.listing: AsyncCollection[Doc] = self.db["listing"]
        self.numbers: AsyncCollection[Doc] = self.db["register_numbers"]
        self.tickets: AsyncCollection[Doc] = self.db["tickets"]
        self.ticket_hashes: AsyncCollection[Doc] = self.db["ticket_hashes"]
        self.status_changes: AsyncCollection[Doc] = self.db["status_changes"]
        self.facts: AsyncCollection[Doc] = self.db["facts"]
        self.pending: AsyncCollection[Doc] = self.db["outbox_pending"]
        self._groups: dict[str, GroupInsert] = {}

    @classmethod
    def connect(cls, uri: str, database: str) -> Store:
        client: AsyncMongoClient[Doc] = AsyncMongoClient(
            uri, tz_aware=True, serverSelectionTimeoutMS=5000
        )
        return cls(client, database)

    async def ensure_indexes(self, attempts: int = 8) -> None:
        """Idempotent, one index per command: FerretDB 1.24 panics (and drops the connection) on
        a createIndexes listing several indexes that already exist. Retried, since replicas
        starting together create the same collections at the same moment."""
        for attempt in range(attempts):
            try:
                for name, models in INDEXES.items():
                    for model in models:
                        await self.db[name].create_indexes([model])
                return
            except PyMongoError:
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(0.2 * (attempt + 1) + random.random() * 0.3)  # noqa: S311

    async def ping(self) -> bool:
        try:
            await self.client.admin.command("ping")
        except Exception:
            return False
        return True

    async def close(self) -> None:
        await self.client.close()

    async def insert_once(self, collection: AsyncCollection[Doc], doc: Doc) -> bool:
        """Insert; False when the key already exists (a redelivery or a lost race).
        Group-committed with concurrent inserts into the same collection (`GroupInsert`)."""
        group = self._groups.get(collection.name)
        if group is None:
            group = self._groups[collection.name] = GroupInsert(collection)
        return await group.insert_once(doc)

    async def by_id(
        self, collection: AsyncCollection[Doc], key: str, projection: Doc | None = None
    ) -> Doc | None:
        return await collection.find_one({"_id": key}, projection)

    async def complaint(self, complaint_id: str) -> Doc | None:
        return await self.by_id(self.complaints, complaint_id)

    async def listed(self, complaint_id: str) -> Doc | None:
        return await self.by_id(self.listing, complaint_id)

    async def number_of(self, complaint_id: str) -> Doc | None:
        """A scan on FerretDB: the consumer goes by the listing's `number_id` or a key range."""
        return await self.numbers.find_one({"complaint_id": complaint_id})

    async def number_between(
        self, complaint_id: str, office_code: str, year: int, low: int, high: int
    ) -> Doc | None:
        """The complaint's number among seqs low+1..high, newest first, by `_id` reads."""
        for seq in range(high, low, -1):
            found = await self.by_id(self.numbers, number_key(office_code, year, seq))
            if found is not None and found["complaint_id"] == complaint_id:
                return found
        return None

    async def highest_number(self, office_code: str, year: int, known: int = 0) -> int:
        """The highest seq of (office, year), `known` being one seen to exist (0: none).

        Numbers are gapless (1..n all exist), so "key exists" is true up to n and false after:
        gallop up from `known`, then bisect; O(log n) `_id` reads instead of a scan."""

        async def exists(seq: int) -> bool:
            key = number_key(office_code, year, seq)
            return await self.by_id(self.numbers, key, {"_id": 1}) is not None

        low, step = known, 1  # low exists (or is 0)
        high = low + step
        while await exists(high):
            low, step = high, step * 2
            high = low + step
        while high - low > 1:  # low exists, high does not
            middle = (low + high) // 2
            if await exists(middle):
                low = middle
            else:
                high = middle
        return low

    async def run_of(self, collection: AsyncCollection[Doc], complaint_id: str) -> list[Doc]:
        """The complaint's run complaint/0001, /0002, ... up to the first missing key."""
        found: list[Doc] = []
        while True:
            doc = await self.by_id(collection, run_key(complaint_id, len(found) + 1))
            if doc is None:
                return found
            found.append(doc)

    async def facts_of(self, complaint_id: str) -> list[Doc]:
        facts = await self.run_of(self.facts, complaint_id)
        return sorted(facts, key=lambda fact: fact["at"])  # stable: slot order on equal times

    async def changes_of(self, complaint_id: str) -> list[Doc]:
        return await self.run_of(self.status_changes, complaint_id)

    async def tickets_of(self, complaint_id: str) -> list[Doc]:
        return await self.tickets.find({"complaint_id": complaint_id}, {"outbox": 0}).to_list()

    async def unlisted(self, limit: int = 1000) -> list[Doc]:
        """Complaints whose registration did not finish (no listing entry): two scans, for the
        start-up recovery only."""
        listed = {d["_id"] for d in await self.listing.find({}, {"_id": 1}).to_list()}
        found: list[Doc] = []
        for doc in await self.complaints.find({}, {"_id": 1}).to_list():
            if doc["_id"] not in listed:
                complaint = await self.complaint(doc["_id"])
                if complaint is not None:
                    found.append(complaint)
                if len(found) >= limit:
                    break
        return found

    async def scan_listing(self, query: Doc) -> list[Doc]:
        return await self.listing.find(query).to_list()

    async def intake_facts(self, complaint_ids: list[str]) -> dict[str, list[Doc]]:
        """Facts that end the intake (ticket sent, number told), grouped by complaint."""
        found: dict[str, list[Doc]] = {}
        types = ["sipuma.notification.sent.v1", "sipuma.complaint.register-number-communicated.v1"]
        for start in range(0, len(complaint_ids), 500):
            chunk = complaint_ids[start : start + 500]
            query = {"complaint_id": {"$in": chunk}, "type": {"$in": types}}
            for fact in await self.facts.find(query).to_list():
                found.setdefault(fact["complaint_id"], []).append(fact)
        return found

    async def find_ticket(self, digest: str) -> Doc | None:
        return await self.by_id(self.ticket_hashes, digest, {"complaint_id": 1})

    async def backfill_ticket_hashes(self) -> int:
        """Lookup entries for tickets issued before `ticket_hashes` existed. The full pass runs
        once per store: a marker (never a hex digest, so never a lookup hit) is written after
        it, and every later start pays one `_id` read. Returns how many entries were added."""
        if await self.by_id(self.ticket_hashes, BACKFILL_MARKER) is not None:
            return 0
        entries = [
            {"_id": t["hash"], "complaint_id": t["complaint_id"]}
            async for t in self.tickets.find({}, {"hash": 1, "complaint_id": 1})
        ]
        added = len(entries)
        if entries:
            try:
                await self.ticket_hashes.insert_many(entries, ordered=False)
            except BulkWriteError as refused:  # entries that exist (new tickets, a replica)
                errors = refused.details.get("writeErrors", [])
                if not all(_write_error_is_duplicate(e) for e in errors):
                    raise
                added = int(refused.details.get("nInserted", added - len(errors)))
        await self.insert_once(self.ticket_hashes, {"_id": BACKFILL_MARKER})
        return added

    async def complaint_dates(self, complaint_id: str) -> Doc | None:
        """Only what the public timeline may show: no intake data."""
        return await self.complaints.find_one({"_id": complaint_id}, {"saved_at": 1})

    async def page(self, query: Doc, skip: int, limit: int) -> tuple[int, list[Doc]]:
        total = await self.listing.count_documents(query)
        ordered = self.listing.find(query).sort([("received_at", -1), ("_id", 1)])
        return total, await ordered.skip(skip).limit(limit).to_list()
