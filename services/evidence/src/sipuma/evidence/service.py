"""Use cases: hear of a complaint, upload evidence, list it, hand out a download link, finish
what a commit left to do (the outbox relay). Through the ports only (`ports.py`); a refusal is a
domain error (`domain.py`), which the HTTP edge puts into words. No HTTP, no client libraries.

Upload order (a failure before the commit leaves nothing): check who and which complaint →
read the first bytes and decide the type (nothing stored yet) → stream into MinIO, hashing →
**commit**: count the file against the complaint's limits and insert its record with its pending
event (outbox), in one transaction (refused: the object is deleted) → seal the object (hash tag,
retention) → publish → mark done. From the commit on the upload is accepted: a seal or publish
that fails then (MinIO or Kafka away, a crash) is completed by the relay, seal first.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import structlog

from sipuma.evidence.domain import (
    ACCEPTED,
    AlreadyRecorded,
    ComplaintFull,
    DatabaseUnavailable,
    EmptyFile,
    EvidenceRecord,
    FileTooLarge,
    FileType,
    ForbiddenOffice,
    ForbiddenRole,
    KeyReused,
    KindMismatch,
    KnownComplaint,
    Limits,
    StorageUnavailable,
    SupervisorsOnly,
    UnknownComplaint,
    UnknownEvidence,
    default_kind,
    object_key,
    sanitise_filename,
)
from sipuma.evidence.ports import EventPublisher, EvidenceRepository, ObjectStorage, Stored
from sipuma.evidence.sniffing import SNIFF_BYTES, identify
from sipuma.shared import audit_chain
from sipuma.shared.auth import Principal, Role
from sipuma.shared.correlation import current_correlation_id
from sipuma.shared.events import EvidenceStored, IdentityRead
from sipuma.shared.payloads import EvidenceKind

log = structlog.get_logger("sipuma.evidence.service")

STAFF = frozenset({Role.RECEIVER, Role.COMPLIANCE, Role.SUPERVISOR})
ANY_KIND = "apa pun / any"  # the kind a size limit is named by before the kind is known


@dataclass(frozen=True)
class Upload:
    complaint_id: uuid.UUID
    kind: EvidenceKind | None
    declared_type: str | None
    filename: str | None
    length: int | None  # Content-Length, when the client sent one
    body: AsyncIterator[bytes]
    correlation_id: str
    # Derived from an Idempotency-Key (`domain.evidence_id_for`): a retry meets the first record.
    evidence_id: uuid.UUID | None = None


async def _with_limit(
    head: bytes, rest: AsyncIterator[bytes], limit: int, kind: str
) -> AsyncIterator[bytes]:
    """The body again (head first), its chunks as they came; too large past `limit`."""
    # Not regrouped here: storage copies each chunk once, straight into its part (issue 15).
    seen = len(head)
    if head:
        yield head
    async for chunk in rest:
        seen += len(chunk)
        if seen > limit:
            raise FileTooLarge(limit, kind)
        yield chunk


class EvidenceService:
    def __init__(
        self,
        storage: ObjectStorage,
        store: EvidenceRepository,
        publisher: EventPublisher,
        limits: Limits,
        *,
        complaint_wait_s: float = 3.0,
    ) -> None:
        self.storage = storage
        self.store = store
        self.publisher = publisher
        self.limits = limits
        self.complaint_wait_s = complaint_wait_s

    async def _complaint_for(self, who: Principal, complaint_id: uuid.UUID) -> KnownComplaint:
        if not who.roles & STAFF:
            raise ForbiddenRole
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.complaint_wait_s
        while True:  # the complaint's event may be a moment behind the receiver's click
            try:
                found = await self.store.complaint(str(complaint_id))
            except Exception as exc:
                log.warning("database_unavailable", error=type(exc).__name__)
                raise DatabaseUnavailable from exc
            if found is not None or loop.time() >= deadline:
                break
            await asyncio.sleep(0.2)
        if found is None:
            raise UnknownComplaint
        if not who.may_act_for(found.office_code):
            raise ForbiddenOffice
        return found

    async def complaint_heard(
        self, complaint_id: uuid.UUID, office_code: str, occurred_at: datetime
    ) -> None:
        """A complaint event arrived: from now on evidence may be kept for it (idempotent)."""
        await self.store.complaint_seen(str(complaint_id), office_code, occurred_at)

    async def upload(self, who: Principal, up: Upload) -> EvidenceRecord:
        complaint = await self._complaint_for(who, up.complaint_id)
        limits = self.limits
        if up.length == 0:
            raise EmptyFile
        first_limit = limits.for_kind(up.kind) if up.kind else limits.largest
        if up.length is not None and up.length > first_limit:
            raise FileTooLarge(first_limit, up.kind.value if up.kind else ANY_KIND)
        if complaint.evidence_count >= limits.max_files or (
            complaint.evidence_bytes + (up.length or 1) > limits.max_total_bytes
        ):
            raise ComplaintFull(limits.max_files, limits.max_total_bytes)
        try:
            await self.storage.ensure_bucket()
        except StorageUnavailable as exc:
            log.warning("storage_unavailable", error=str(exc))
            raise

        rest = up.body.__aiter__()
        head, complete = await _read_head(rest)
        if not head:
            raise EmptyFile
        filename = sanitise_filename(up.filename)
        ftype = identify(head, up.declared_type, filename, complete=complete)
        kind = up.kind or default_kind(ftype)
        if kind not in ftype.kinds:
            raise KindMismatch(kind.value, ftype.label)
        limit = limits.for_kind(kind)
        if up.length is not None and up.length > limit:
            raise FileTooLarge(limit, kind.value)

        evidence_id = up.evidence_id or uuid.uuid4()
        key = object_key(str(up.complaint_id), str(evidence_id))
        metadata = {
            "evidence-id": str(evidence_id),
            "complaint-id": str(up.complaint_id),
            "kind": kind.value,
            "uploaded-by": who.officer_id,
            "original-name": quote(filename or "", safe=""),
        }
        blocks = _with_limit(head, rest, limit, kind.value)
        try:
            stored = await self.storage.put_stream(
                key, blocks, length=up.length, content_type=ftype.content_type, metadata=metadata
            )
        except StorageUnavailable as exc:
            log.warning("storage_unavailable", error=str(exc))
            raise
        except BaseException as exc:  # cut off, too large: nothing was kept
            log.info("upload_abandoned", evidence_id=str(evidence_id), reason=type(exc).__name__)
            raise
        log.info(
            "evidence_streamed", evidence_id=str(evidence_id), size=stored.size, kind=kind.value
        )
        return await self._record(
            who, up, complaint, ftype, kind, evidence_id, key, filename, stored
        )

    async def _record(
        self,
        who: Principal,
        up: Upload,
        complaint: KnownComplaint,
        ftype: FileType,
        kind: EvidenceKind,
        evidence_id: uuid.UUID,
        key: str,
        filename: str | None,
        stored: Stored,
    ) -> EvidenceRecord:
        cid = str(up.complaint_id)
        now = datetime.now(UTC)
        event = EvidenceStored(
            source="evidence",
            correlation_id=up.correlation_id,
            office_code=complaint.office_code,
            complaint_id=up.complaint_id,
            evidence_id=evidence_id,
            kind=kind,
            content_type=ftype.content_type,
            size_bytes=stored.size,
            sha256=stored.sha256,
            object_key=key,
        )
        record = EvidenceRecord(
            evidence_id=str(evidence_id),
            complaint_id=cid,
            office_code=complaint.office_code,
            kind=kind,
            content_type=ftype.content_type,
            file_type=ftype.label,
            size_bytes=stored.size,
            sha256=stored.sha256,
            object_key=key,
            version_id=stored.version_id,
            file_name=filename,
            uploaded_by=who.officer_id,
            uploaded_at=now,
            retained_until=self.storage.retention_until(now),
            event_id=str(event.event_id),
        )
        limits = self.limits
        try:
            added = await self.store.record_within_limits(
                record, event, max_files=limits.max_files, max_bytes=limits.max_total_bytes
            )
        except AlreadyRecorded:
            return await self._first_of_retry(cid, str(evidence_id), key, stored)
        except Exception as exc:
            committed = await self._committed_anyway(cid, str(evidence_id), exc)
            if committed is None:  # unknown: a record may point at the object, keep it
                log.error("record_outcome_unknown", evidence_id=str(evidence_id))
                raise DatabaseUnavailable from exc
            if not committed:
                await self._discard(key, stored.version_id)
                raise DatabaseUnavailable from exc
            added = True
        if not added:
            await self._discard(key, stored.version_id)
            raise ComplaintFull(limits.max_files, limits.max_total_bytes)
        await self.complete(record, event)
        return record

    async def _first_of_retry(
        self, complaint_id: str, evidence_id: str, key: str, stored: Stored
    ) -> EvidenceRecord:
        """A retried upload (same Idempotency-Key) whose first answer was never kept: the first
        record stands, this copy goes. Another file under the same key is refused."""
        if stored.version_id is not None:  # versioned (always, see storage): only this copy
            await self._discard(key, stored.version_id)
        first = await self.store.get(complaint_id, evidence_id)
        if first is None:  # the id is another complaint's: the key was reused elsewhere
            raise KeyReused
        if (first.sha256, first.size_bytes) != (stored.sha256, stored.size):
            raise KeyReused
        log.info("upload_retry_met_first", evidence_id=evidence_id)
        return first

    async def same_file(self, up: Upload, sha256: str, size: int) -> bool:
        """A retried upload whose answer is kept: is its body the file the answer was for?
        Read and hashed, nothing stored; reading stops as soon as it is longer."""
        if up.length is not None and up.length != size:
            return False
        digest, seen = hashlib.sha256(), 0
        async for chunk in up.body:
            seen += len(chunk)
            if seen > size:
                return False
            digest.update(chunk)
        return seen == size and digest.hexdigest() == sha256

    async def _committed_anyway(
        self, complaint_id: str, evidence_id: str, exc: Exception
    ) -> bool | None:
        """The commit raised: did it happen all the same (the answer was lost on the way)?
        None when the store cannot tell either."""
        log.warning("record_failed", error=type(exc).__name__, evidence_id=evidence_id)
        try:
            return await self.store.get(complaint_id, evidence_id) is not None
        except Exception:
            return None

    async def _discard(self, key: str, version_id: str | None) -> None:
        try:
            await self.storage.remove(key, version_id)
        except Exception as exc:  # logged; an orphan object has no record and no event
            log.error("discard_failed", key=key, error=type(exc).__name__)

    async def complete(self, record: EvidenceRecord, event: EvidenceStored) -> bool:
        """Seal the committed record's object, then publish its event; True when both are done.
        What fails stays pending in the record for the relay (never an error for the client:
        the upload is accepted). The event is published only once the object is sealed."""
        evidence_id = record.evidence_id
        try:
            if not record.sealed:
                await self.storage.seal(
                    record.object_key, record.version_id, record.sha256, record.retained_until
                )
        except Exception as exc:
            log.warning("seal_deferred", evidence_id=evidence_id, error=type(exc).__name__)
            return False
        try:
            await self.publisher.publish(event)
        except Exception as exc:  # the relay publishes it later
            log.warning("publish_deferred", evidence_id=evidence_id, error=type(exc).__name__)
            with contextlib.suppress(Exception):
                await self.store.mark_sealed(evidence_id)
            return False
        try:
            await self.store.mark_published(evidence_id)
        except Exception as exc:  # published again by the relay (same event id: deduplicated)
            log.warning("outbox_mark_failed", evidence_id=evidence_id, error=type(exc).__name__)
            return False
        return True

    async def relay_once(self, older_than_s: float = 5.0) -> int:
        """Complete the records whose seal or event did not happen right after their commit."""
        done = 0
        for pending in await self.store.pending(older_than_s):
            if await self.complete(pending.record, pending.event):
                done += 1
        return done

    async def _publish_audit(self, seq: int, event: IdentityRead) -> bool:
        try:
            await self.publisher.publish_audit(event)
            await self.store.audit_published(seq)
        except Exception as exc:  # the relay sends it later (same event id)
            log.warning("audit_publish_deferred", error=type(exc).__name__)
            return False
        return True

    async def relay_audits_once(self, older_than_s: float = 5.0) -> int:
        """Publish the download audit entries whose event did not leave right away."""
        done = 0
        for doc in await self.store.audits_unpublished(older_than_s, 500):
            event = IdentityRead.model_validate_json(doc["outbox_event"])
            if await self._publish_audit(doc["seq"], event):
                done += 1
        return done

    async def erase_identity_documents(self, complaint_id: uuid.UUID) -> int:
        """`complaint.identity-erased.v1`: the objects that may be the complainant's identity
        documents (scans and soft copies: a KTP, a signed letter) are deleted for good; photos,
        sound and video (the reported conduct, needed for the follow-up) stay; every record
        stays for the statistics. Idempotent; returns how many objects went."""
        gone = 0
        for record in await self.store.to_erase(str(complaint_id), list(IDENTITY_DOCUMENTS)):
            if await self.storage.erase(record.object_key, record.version_id):
                await self.store.mark_erased(record.evidence_id, datetime.now(UTC))
                gone += 1
            else:
                log.warning("erasure_blocked_by_retention", evidence_id=record.evidence_id)
        return gone

    async def outbox_age_s(self) -> float:
        """How long the oldest record still to seal or publish has waited (0: none)."""
        oldest = await self.store.oldest_pending()
        return 0.0 if oldest is None else max(0.0, (datetime.now(UTC) - oldest).total_seconds())

    async def list(self, who: Principal, complaint_id: uuid.UUID) -> list[EvidenceRecord]:
        await self._complaint_for(who, complaint_id)
        return await self.store.list_for(str(complaint_id))

    async def get(
        self, who: Principal, complaint_id: uuid.UUID, evidence_id: uuid.UUID
    ) -> EvidenceRecord:
        await self._complaint_for(who, complaint_id)
        found = await self.store.get(str(complaint_id), str(evidence_id))
        if found is None:
            raise UnknownEvidence
        return found

    async def download_link(
        self, who: Principal, complaint_id: uuid.UUID, evidence_id: uuid.UUID
    ) -> tuple[str, int]:
        record = await self.get(who, complaint_id, evidence_id)
        # The file may be the complainant's identity document: one audit entry per link, stored
        # before the link is handed out.
        entry: dict[str, Any] = {
            "complaint_id": str(complaint_id),
            "office_code": record.office_code,
            "evidence_id": str(evidence_id),
            "kind": record.kind.value,
            "officer_id": who.officer_id,
            "officer_office": who.office_code,
            "request_id": current_correlation_id(),
            "at": audit_chain.millis(datetime.now(UTC)),
        }
        # Also on the restricted audit topic, as the registry's identity reads: the event rides
        # in the entry (outbox), so a Kafka outage only delays it (`relay_audits_once`).
        event = IdentityRead(
            source="evidence",
            correlation_id=entry["request_id"] or str(complaint_id),
            office_code=record.office_code,
            complaint_id=complaint_id,
            officer_id=who.officer_id,
            officer_office=who.office_code,
            fields=[f"evidence:{record.kind.value}"],
            purpose="unduh data pendukung",
            request_id=entry["request_id"] or str(complaint_id),
            read_at=entry["at"],
        )
        entry |= {"outbox_event": event.model_dump_json(), "outbox_pending": True}
        doc = await audit_chain.append(
            self.store.audit_log.last, self.store.audit_log.add, entry, AUDITED
        )
        await self._publish_audit(doc["seq"], event)
        name = record.file_name or f"{evidence_id}{_ext(record)}"
        url = self.storage.download_url(
            record.object_key, record.version_id, name, record.content_type
        )
        return url, self.storage.presign_ttl_s

    async def download_audit(
        self, who: Principal, complaint_id: uuid.UUID | None, officer_id: str | None, limit: int
    ) -> Sequence[dict[str, Any]]:
        """Who took a download link of which evidence (supervisors, every office)."""
        if not who.has(Role.SUPERVISOR):
            raise SupervisorsOnly
        found = await self.store.audit_log.entries(
            str(complaint_id) if complaint_id else None, officer_id, limit
        )
        return [{k: v for k, v in d.items() if k != "_id"} for d in found]

    async def verify_download_audit(self, who: Principal) -> dict[str, Any]:
        if not who.has(Role.SUPERVISOR):
            raise SupervisorsOnly
        return await audit_chain.verify(self.store.audit_log.chain(), AUDITED)


# The kinds an identity document is filed under (docs/identity.md).
IDENTITY_DOCUMENTS = (EvidenceKind.SCAN.value, EvidenceKind.SOFT_COPY.value)

AUDITED = (
    "complaint_id",
    "office_code",
    "evidence_id",
    "kind",
    "officer_id",
    "officer_office",
    "request_id",
    "at",
)


def _ext(record: EvidenceRecord) -> str:
    for ftype in ACCEPTED:
        if ftype.label == record.file_type:
            return ftype.extensions[0]
    return ""


async def _read_head(rest: AsyncIterator[bytes]) -> tuple[bytes, bool]:
    """At least SNIFF_BYTES (or the whole body, when shorter); True when the body ended."""
    head = bytearray()
    while len(head) < SNIFF_BYTES:
        try:
            head += await rest.__anext__()
        except StopAsyncIteration:
            return bytes(head), True
    return bytes(head), False
