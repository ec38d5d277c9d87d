"""MongoDB adapter (own database, `pymongo.AsyncMongoClient`) behind `ports.EvidenceRepository`:
the complaints this service knows of, evidence records, and the outbox of `EvidenceStored`
events. The only module of the service that touches a collection; its indexes are declared here.

**Insert-only facts**: an evidence record (`evidence`, `_id` = evidence id), inserted once when
its object is complete in MinIO, never changed afterwards except for two follow-up flags
(`sealed`, `outbox_pending`). **Atomic views**: a known complaint (`complaints`, upserted from
the complaint events) with its evidence count and byte total.

The record is inserted and the count and total reserved **in one transaction**: the insert,
then a conditional `find_one_and_update` whose filter holds the limits (`$inc` only while the
file still fits; otherwise the transaction is aborted). Racing uploads to one complaint can never
pass the limits (the update is atomic), and the counters never drift from the records: a refused
reservation, a failed insert or a crash in between leaves neither.

The record carries its own pending event (the outbox) and a `sealed` flag: the object is sealed
(hash tag, retention) and then the event published, right after the commit; whatever did not
happen then (MinIO or Kafka away, a crash) is done by the relay (`pending`).
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from pymongo import ASCENDING, AsyncMongoClient, IndexModel, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from sipuma.evidence.domain import AlreadyRecorded, EvidenceRecord, KnownComplaint
from sipuma.evidence.ports import Pending
from sipuma.shared.audit_log import MongoAuditLog
from sipuma.shared.events import EvidenceStored
from sipuma.shared.grouped import Grouped
from sipuma.shared.idempotency import DEFAULT_TTL_S
from sipuma.shared.mongo import create_indexes
from sipuma.shared.mongo_idempotency import MongoIdempotencyStore
from sipuma.shared.payloads import EvidenceKind
from sipuma.shared.transactions import in_transaction

Doc = dict[str, Any]
log = structlog.get_logger("sipuma.evidence")

# Every index evidence needs, in one place; created before the first write (see `prepare`).
# Each query below names the index it relies on; tests/integration/test_query_plans.py checks
# the plans. Complaints are read and updated by `_id` only; the idempotency answers by `_id`
# (their expiry index comes with the adapter).
EVIDENCE_INDEXES = [
    # list_for(): one complaint's evidence, in upload order
    IndexModel([("complaint_id", ASCENDING), ("uploaded_at", ASCENDING)], name="complaint"),
    # pending(): records whose seal or event is still to do
    IndexModel([("outbox_pending", ASCENDING), ("uploaded_at", ASCENDING)], name="outbox_pending"),
]
# The first release's `outbox_pending_1` (flag only), which `outbox_pending` replaced: left in
# place, the planner may still read it and sort the relay's page in memory.
RETIRED_INDEXES = {"evidence": ["outbox_pending_1"]}


@dataclass(frozen=True)
class Seen:
    """A complaint event's news: the complaint exists, in this office."""

    complaint_id: str
    office_code: str
    seen_at: datetime


class _DoesNotFit(Exception):
    """The file would pass the complaint's limits: abort the transaction."""


# The record's fields; the document holds its outbox besides (`outbox_event`, `outbox_pending`,
# `published_at`), which the record does not carry.
_RECORD_FIELDS = frozenset(f.name for f in fields(EvidenceRecord))


def _to_doc(record: EvidenceRecord) -> Doc:
    doc = asdict(record)
    return {"_id": doc.pop("evidence_id"), **doc, "kind": record.kind.value}


def _to_record(doc: Doc) -> EvidenceRecord:
    kept = {k: v for k, v in doc.items() if k in _RECORD_FIELDS}
    return EvidenceRecord(**{**kept, "evidence_id": doc["_id"], "kind": EvidenceKind(doc["kind"])})


# -- the query shapes (filters); the plan test explains each one --------------------------------
def reserve_filter(complaint_id: str, size: int, max_files: int, max_bytes: int) -> Doc:
    """The complaint, only while one more file of `size` bytes stays within its limits."""
    return {
        "_id": complaint_id,
        "evidence_count": {"$lt": max_files},
        "evidence_bytes": {"$lte": max_bytes - size},
    }


def list_filter(complaint_id: str) -> Doc:
    return {"complaint_id": complaint_id}


def record_filter(complaint_id: str, evidence_id: str) -> Doc:
    return {"_id": evidence_id, "complaint_id": complaint_id}


def pending_filter(cutoff: datetime) -> Doc:
    return {"outbox_pending": True, "uploaded_at": {"$lt": cutoff}}


# The oldest record still to seal or publish: the head of the `outbox_pending` index.
OLDEST_PENDING_FILTER: Doc = {"outbox_pending": True}
OLDEST_PENDING_SORT = [("outbox_pending", ASCENDING), ("uploaded_at", ASCENDING)]


class EvidenceStore:
    def __init__(
        self,
        uri: str,
        database: str,
        *,
        timeout_ms: int = 5000,
        answers_ttl_s: float = DEFAULT_TTL_S,
        answers_lease_s: float = 30.0,
    ) -> None:
        self.client: AsyncMongoClient[Doc] = AsyncMongoClient(
            uri, serverSelectionTimeoutMS=timeout_ms, tz_aware=True, uuidRepresentation="standard"
        )
        self.db = db = self.client[database]
        # Answers kept for Idempotency-Key (shared adapter, every replica sees the same).
        self.answers = MongoIdempotencyStore(
            db["idempotency"], ttl_s=answers_ttl_s, lease_s=answers_lease_s
        )
        self.complaints = db["complaints"]
        self.evidence = db["evidence"]
        # Who downloaded evidence (a scan may be the complainant's KTP): shared.audit_chain.
        self.audit = db["evidence_audit"]
        self.audit_log = MongoAuditLog(self.audit, hidden=("outbox_event", "outbox_pending"))
        self._ready = False
        self._preparing = asyncio.Lock()
        self._seen: Grouped[Seen, None] = Grouped(self._seen_all)

    async def prepare(self) -> None:
        """Create the indexes (idempotent). Called at start; every write waits for it, so no
        document is written before its indexes exist, even if the store was down at start."""
        if self._ready:
            return
        async with self._preparing:
            if not self._ready:
                await create_indexes(
                    self.db,
                    {"evidence": EVIDENCE_INDEXES, "idempotency": self.answers.indexes},
                    retired=RETIRED_INDEXES,
                )
                self._ready = True

    async def prepare_until_ready(self, retry_initial_s: float, retry_max_s: float) -> None:
        """`prepare` at start; while the store is down, keep trying with backoff."""
        delay = retry_initial_s
        while not self._ready:
            try:
                await asyncio.wait_for(self.prepare(), timeout=10)
            except Exception as exc:
                log.warning("database_unreachable", error=type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, retry_max_s)

    @property
    def ready(self) -> bool:
        return self._ready

    async def ping(self) -> bool:
        """True when the store answers; raises when it does not (readiness says `failing`)."""
        await self.client.admin.command("ping")
        return True

    async def close(self) -> None:
        await self.client.close()

    # -- the download audit chain's outbox (the chain itself: `audit_log`)
    async def audit_published(self, seq: int) -> None:
        await self.audit.update_one({"_id": seq}, {"$unset": {"outbox_pending": ""}})

    async def audits_unpublished(self, older_than_s: float, limit: int) -> list[Doc]:
        before = datetime.now(UTC) - timedelta(seconds=older_than_s)
        query = {"outbox_pending": True, "at": {"$lte": before}}
        return await self.audit.find(query).sort("_id", 1).limit(limit).to_list()

    # -- complaints (fed by ComplaintReceived / ComplaintRegistered)
    async def complaint_seen(self, complaint_id: str, office_code: str, seen_at: datetime) -> None:
        await self._seen.add(Seen(complaint_id, office_code, seen_at))

    async def _seen_all(self, seen: list[Seen]) -> list[BaseException | None]:
        """Concurrent handlers' upserts as one unordered bulk write; one per complaint (its
        received and registered events may meet in one poll: the later time wins)."""
        await self.prepare()
        latest: dict[str, Seen] = {}
        for one in seen:
            if one.complaint_id not in latest or one.seen_at > latest[one.complaint_id].seen_at:
                latest[one.complaint_id] = one
        await self.complaints.bulk_write(
            [
                UpdateOne(
                    {"_id": one.complaint_id},
                    {
                        "$set": {"office_code": one.office_code, "seen_at": one.seen_at},
                        "$setOnInsert": {"evidence_count": 0, "evidence_bytes": 0},
                    },
                    upsert=True,
                )
                for one in latest.values()
            ],
            ordered=False,
        )
        return [None] * len(seen)

    async def complaint(self, complaint_id: str) -> KnownComplaint | None:
        doc = await self.complaints.find_one({"_id": complaint_id})
        if doc is None:
            return None
        return KnownComplaint(
            complaint_id,
            doc["office_code"],
            doc.get("evidence_count", 0),
            doc.get("evidence_bytes", 0),
        )

    # -- evidence records with their outbox
    async def record_within_limits(
        self, record: EvidenceRecord, event: EvidenceStored, *, max_files: int, max_bytes: int
    ) -> bool:
        """Count the file against its complaint's limits and insert its record (with its pending
        event), in one transaction; False (nothing written) when the file does not fit."""
        await self.prepare()
        complaint_id, size = record.complaint_id, record.size_bytes
        doc = {
            **_to_doc(record),
            "outbox_event": event.model_dump_json(),
            "outbox_pending": True,
            "published_at": None,
        }

        async def insert_and_count(session: AsyncClientSession) -> None:
            # The insert first: the complaint's row, which racing uploads share, is then held
            # only from the counting update to the commit.
            await self.evidence.insert_one(doc, session=session)
            counted = await self.complaints.find_one_and_update(
                reserve_filter(complaint_id, size, max_files, max_bytes),
                {"$inc": {"evidence_count": 1, "evidence_bytes": size}},
                projection={"_id": 1},
                session=session,
            )
            if counted is None:
                raise _DoesNotFit  # aborts: the record goes with it

        try:
            await in_transaction(self.client, insert_and_count)
        except _DoesNotFit:
            return False
        except DuplicateKeyError as exc:  # the id came from an Idempotency-Key: a retry
            raise AlreadyRecorded from exc
        return True

    async def mark_sealed(self, evidence_id: str) -> None:
        await self.evidence.update_one({"_id": evidence_id}, {"$set": {"sealed": True}})

    async def mark_published(self, evidence_id: str) -> None:
        """Sealed and published: nothing left to do for this record."""
        await self.evidence.update_one(
            {"_id": evidence_id},
            {"$set": {"sealed": True, "outbox_pending": False, "published_at": datetime.now(UTC)}},
        )

    async def oldest_pending(self) -> datetime | None:
        doc = await self.evidence.find_one(
            OLDEST_PENDING_FILTER, {"uploaded_at": 1}, sort=OLDEST_PENDING_SORT
        )
        found = (doc or {}).get("uploaded_at")
        if not isinstance(found, datetime):
            return None
        return found if found.tzinfo else found.replace(tzinfo=UTC)

    async def pending(self, older_than_s: float, limit: int = 100) -> list[Pending]:
        """Records whose seal or event is still to do (index `outbox_pending`)."""
        cutoff = datetime.now(UTC) - timedelta(seconds=older_than_s)
        cursor = self.evidence.find(pending_filter(cutoff), limit=limit)
        return [
            Pending(_to_record(doc), EvidenceStored.model_validate_json(doc["outbox_event"]))
            async for doc in cursor
        ]

    async def list_for(self, complaint_id: str) -> list[EvidenceRecord]:
        """One complaint's evidence in upload order (index `complaint`)."""
        cursor = self.evidence.find(list_filter(complaint_id), {"outbox_event": 0}).sort(
            "uploaded_at", ASCENDING
        )
        return [_to_record(doc) async for doc in cursor]

    async def mark_erased(self, evidence_id: str, at: datetime) -> None:
        """The object is gone; the record (kind, size, dates: statistics) stays."""
        await self.evidence.update_one({"_id": evidence_id}, {"$set": {"erased_at": at}})

    async def to_erase(self, complaint_id: str, kinds: list[str]) -> list[EvidenceRecord]:
        query = {"complaint_id": complaint_id, "kind": {"$in": kinds}, "erased_at": None}
        return [_to_record(doc) async for doc in self.evidence.find(query, {"outbox_event": 0})]

    async def get(self, complaint_id: str, evidence_id: str) -> EvidenceRecord | None:
        doc = await self.evidence.find_one(
            record_filter(complaint_id, evidence_id), {"outbox_event": 0}
        )
        return None if doc is None else _to_record(doc)
