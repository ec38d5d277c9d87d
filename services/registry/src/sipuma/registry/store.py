"""The complaint database through PyMongo's native async API (`AsyncMongoClient`).

FerretDB 1.24 (SQLite) applies an update as read-modify-write outside a transaction: concurrent
updates of one document lose each other ($inc, $push, compare-and-set all lose; see FerretDB
issue #3040). Inserts are different: the `_id` and unique indexes are SQLite constraints and are
enforced atomically. So every fact the registry owns is written **once, as an insert** whose key
makes duplicates impossible, and the change it causes carries its outbox entry in the same insert:

- `complaints`: one per complaint (`_id` = complaint id), the intake data; `view` is a cache
  rebuilt from the facts below for listing and filtering, never a source of truth;
- `register_numbers`: one per number (`_id` = office/year/seq, unique complaint id), carrying
  its ComplaintRegistered outbox entry;
- `tickets`: one per tracking contact (`_id` = complaint/contact event) + TicketIssued;
- `status_changes`: one per step (`_id` = complaint/step) + ComplaintStatusChanged;
- `facts`: one per absorbed event (`_id` = event id): supplements, contact, evidence,
  notification outcomes, "register number told" — this is the consumer de-duplication.
The same code runs on MongoDB 7/8, where these writes are atomic too.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure, PyMongoError

Doc = dict[str, Any]
OUTBOX_COLLECTIONS = ("register_numbers", "tickets", "status_changes")

INDEXES: dict[str, list[IndexModel]] = {
    "complaints": [
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
        IndexModel([("outbox.sent", ASCENDING)], name="outbox_sent"),
    ],
    "tickets": [
        IndexModel([("hash", ASCENDING)], name="ticket_hash", unique=True),
        IndexModel([("complaint_id", ASCENDING)], name="complaint_id"),
        IndexModel([("outbox.sent", ASCENDING)], name="outbox_sent"),
    ],
    "status_changes": [
        IndexModel([("complaint_id", ASCENDING), ("step", ASCENDING)], name="complaint_step"),
        IndexModel([("outbox.sent", ASCENDING)], name="outbox_sent"),
    ],
    "facts": [IndexModel([("complaint_id", ASCENDING), ("at", ASCENDING)], name="complaint_at")],
}


def is_duplicate(exc: BaseException) -> bool:
    """A unique-key violation. FerretDB reports one on *update* as InternalError (code 1) with
    SQLite's 'UNIQUE constraint failed' instead of DuplicateKeyError (11000)."""
    if isinstance(exc, DuplicateKeyError):
        return True
    return isinstance(exc, OperationFailure) and (
        exc.code == 11000 or "UNIQUE constraint failed" in str(exc)
    )


class Store:
    def __init__(self, client: AsyncMongoClient[Doc], database: str) -> None:
        self.client = client
        self.db: AsyncDatabase[Doc] = client[database]
        self.complaints: AsyncCollection[Doc] = self.db["complaints"]
        self.numbers: AsyncCollection[Doc] = self.db["register_numbers"]
        self.tickets: AsyncCollection[Doc] = self.db["tickets"]
        self.status_changes: AsyncCollection[Doc] = self.db["status_changes"]
        self.facts: AsyncCollection[Doc] = self.db["facts"]

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
        """Insert; False when the key already exists (a redelivery or a lost race)."""
        try:
            await collection.insert_one(doc)
        except Exception as exc:
            if is_duplicate(exc):
                return False
            raise
        return True

    async def complaint(self, complaint_id: str) -> Doc | None:
        return await self.complaints.find_one({"_id": complaint_id})

    async def number_of(self, complaint_id: str) -> Doc | None:
        return await self.numbers.find_one({"complaint_id": complaint_id})

    async def highest_number(self, office_code: str, year: int) -> int:
        top = (
            await self.numbers.find({"office_code": office_code, "year": year}, {"seq": 1})
            .sort("seq", DESCENDING)
            .limit(1)
            .to_list()
        )
        return int(top[0]["seq"]) if top else 0

    async def facts_of(self, complaint_id: str) -> list[Doc]:
        return await self.facts.find({"complaint_id": complaint_id}).sort("at", 1).to_list()

    async def changes_of(self, complaint_id: str) -> list[Doc]:
        return (
            await self.status_changes.find({"complaint_id": complaint_id}).sort("step", 1).to_list()
        )

    async def tickets_of(self, complaint_id: str) -> list[Doc]:
        return await self.tickets.find({"complaint_id": complaint_id}, {"outbox": 0}).to_list()

    async def scan_complaints(self, query: Doc) -> list[Doc]:
        return await self.complaints.find(query, {"intake": 0}).to_list()

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
        return await self.tickets.find_one({"hash": digest}, {"complaint_id": 1})

    async def complaint_dates(self, complaint_id: str) -> Doc | None:
        """Only what the public timeline may show: no intake data."""
        return await self.complaints.find_one({"_id": complaint_id}, {"saved_at": 1})

    async def page(self, query: Doc, skip: int, limit: int) -> tuple[int, list[Doc]]:
        total = await self.complaints.count_documents(query)
        found = self.complaints.find(query, {"intake": 0})
        ordered = found.sort([("received_at", -1), ("_id", 1)])
        return total, await ordered.skip(skip).limit(limit).to_list()
