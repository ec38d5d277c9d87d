"""The complaint database through PyMongo's native async API (`AsyncMongoClient`).

Every query the registry issues is listed here and backed by an index in `INDEXES` (created at
start, before any data; `tests/integration/test_query_plans.py` checks each plan). Two kinds of
data (see the service README):

- **insert-only facts**, written once under a key that makes a duplicate impossible:
  `complaints` (the record as received), `register_numbers` (unique office/year/seq and complaint),
  `tickets` (one per tracking contact, unique hash), `status_changes` (unique complaint/step),
  `facts` (`_id` = event id: the consumer's de-duplication). A fact that causes an event carries
  its outbox entry in the same document;
- **atomically updated views**: `listing` (a complaint's summary for the staff list, rebuilt from
  its facts, versioned so a stale rebuild never overwrites a newer one), the outbox's `due` mark,
  and a complaint's `attention` mark (waiting for a person), removed with one update.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from functools import partial
from typing import Any

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure, PyMongoError

from sipuma.registry.batching import Grouped

Doc = dict[str, Any]

# Collections whose documents carry an outbox entry (`outbox.due` set while unsent).
OUTBOX_COLLECTIONS = ("register_numbers", "tickets", "status_changes")


WAITING: Doc = {"attention.since": {"$exists": True}}  # a complaint waiting for a person


def _outbox_due() -> IndexModel:
    # Sparse: only unsent entries are in it, so the relay's query reads what it sends.
    return IndexModel([("outbox.due", ASCENDING)], name="outbox_due", sparse=True)


INDEXES: dict[str, list[IndexModel]] = {
    "complaints": [
        IndexModel([("attention.since", ASCENDING)], name="attention_since", sparse=True),
    ],
    "listing": [
        IndexModel(
            [("office_code", ASCENDING), ("received_at", DESCENDING)], name="office_received"
        ),
        IndexModel([("received_at", DESCENDING)], name="received"),  # supervisors: all offices
    ],
    "register_numbers": [
        IndexModel(
            [("office_code", ASCENDING), ("year", ASCENDING), ("seq", ASCENDING)],
            name="office_year_seq",
            unique=True,
        ),
        IndexModel([("complaint_id", ASCENDING)], name="complaint_id", unique=True),
        IndexModel([("number", ASCENDING)], name="register_number", unique=True),
        _outbox_due(),
    ],
    "tickets": [
        IndexModel([("hash", ASCENDING)], name="ticket_hash", unique=True),
        IndexModel([("complaint_id", ASCENDING)], name="complaint_id"),
        _outbox_due(),
    ],
    "status_changes": [
        IndexModel(
            [("complaint_id", ASCENDING), ("step", ASCENDING)], name="complaint_step", unique=True
        ),
        _outbox_due(),
    ],
    "facts": [
        IndexModel([("complaint_id", ASCENDING), ("at", ASCENDING)], name="complaint_at"),
    ],
}


async def insert_run(collection: AsyncCollection[Doc], docs: list[Doc]) -> int:
    """Ordered `insert_many`: how many of `docs` were inserted — always the first n, an ordered
    insert stops at the first refused key. Raises on any other error."""
    try:
        await collection.insert_many(docs, ordered=True)
    except BulkWriteError as refused:
        errors = refused.details.get("writeErrors", [])
        if errors and errors[0].get("code") == 11000:
            return int(errors[0]["index"])
        raise
    return len(docs)


async def _insert_each(
    collection: AsyncCollection[Doc], docs: list[Doc]
) -> list[bool | BaseException]:
    """Unordered insert: per document True (inserted), False (key exists) or its error."""
    if len(docs) == 1:  # the usual idle case
        try:
            await collection.insert_one(docs[0])
        except DuplicateKeyError:
            return [False]
        return [True]
    outcome: list[bool | BaseException] = [True] * len(docs)
    try:
        await collection.insert_many(docs, ordered=False)
    except BulkWriteError as refused:
        for error in refused.details.get("writeErrors", []):
            code = error.get("code")
            outcome[int(error["index"])] = (
                False if code == 11000 else OperationFailure(str(error.get("errmsg")), code)
            )
    return outcome


async def _by_complaint(
    collection: AsyncCollection[Doc], complaint_ids: list[str]
) -> list[list[Doc] | BaseException]:
    """The documents of each complaint (unordered), in the order the ids were given."""
    wanted = list(dict.fromkeys(complaint_ids))
    query = {"complaint_id": wanted[0] if len(wanted) == 1 else {"$in": wanted}}
    found: dict[str, list[Doc]] = {}
    for doc in await collection.find(query).to_list():
        found.setdefault(doc["complaint_id"], []).append(doc)
    return [list(found.get(complaint_id, [])) for complaint_id in complaint_ids]


class Store:
    def __init__(self, client: AsyncMongoClient[Doc], database: str) -> None:
        self.client = client
        self.db: AsyncDatabase[Doc] = client[database]
        self.complaints: AsyncCollection[Doc] = self.db["complaints"]
        self.listing: AsyncCollection[Doc] = self.db["listing"]
        self.numbers: AsyncCollection[Doc] = self.db["register_numbers"]
        self.tickets: AsyncCollection[Doc] = self.db["tickets"]
        self.status_changes: AsyncCollection[Doc] = self.db["status_changes"]
        self.facts: AsyncCollection[Doc] = self.db["facts"]
        self._inserts: dict[str, Grouped[Doc, bool]] = {}
        # A complaint's facts and steps: reads of concurrent handlers share one `$in` query.
        self._reads = {
            name: Grouped(partial(_by_complaint, self.db[name]))
            for name in ("facts", "status_changes")
        }

    @classmethod
    def connect(cls, uri: str, database: str) -> Store:
        client: AsyncMongoClient[Doc] = AsyncMongoClient(
            uri, tz_aware=True, serverSelectionTimeoutMS=5000
        )
        return cls(client, database)

    async def ensure_indexes(self, attempts: int = 5) -> None:
        """Idempotent (an existing index with the same definition is left alone). Retried a
        few times: replicas starting together create the same collections at the same moment,
        and a store that is restarting answers a moment later."""
        for attempt in range(1, attempts + 1):
            try:
                for name, models in INDEXES.items():
                    await self.db[name].create_indexes(models)
                return
            except PyMongoError:
                if attempt == attempts:
                    raise
                await asyncio.sleep(0.5 * attempt)

    async def ping(self) -> bool:
        try:
            await self.client.admin.command("ping")
        except Exception:
            return False
        return True

    async def close(self) -> None:
        await self.client.close()

    async def insert_once(self, collection: AsyncCollection[Doc], doc: Doc) -> bool:
        """Insert; False when the key already exists (a redelivery or a lost race). Inserts of
        concurrent handlers into one collection share an unordered `insert_many`, each document
        inserted or refused on its own (`Grouped`)."""
        group = self._inserts.get(collection.name)
        if group is None:
            group = self._inserts[collection.name] = Grouped(partial(_insert_each, collection))
        return await group.add(doc)

    @staticmethod
    async def by_id(
        collection: AsyncCollection[Doc], key: str, projection: Doc | None = None
    ) -> Doc | None:
        return await collection.find_one({"_id": key}, projection)

    # -- complaints -------------------------------------------------------------------------------
    async def complaint(self, complaint_id: str) -> Doc | None:
        return await self.by_id(self.complaints, complaint_id)

    async def complaint_dates(self, complaint_id: str) -> Doc | None:
        """Only what the public timeline may show: no intake data."""
        return await self.by_id(self.complaints, complaint_id, {"received_at": 1, "saved_at": 1})

    async def needing_attention(self, limit: int) -> tuple[int, list[Doc]]:
        """Complaints waiting for a person (how many, and the oldest `limit` >= 1), without
        the intake data."""
        ordered = self.complaints.find(WAITING, {"intake": 0}).sort("attention.since", 1)
        return await self.count_needing_attention(), await ordered.limit(limit).to_list()

    async def count_needing_attention(self) -> int:
        return await self.complaints.count_documents(WAITING)

    async def attended(self, complaint_id: str) -> None:
        """Numbered: the complaint leaves the needs-attention list."""
        await self.complaints.update_one({"_id": complaint_id}, {"$unset": {"attention": ""}})

    # -- register numbers -------------------------------------------------------------------------
    async def number_of(self, complaint_id: str) -> Doc | None:
        return await self.numbers.find_one({"complaint_id": complaint_id})

    async def number_named(self, register_number: str) -> Doc | None:
        return await self.numbers.find_one({"number": register_number})

    async def count_numbers(self, office_code: str, year: int) -> int:
        return await self.numbers.count_documents({"office_code": office_code, "year": year})

    async def seqs_above(self, office_code: str, year: int, seq: int) -> list[int]:
        query = {"office_code": office_code, "year": year, "seq": {"$gt": seq}}
        return [d["seq"] for d in await self.numbers.find(query, {"seq": 1}).to_list()]

    # -- later events, tickets, status ------------------------------------------------------------
    async def facts_of(self, complaint_id: str) -> list[Doc]:
        """In the order they happened (ties: by event id, the same order everywhere)."""
        found = await self._reads["facts"].add(complaint_id)
        return sorted(found, key=lambda fact: (fact["at"], fact["_id"]))

    async def changes_of(self, complaint_id: str) -> list[Doc]:
        found = await self._reads["status_changes"].add(complaint_id)
        return sorted(found, key=lambda change: change["step"])

    async def tickets_of(self, complaint_id: str) -> list[Doc]:
        return await self.tickets.find({"complaint_id": complaint_id}).to_list()

    async def find_ticket(self, digest: str) -> Doc | None:
        return await self.tickets.find_one({"hash": digest}, {"complaint_id": 1})

    # -- listing --------------------------------------------------------------------------------
    async def listed(self, complaint_id: str) -> Doc | None:
        return await self.by_id(self.listing, complaint_id)

    async def set_view(self, complaint_id: str, view: Doc, version: int) -> None:
        """Replace the view unless a rebuild that saw more facts already wrote one."""
        await self.listing.update_one(
            {"_id": complaint_id, "version": {"$lte": version}},
            {"$set": {"view": view, "version": version}},
        )

    async def page(self, query: Doc, skip: int, limit: int) -> tuple[int, list[Doc]]:
        total = await self.listing.count_documents(query)
        ordered = self.listing.find(query).sort([("received_at", -1), ("_id", 1)])
        return total, await ordered.skip(skip).limit(limit).to_list()

    async def listed_between(
        self, office_codes: list[str] | None, start: datetime, end: datetime
    ) -> list[Doc]:
        """Listed complaints received in [start, end) (of these offices; None: all)."""
        query: Doc = {"received_at": {"$gte": start, "$lt": end}}
        if office_codes is not None:
            query["office_code"] = {"$in": office_codes}
        return await self.listing.find(query).to_list()
