"""The complaint database through PyMongo's native async API (`AsyncMongoClient`): the one
adapter of `ports.ComplaintRepository`, and the only module of the registry that touches a
collection.

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
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, IndexModel, ReturnDocument, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.cursor import AsyncCursor
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, OperationFailure

from sipuma.registry.categories import UNCATEGORISED
from sipuma.registry.domain import SORTS, ComplaintFilter, Counted, Doc
from sipuma.registry.ports import OUTBOX_KINDS, OutboxKind
from sipuma.registry.views import COMPLAINANT_CORRECTED
from sipuma.shared import events as ev
from sipuma.shared.audit_log import MongoAuditLog
from sipuma.shared.grouped import Grouped
from sipuma.shared.identity_vault import ERASED, IdentityKeySettings, IdentityVault
from sipuma.shared.mongo import create_indexes, insert_new, ordered_index

WAITING: Doc = {"attention.since": {"$exists": True}}  # a complaint waiting for a person


EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # before any deadline: "has a deadline" as a range


def _outbox_due() -> IndexModel:
    # Sparse: only unsent entries are in it, so the relay's query reads what it sends.
    return IndexModel([("outbox.due", ASCENDING)], name="outbox_due", sparse=True)


INDEXES: dict[str, list[IndexModel]] = {
    "complaints": [
        IndexModel([("attention.since", ASCENDING)], name="attention_since", sparse=True),
        # The possible-duplicate hint: blind NIK/phone keys (multikey), never the values.
        IndexModel([("match_keys", ASCENDING)], name="match_keys", sparse=True),
    ],
    # The staff list's order (newest first, `_id` breaking ties) is the key order of these
    # ordered indexes, so a page is read from the index: its cost does not follow the data.
    "listing": [
        ordered_index(
            [("office_code", ASCENDING), ("received_at", DESCENDING), ("_id", ASCENDING)],
            name="office_received_id",
        ),
        # supervisors: all offices
        ordered_index([("received_at", DESCENDING), ("_id", ASCENDING)], name="received_id"),
        # Sparse: only open complaints with a reminder to come are in it (reminders.py).
        IndexModel([("next_alert_at", ASCENDING)], name="next_alert", sparse=True),
        # Sparse: open complaints with a deadline; the overdue list reads it oldest first.
        IndexModel([("due_at", ASCENDING)], name="due_at", sparse=True),
        # The staff list's deadline order (`sort=due`): overdue first, then by due date.
        ordered_index(
            [("office_code", ASCENDING), ("due_at", ASCENDING), ("_id", ASCENDING)],
            name="office_due_id",
        ),
        ordered_index([("due_at", ASCENDING), ("_id", ASCENDING)], name="due_id"),
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
    # Category steps (kategori pengaduan): one per (complaint, step), like the status steps.
    "categorisations": [
        IndexModel(
            [("complaint_id", ASCENDING), ("step", ASCENDING)], name="complaint_step", unique=True
        ),
        _outbox_due(),
    ],
    "deadline_alerts": [
        IndexModel([("complaint_id", ASCENDING)], name="complaint_id"),
        _outbox_due(),
    ],
    "erasures": [_outbox_due()],  # `_id` = complaint id: one erasure each
    "duplicate_hints": [_outbox_due()],  # `_id` = complaint id: one hint each
    # `_id` = seq (unique: one entry n); per complaint and per officer for the supervisors' lists
    "identity_audit": [
        IndexModel([("complaint_id", ASCENDING), ("seq", ASCENDING)], name="complaint_seq"),
        IndexModel([("officer_id", ASCENDING), ("seq", ASCENDING)], name="officer_seq"),
        _outbox_due(),
    ],
    "facts": [
        IndexModel([("complaint_id", ASCENDING), ("at", ASCENDING)], name="complaint_at"),
    ],
}
# Replaced by the ordered listing indexes (a store kept from an older release still has them).
RETIRED_INDEXES: dict[str, list[str]] = {"listing": ["office_received", "received"]}
# The staff list counts its matches up to here (or up to the page asked for): beyond it the
# answer says "more than", because an exact count costs what the range holds.
COUNT_CAP = 1000


async def _insert_run(collection: AsyncCollection[Doc], docs: list[Doc]) -> int:
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
        return [await insert_new(collection, docs[0])]
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
    # Keyed by `_id`: a read of many complaints spans several batches, and a DocumentDB cursor
    # returns a document updated between two of them again (a relay marking a step sent).
    by_id = {doc["_id"]: doc for doc in await collection.find(query).to_list()}
    found: dict[str, list[Doc]] = {}
    for doc in by_id.values():
        found.setdefault(doc["complaint_id"], []).append(doc)
    return [list(found.get(complaint_id, [])) for complaint_id in complaint_ids]


# Identity and free texts, encrypted under the complaint's own data key (shared.identity_vault):
# fields of the intake record, the listing's tracking contact, and the data of these facts.
SEALED_INTAKE = ("complainant", "elements", "tracking_contact", "paper_archive_ref")
SEALED_LISTING = ("tracking_contact",)
# The intake's sealed fields are encrypted together, as one sub-document under SEALED_BUNDLE, with
# their names in clear under SEALED_NAMES (names only, no personal data): one libmongocrypt
# encryption per complaint instead of one per field (issue 15 part 5: each is its own context,
# ~12 % of bench (b) with two or three per complaint). The bundle is the version marker: records
# sealed field by field before it are opened as they always were.
SEALED_BUNDLE = "sealed"
SEALED_NAMES = "sealed_fields"
SEALED_FACTS = frozenset(
    {
        ev.ComplaintSupplemented.TYPE,
        ev.TrackingContactProvided.TYPE,
        ev.RegisterNumberCommunicated.TYPE,
        COMPLAINANT_CORRECTED,  # phone, address, e-mail corrected by staff (issue 20)
    }
)


def _bundled(intake: Doc) -> Doc:
    """The intake record with its sealed fields moved into one sub-document (to be sealed)."""
    names = [name for name in SEALED_INTAKE if intake.get(name) is not None]
    if not names:
        return intake
    kept = {key: value for key, value in intake.items() if key not in names}
    kept[SEALED_NAMES] = names
    kept[SEALED_BUNDLE] = {name: intake[name] for name in names}
    return kept


def _unbundled(intake: Doc) -> Doc:
    """The opened intake record as it was given: the bundle's fields back in place; each reads
    as ERASED when the complaint's key was deleted."""
    if SEALED_BUNDLE not in intake:
        return intake  # sealed field by field (before the bundle), or nothing to seal
    opened = dict(intake)
    bundle = opened.pop(SEALED_BUNDLE)
    names = opened.pop(SEALED_NAMES, None) or []
    if bundle == ERASED:
        opened.update({name: dict(ERASED) for name in names})
    else:
        opened.update(bundle)
    return opened


def _containing(text: str) -> re.Pattern[str]:
    """Contains `text` (taken literally), any case: a BSON regular expression."""
    # A BSON regular expression cannot hold NUL (PyMongo would refuse the query: a 500).
    return re.compile(re.escape(text.replace("\x00", "").strip()), re.IGNORECASE)


def complainant_name_condition(keys: list[str]) -> Doc:
    """Every word of the typed name among the complainant's blind name keys (`search.name_keys`:
    identity is sealed, issue 16; nothing of the name is stored in the listing)."""
    return {"name_keys": {"$all": keys}}


def _list_query(wanted: ComplaintFilter) -> Doc:
    """The staff list's filter: a time range on the indexed `received_at` (per time zone for
    office-local dates), the scope's offices, the list filters and the search."""
    query: Doc = {"received_at": {"$gte": wanted.start, "$lt": wanted.end}}
    if wanted.sort == "due":
        # The deadline order spans every open deadline, not the receipt range: an overdue
        # complaint is often older than any window a person picks, and open deadlines are few.
        # Read in the key order of the ordered `office_due_id` / `due_id` indexes.
        query = {"due_at": {"$gte": EARLIEST}}
    offices = wanted.scope.codes()
    if offices is not None:
        query["office_code"] = offices[0] if len(offices) == 1 else {"$in": offices}
    if wanted.local and wanted.sort != "due":  # office-local dates: a branch per time zone
        branches = [
            {
                "office_code": w.offices[0] if len(w.offices) == 1 else {"$in": list(w.offices)},
                "received_at": {"$gte": w.start, "$lt": w.end},
            }
            for w in wanted.local
        ]
        query = branches[0] if len(branches) == 1 else {"$or": branches}
    if wanted.status:
        query["view.status"] = wanted.status
    if wanted.channel:
        query["channel"] = wanted.channel.value
    if wanted.notification_failed is not None:
        query["view.notification_failed"] = wanted.notification_failed
    if wanted.category is not None:  # "uncategorised": no category yet (null or missing)
        query["category"] = None if wanted.category == UNCATEGORISED else wanted.category
    return _searched(query, wanted)


def _searched(query: Doc, wanted: ComplaintFilter) -> Doc:
    """The search conditions, on top of the range query (which keeps them bounded: the store
    reads the range from its index and checks these on what it holds)."""
    more: list[Doc] = []
    if wanted.complaint_id:
        more.append({"_id": wanted.complaint_id})  # read without a sort (Store.page)
    if wanted.number:
        more.append({"view.register_number": _containing(wanted.number)})
    if wanted.complainant_name is not None:
        more.append(complainant_name_condition(list(wanted.complainant_name) or ["-"]))
    if wanted.employee is not None:  # blind keys of the words (name) or the NIP
        keys = list(wanted.employee) or ["-"]
        more.append(
            {"$or": [{"employee_keys": {"$all": keys}}, {"view.employee_keys": {"$all": keys}}]}
        )
    if wanted.not_told is not None:
        told = {"view.communicated": "told"}
        more.append({"view.communicated": {"$ne": "told"}} if wanted.not_told else told)
    if wanted.overdue_before is not None:
        more.append({"view.intake_done_at": None, "received_at": {"$lt": wanted.overdue_before}})
    return {"$and": [query, *more]} if more else query


SAME_LIMIT = 50  # earlier filings a duplicate hint lists at most


def _as_stored(moment: datetime) -> datetime:
    """A moment as the store compares it: BSON dates hold whole milliseconds (truncated)."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


@dataclass(frozen=True)
class SameAsk:
    """One duplicate-hint lookup: filings other than `complaint_id` sharing one of `keys`,
    received within [start, end]."""

    complaint_id: str
    keys: tuple[str, ...]
    start: datetime
    end: datetime


STREAM_BATCH = 200  # entries per page of a streamed statistics read or export


def _after(received_at: datetime, entry_id: str) -> Doc:
    """The entries after (`received_at`, `_id`) in the listing's key order (newest first)."""
    return {
        "$or": [
            {"received_at": {"$lt": received_at}},
            {"received_at": received_at, "_id": {"$gt": entry_id}},
        ]
    }


class Store:
    """`ports.ComplaintRepository` on MongoDB-wire collections (plus start-up and health).
    With a `vault`, identity is sealed on the way in and opened on the way out: the store holds
    ciphertext only, and callers see what they always saw."""

    def __init__(
        self, client: AsyncMongoClient[Doc], database: str, vault: IdentityVault | None = None
    ) -> None:
        self.client = client
        self.vault = vault
        self.db: AsyncDatabase[Doc] = client[database]
        self.complaints: AsyncCollection[Doc] = self.db["complaints"]
        self.listing: AsyncCollection[Doc] = self.db["listing"]
        self.numbers: AsyncCollection[Doc] = self.db["register_numbers"]
        self.tickets: AsyncCollection[Doc] = self.db["tickets"]
        self.status_changes: AsyncCollection[Doc] = self.db["status_changes"]
        self.facts: AsyncCollection[Doc] = self.db["facts"]
        # Who saw whom (issue 16): the identity-read chain (shared.audit_chain).
        self.audit_log = MongoAuditLog(self.db["identity_audit"], hidden=("outbox",))
        # Inserts of concurrent handlers into one collection share an unordered `insert_many`,
        # each document inserted or refused on its own.
        self._inserts: dict[str, Grouped[Doc, bool]] = {
            name: Grouped(partial(_insert_each, self.db[name]))
            for name in (
                "complaints",
                "listing",
                "tickets",
                "status_changes",
                "facts",
                "deadline_alerts",
                "duplicate_hints",
            )
        }
        # A complaint's facts and steps: reads of concurrent handlers share one `$in` query.
        self._reads = {
            name: Grouped(partial(_by_complaint, self.db[name]))
            for name in ("facts", "status_changes")
        }
        # Documents concurrent handlers seal share the data keys' round trips: one read of the
        # keys that exist, one insert of the new ones (`IdentityVault.seal_many`), where each
        # complaint's key cost three round trips (a fifth of bench (b)'s time, issue 15).
        self._same: Grouped[SameAsk, list[Doc]] = Grouped(self._same_all)
        self._seals: Grouped[tuple[str, Doc, tuple[str, ...]], Doc] = Grouped(self._seal_all)
        # A complaint's intake record is its first sealed document: its key is made without
        # looking for it first (a redelivery's key is refused by the unique index, then read).
        self._first_seals: Grouped[tuple[str, Doc, tuple[str, ...]], Doc] = Grouped(
            partial(self._seal_all, new=True)
        )
        # "Sent" marks of concurrent handlers share one update_many per collection (measured:
        # the registry's throughput more than tripled when these were grouped).
        self._marks: dict[tuple[OutboxKind, bool], Grouped[str, None]] = {
            (kind, secret): Grouped(partial(self._mark_all, kind, secret))
            for kind in OUTBOX_KINDS
            for secret in (False, True)
        }

    @classmethod
    def connect(cls, uri: str, database: str, keys: IdentityKeySettings | None = None) -> Store:
        client: AsyncMongoClient[Doc] = AsyncMongoClient(
            uri, tz_aware=True, serverSelectionTimeoutMS=5000
        )
        vault = IdentityVault(client, database, keys) if keys is not None else None
        return cls(client, database, vault)

    async def ensure_indexes(self) -> None:
        await create_indexes(self.db, INDEXES, retired=RETIRED_INDEXES)
        if self.vault is not None:
            await self.vault.ensure_key_vault()

    async def _seal(self, complaint_id: str, doc: Doc, fields: tuple[str, ...]) -> Doc:
        return doc if self.vault is None else await self._seals.add((complaint_id, doc, fields))

    async def _seal_all(
        self, items: list[tuple[str, Doc, tuple[str, ...]]], *, new: bool = False
    ) -> list[Doc | BaseException]:
        assert self.vault is not None
        return list(await self.vault.seal_many(items, new=new))

    async def _open(self, doc: Doc | None) -> Doc | None:
        return doc if self.vault is None or doc is None else await self.vault.open(doc)

    async def _open_fact(self, fact: Doc) -> Doc:
        if self.vault is None or fact.get("type") not in SEALED_FACTS:
            return fact
        return await self.vault.open(fact)

    async def same_complainant(
        self, complaint_id: str, keys: list[str], start: datetime, end: datetime
    ) -> list[Doc]:
        """Other filings sharing a blind key within [start, end], the newest SAME_LIMIT first.
        Lookups of concurrent handlers share one query (`_same_all`)."""
        return await self._same.add(SameAsk(complaint_id, tuple(keys), start, end))

    async def _same_one(self, ask: SameAsk) -> list[Doc]:
        query = {
            "match_keys": {"$in": list(ask.keys)},
            "_id": {"$ne": ask.complaint_id},
            "received_at": {"$gte": ask.start, "$lte": ask.end},
        }
        found = self.complaints.find(query, {"office_code": 1, "received_at": 1})
        ordered = found.sort([("received_at", -1), ("_id", 1)])  # ties in a stable order
        return await ordered.limit(SAME_LIMIT).to_list()

    async def _same_all(self, asks: list[SameAsk]) -> list[list[Doc] | BaseException]:
        """One query for every key and window of `asks` (read from the `match_keys` index, like
        one ask's), each ask's answer picked from it. If it holds more than SAME_LIMIT per ask
        (a busy key), each ask's own bounded query instead: the answers are the same."""
        if len(asks) == 1:
            return [await self._same_one(asks[0])]
        query = {
            "match_keys": {"$in": sorted({key for ask in asks for key in ask.keys})},
            "received_at": {
                "$gte": min(ask.start for ask in asks),
                "$lte": max(ask.end for ask in asks),
            },
        }
        cap = (SAME_LIMIT + 1) * len(asks)  # the asks' own filings are in it too
        fields = {"office_code": 1, "received_at": 1, "match_keys": 1}
        found = await self.complaints.find(query, fields).limit(cap + 1).to_list()
        if len(found) > cap:
            return list(await asyncio.gather(*(self._same_one(ask) for ask in asks)))
        by_key: dict[str, list[Doc]] = {}
        for doc in found:
            for key in doc.get("match_keys") or ():
                by_key.setdefault(key, []).append(doc)
        answers: list[list[Doc] | BaseException] = []
        for ask in asks:
            near = {doc["_id"]: doc for key in ask.keys for doc in by_key.get(key, ())}
            start, end = _as_stored(ask.start), _as_stored(ask.end)
            mine = [
                {"_id": doc["_id"], "office_code": doc["office_code"], "received_at": at}
                for doc in near.values()
                if doc["_id"] != ask.complaint_id and start <= (at := doc["received_at"]) <= end
            ]
            mine.sort(key=lambda doc: doc["_id"])  # then by time, stable: as `_same_one` sorts
            mine.sort(key=lambda doc: doc["received_at"], reverse=True)
            answers.append(mine[:SAME_LIMIT])
        return answers

    async def add_hint(self, hint: Doc) -> bool:
        return await self._inserts["duplicate_hints"].add(hint)

    async def hint(self, complaint_id: str) -> Doc | None:
        return await self.db["duplicate_hints"].find_one({"_id": complaint_id})

    async def add_erasure(self, erasure: Doc) -> bool:
        return await insert_new(self.db["erasures"], erasure)

    async def erase_identity(self, complaint_id: str) -> bool:
        """Erasure: delete the complaint's data key (its ciphertext stays, unreadable) and the
        list's masked complainant (initials are still a trace of the person)."""
        await self.listing.update_one({"_id": complaint_id}, {"$unset": {"complainant_masked": ""}})
        return self.vault is not None and await self.vault.erase(complaint_id)

    async def ping(self) -> bool:
        try:
            await self.client.admin.command("ping")
        except Exception:
            return False
        return True

    async def close(self) -> None:
        await self.client.close()

    # -- complaints -------------------------------------------------------------------------------
    async def add_complaint(self, record: Doc) -> bool:
        if self.vault is not None and "intake" in record:
            bundled = _bundled(record["intake"])
            intake = await self._first_seals.add((record["_id"], bundled, (SEALED_BUNDLE,)))
            record = {**record, "intake": intake}
        return await self._inserts["complaints"].add(record)

    async def complaint(self, complaint_id: str) -> Doc | None:
        found = await self.complaints.find_one({"_id": complaint_id})
        if found is not None and self.vault is not None and "intake" in found:
            found["intake"] = _unbundled(await self.vault.open(found["intake"]))
        return found

    async def complaint_dates(self, complaint_id: str) -> Doc | None:
        """Only what the public timeline may show: no intake data."""
        return await self.complaints.find_one(
            {"_id": complaint_id}, {"received_at": 1, "saved_at": 1}
        )

    async def complaint_match(self, complaint_id: str) -> Doc | None:
        """What the duplicate hint needs: blind keys and dates, no intake data."""
        return await self.complaints.find_one(
            {"_id": complaint_id}, {"received_at": 1, "match_keys": 1}
        )

    async def mark_attention(self, complaint_id: str, mark: Doc) -> None:
        await self.complaints.update_one(
            {"_id": complaint_id, "attention": {"$exists": False}}, {"$set": {"attention": mark}}
        )

    async def attended(self, complaint_id: str) -> None:
        await self.complaints.update_one({"_id": complaint_id}, {"$unset": {"attention": ""}})

    async def needing_attention(self, limit: int) -> tuple[int, list[Doc]]:
        ordered = self.complaints.find(WAITING, {"intake": 0}).sort("attention.since", 1)
        return await self.count_needing_attention(), await ordered.limit(limit).to_list()

    async def count_needing_attention(self) -> int:
        return await self.complaints.count_documents(WAITING)

    # -- register numbers -------------------------------------------------------------------------
    async def register(self, numbers: list[Doc]) -> int:
        return await _insert_run(self.numbers, numbers)

    async def number_at(self, key: str) -> Doc | None:
        return await self.numbers.find_one({"_id": key})

    async def number_of(self, complaint_id: str) -> Doc | None:
        return await self.numbers.find_one({"complaint_id": complaint_id})

    async def numbers_of(self, complaint_ids: list[str]) -> dict[str, Doc]:
        """Many complaints' numbers in one round trip (a hint lists up to 50 filings)."""
        if not complaint_ids:
            return {}
        found = self.numbers.find({"complaint_id": {"$in": complaint_ids}})
        return {doc["complaint_id"]: doc async for doc in found}

    async def by_number(self, register_number: str) -> Doc | None:
        # Staff type numbers in any case; the configured formats are upper case (office codes).
        typed = register_number.strip()
        wanted = list(dict.fromkeys([typed, typed.upper()]))
        if len(wanted) == 1:
            return await self.numbers.find_one({"number": wanted[0]})
        return await self.numbers.find_one({"number": {"$in": wanted}})

    async def count_numbers(self, office_code: str, year: int) -> int:
        return await self.numbers.count_documents({"office_code": office_code, "year": year})

    async def seqs_above(self, office_code: str, year: int, seq: int) -> list[int]:
        query = {"office_code": office_code, "year": year, "seq": {"$gt": seq}}
        return [d["seq"] for d in await self.numbers.find(query, {"seq": 1}).to_list()]

    # -- later events, tickets, status ------------------------------------------------------------
    async def record_fact(self, fact: Doc) -> bool:
        if fact.get("type") in SEALED_FACTS:
            fact = await self._seal(fact["complaint_id"], fact, ("data",))
        return await self._inserts["facts"].add(fact)

    async def facts_of(self, complaint_id: str) -> list[Doc]:
        found = [await self._open_fact(f) for f in await self._reads["facts"].add(complaint_id)]
        return sorted(found, key=lambda fact: (fact["at"], fact["_id"]))

    async def add_ticket(self, ticket: Doc) -> bool:
        return await self._inserts["tickets"].add(ticket)

    async def ticket(self, key: str) -> Doc | None:
        return await self.tickets.find_one({"_id": key})

    async def tickets_of(self, complaint_id: str) -> list[Doc]:
        return await self.tickets.find({"complaint_id": complaint_id}).to_list()

    async def ticket_by_hash(self, digest: str) -> Doc | None:
        return await self.tickets.find_one({"hash": digest}, {"complaint_id": 1})  # and _id

    async def add_step(self, step: Doc) -> bool:
        return await self._inserts["status_changes"].add(step)

    async def changes_of(self, complaint_id: str) -> list[Doc]:
        found = await self._reads["status_changes"].add(complaint_id)
        return sorted(found, key=lambda change: change["step"])

    async def add_categorisation(self, step: Doc) -> bool:
        return await insert_new(self.db["categorisations"], step)

    async def categorisations_of(self, complaint_id: str) -> list[Doc]:
        found = self.db["categorisations"].find({"complaint_id": complaint_id}, {"outbox": 0})
        return sorted(await found.to_list(), key=lambda step: step["step"])

    async def set_category(self, complaint_id: str, code: str, step: int) -> None:
        # Outside `view` (which rebuilds overwrite); a later step's mark is never replaced by
        # an earlier one that arrives late.
        await self.listing.update_one(
            {
                "_id": complaint_id,
                "$or": [{"category_step": {"$lt": step}}, {"category_step": None}],
            },
            {"$set": {"category": code, "category_step": step}},
        )

    # -- listing --------------------------------------------------------------------------------
    async def list_complaint(self, entry: Doc) -> bool:
        entry = await self._seal(entry["_id"], entry, SEALED_LISTING)
        return await self._inserts["listing"].add(entry)

    async def listed(self, complaint_id: str) -> Doc | None:
        return await self._open(await self.listing.find_one({"_id": complaint_id}))

    async def set_view(self, complaint_id: str, view: Doc, version: int) -> None:
        # The next reminder moment rides along with the view (reminders.py reads it by index).
        # as does the deadline the overdue list sorts by.
        deadline = view.get("deadline") or {}
        change: Doc = {"$set": {"view": view, "version": version}}
        for name, value in (
            ("next_alert_at", deadline.get("next_alert_at")),
            ("due_at", deadline.get("due_at")),
        ):
            if value is None:
                change.setdefault("$unset", {})[name] = ""
            else:
                change["$set"][name] = value
        await self.listing.update_one({"_id": complaint_id, "version": {"$lte": version}}, change)

    async def page(self, wanted: ComplaintFilter, skip: int, limit: int) -> Counted:
        # Read in the ordered index's order from the newest: a page costs its own size (plus
        # `skip`), and the count stops at COUNT_CAP, so neither follows the data in the range.
        query = _list_query(wanted)
        if wanted.complaint_id:  # one complaint (a ticket's): no sort, see docs/store.md
            # DocumentDB answers an `_id` condition sorted on the ordered listing indexes with
            # "This function should be replaced by the planner"; one document needs no order.
            one = await self.listing.find_one(query)
            found = [one] if one is not None and skip == 0 else []
            return Counted(0 if one is None else 1, True, found)
        enough = max(COUNT_CAP, skip + limit)
        total = await self.listing.count_documents(query, limit=enough + 1)
        items = await self._ordered(query, wanted).skip(skip).limit(limit).to_list()
        return Counted(min(total, enough), total <= enough, items)

    async def stream(self, wanted: ComplaintFilter, batch: int) -> AsyncIterator[list[Doc]]:
        """Every match in the list's order, `batch` at a time from one cursor (an export: no
        skip, so a long range costs what it holds once)."""
        query = _list_query(wanted)
        if wanted.complaint_id:
            one = await self.listing.find_one(query)
            yield [] if one is None else [one]
            return
        found: list[Doc] = []
        async for doc in self._ordered(query, wanted).batch_size(batch):
            found.append(doc)
            if len(found) >= batch:
                yield found
                found = []
        yield found

    def _ordered(self, query: Doc, wanted: ComplaintFilter) -> AsyncCursor[Doc]:
        field = SORTS[wanted.sort.lstrip("-")]
        order = -1 if wanted.sort.startswith("-") else 1
        return self.listing.find(query).sort([(field, order), ("_id", 1)])

    async def listed_stream(
        self,
        office_codes: list[str] | None,
        start: datetime,
        end: datetime,
        fields: Doc | None,
        batch: int = STREAM_BATCH,
    ) -> AsyncIterator[Doc]:
        """Listed complaints received in [start, end) (of these offices; None: all), each once,
        read a page at a time (reports, statistics and exports of long ranges:
        never the whole range in memory; 200 entries, where 1,000 raised the registry's peak RSS
        by 2.5 MiB more during a 100,000-complaint export, bench phase x). Several offices are
        read one after the other, each newest first; every office (None) newest first.
        `fields`: the projection (None: whole entries); `batch`: entries per page."""
        window: Doc = {"received_at": {"$gte": start, "$lt": end}}
        if office_codes is None:
            async for entry in self._keyset(window, fields, batch):
                yield entry
            return
        # One office at a time: an `$in` of offices sorted by time is sorted in memory (the
        # ordered index is by office first), and each page would then sort all the rest.
        for code in office_codes:
            async for entry in self._keyset({**window, "office_code": code}, fields, batch):
                yield entry

    async def _keyset(self, query: Doc, fields: Doc | None, batch: int) -> AsyncIterator[Doc]:
        """Every match in the listing's key order (`received_at` newest first, then `_id`),
        `batch` at a time, each page a fresh query continuing strictly after the last key.

        One cursor over many batches would not do: on DocumentDB its continuation meets again an
        entry updated between two batches (its new row version lies further on), so a status
        step during an export counted a complaint twice (docs/store.md). An entry's key never
        changes, so it lies either before the continuation or after it: each is read once."""
        # The continuation key comes along (`_id` always does); None: whole entries.
        shown = None if fields is None else {**fields, "received_at": 1}
        after: Doc = {}
        while True:
            page = await (
                self.listing.find({**query, **after}, shown)
                .sort([("received_at", DESCENDING), ("_id", ASCENDING)])
                .limit(batch)
                # The page in the find's own reply: the first batch is 101 otherwise, and every
                # page took a getMore too (bench r: 2 commands for a month's report, now 1).
                .batch_size(batch)
                .to_list()
            )
            for entry in page:
                yield entry
            if len(page) < batch:
                return
            last = page[-1]
            after = _after(last["received_at"], last["_id"])

    # -- deadline reminders -----------------------------------------------------------------------
    async def overdue(
        self, office_codes: list[str] | None, now: datetime, limit: int
    ) -> tuple[int, list[Doc]]:
        """Open complaints whose stage deadline passed, the longest overdue first."""
        query: Doc = {"due_at": {"$lte": now}}
        if office_codes is not None:
            query["office_code"] = (
                office_codes[0] if len(office_codes) == 1 else {"$in": office_codes}
            )
        found = self.listing.find(query, {"tracking_contact": 0}).sort([("due_at", 1), ("_id", 1)])
        return await self.listing.count_documents(query), await found.limit(limit).to_list()

    async def alerts_due(self, now: datetime, limit: int) -> list[Doc]:
        query = {"next_alert_at": {"$lte": now}}
        projection = {
            "office_code": 1,
            "correlation_id": 1,
            "view.status": 1,
            "view.register_number": 1,
            "view.deadline": 1,
        }
        found = self.listing.find(query, projection).sort("next_alert_at", 1)
        return await found.limit(limit).to_list()

    async def add_alerts(self, alerts: list[Doc]) -> list[bool]:
        if not alerts:
            return []
        outcome = await _insert_each(self.db["deadline_alerts"], alerts)
        for result in outcome:
            if isinstance(result, BaseException):
                raise result
        return [bool(result) for result in outcome]

    async def next_alert(self, complaint_id: str, since: datetime, at: datetime | None) -> None:
        change: Doc = {"$set": {"next_alert_at": at}} if at else {"$unset": {"next_alert_at": ""}}
        await self.listing.update_one({"_id": complaint_id, "view.deadline.since": since}, change)

    # -- outbox -----------------------------------------------------------------------------------
    async def claim_due(self, kind: OutboxKind, now: datetime, lease: timedelta) -> Doc | None:
        return await self.db[kind].find_one_and_update(
            {"outbox.due": {"$lte": now}},
            {"$set": {"outbox.due": now + lease}},
            sort=[("outbox.due", 1)],
            return_document=ReturnDocument.AFTER,
        )

    async def oldest_unsent(self, kind: OutboxKind) -> datetime | None:
        # The sparse `outbox_due` index holds only unsent entries: one index step, no scan. The
        # same operator as claim_due ($lte): DocumentDB refused $gte on this index (an opfamily
        # error inside PostgreSQL).
        doc = await self.db[kind].find_one(
            {"outbox.due": {"$lte": datetime(9999, 1, 1, tzinfo=UTC)}},
            {"outbox.created_at": 1},
            sort=[("outbox.due", 1)],
        )
        created = (doc or {}).get("outbox", {}).get("created_at")
        return created if isinstance(created, datetime) else None

    async def mark_sent(self, kind: OutboxKind, key: str, *, secret: bool) -> None:
        await self._marks[(kind, secret)].add(key)

    async def _mark_all(
        self, kind: OutboxKind, secret: bool, keys: list[str]
    ) -> list[BaseException | None]:
        done: Doc = {"outbox.sent_at": datetime.now(UTC)}
        if secret:
            done["outbox.payload"] = None
        # One command, one update per key: DocumentDB answers `update_many({"_id": {"$in": ...}})`
        # with a scan of the whole collection (120 ms at 150,000 numbers, growing with them),
        # while each `_id` equality uses the primary key (1.5 ms for 50).
        change = {"$set": done, "$unset": {"outbox.due": ""}}
        await self.db[kind].bulk_write(
            [UpdateOne({"_id": key}, change) for key in keys], ordered=False
        )
        return [None] * len(keys)
