"""MongoDB adapter (own database, `pymongo.AsyncMongoClient`): the complaints this service knows
of, evidence records, and the outbox of `EvidenceStored` events.

Only single-document atomic operations: the per-complaint count and total are reserved with one
conditional `$inc`, and each evidence record carries its own pending event (the outbox) so the
record and the promise to publish are written in one insert.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import AsyncMongoClient, ReturnDocument


@dataclass(frozen=True)
class KnownComplaint:
    complaint_id: str
    office_code: str
    evidence_count: int = 0
    evidence_bytes: int = 0


class EvidenceStore:
    def __init__(self, uri: str, database: str, *, timeout_ms: int = 5000) -> None:
        self._client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            uri, serverSelectionTimeoutMS=timeout_ms, tz_aware=True, uuidRepresentation="standard"
        )
        db = self._client[database]
        self.complaints = db["complaints"]
        self.evidence = db["evidence"]

    async def prepare(self) -> None:
        await self.evidence.create_index([("complaint_id", 1), ("uploaded_at", 1)])
        await self.evidence.create_index([("outbox_pending", 1)])

    async def ping(self) -> bool:
        try:
            await self._client.admin.command("ping")
        except Exception:
            return False
        return True

    async def close(self) -> None:
        await self._client.close()

    # -- complaints (fed by ComplaintReceived / ComplaintRegistered)
    async def complaint_seen(self, complaint_id: str, office_code: str, seen_at: datetime) -> None:
        await self.complaints.update_one(
            {"_id": complaint_id},
            {
                "$set": {"office_code": office_code, "seen_at": seen_at},
                "$setOnInsert": {"evidence_count": 0, "evidence_bytes": 0},
            },
            upsert=True,
        )

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

    async def reserve(self, complaint_id: str, size: int, max_files: int, max_bytes: int) -> bool:
        """Count one more file of `size` bytes, only if it stays within the complaint's limits."""
        found = await self.complaints.find_one_and_update(
            {
                "_id": complaint_id,
                "evidence_count": {"$lt": max_files},
                "evidence_bytes": {"$lte": max_bytes - size},
            },
            {"$inc": {"evidence_count": 1, "evidence_bytes": size}},
            return_document=ReturnDocument.AFTER,
        )
        return found is not None

    async def release(self, complaint_id: str, size: int) -> None:
        await self.complaints.update_one(
            {"_id": complaint_id}, {"$inc": {"evidence_count": -1, "evidence_bytes": -size}}
        )

    # -- evidence records with their outbox
    async def add(self, record: dict[str, Any], event_json: str) -> None:
        doc = {**record, "outbox_event": event_json, "outbox_pending": True, "published_at": None}
        await self.evidence.insert_one(doc)

    async def published(self, evidence_id: str) -> None:
        await self.evidence.update_one(
            {"_id": evidence_id},
            {"$set": {"outbox_pending": False, "published_at": datetime.now(UTC)}},
        )

    async def pending(self, older_than_s: float, limit: int = 100) -> list[tuple[str, str]]:
        cutoff = datetime.now(UTC) - timedelta(seconds=older_than_s)
        cursor = self.evidence.find(
            {"outbox_pending": True, "uploaded_at": {"$lt": cutoff}},
            {"outbox_event": 1},
            limit=limit,
        )
        return [(doc["_id"], doc["outbox_event"]) async for doc in cursor]

    async def list_for(self, complaint_id: str) -> list[dict[str, Any]]:
        cursor = self.evidence.find({"complaint_id": complaint_id}, {"outbox_event": 0}).sort(
            "uploaded_at", 1
        )
        return [doc async for doc in cursor]

    async def get(self, complaint_id: str, evidence_id: str) -> dict[str, Any] | None:
        return await self.evidence.find_one(
            {"_id": evidence_id, "complaint_id": complaint_id}, {"outbox_event": 0}
        )
