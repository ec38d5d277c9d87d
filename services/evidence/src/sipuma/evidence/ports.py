"""What the use cases need from the world, in the domain's words: the evidence repository
(`store.py`), the object storage (`storage.py`) and the event publisher (`publisher.py`).

Each raises `StorageUnavailable` (object storage) or any exception (repository, publisher) when
it cannot do its work; the use cases decide what that means for the client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sipuma.evidence.domain import EvidenceRecord, KnownComplaint
from sipuma.shared.audit_log import AuditLog
from sipuma.shared.events import EvidenceStored, IdentityRead


@dataclass(frozen=True)
class Pending:
    """A committed record whose seal or event is still to do, with its event (the outbox)."""

    record: EvidenceRecord
    event: EvidenceStored


class EvidenceRepository(Protocol):
    """The complaints this service heard of, and the evidence records with their outbox."""

    # -- the download audit chain (insert-only; `_id` = seq; shared.audit_chain) -------------
    @property
    def audit_log(self) -> AuditLog: ...
    async def audit_published(self, seq: int) -> None: ...
    async def mark_erased(self, evidence_id: str, at: datetime) -> None: ...
    async def to_erase(self, complaint_id: str, kinds: list[str]) -> list[EvidenceRecord]:
        """The complaint's records of these kinds whose object is not erased yet."""
        ...

    async def audits_unpublished(self, older_than_s: float, limit: int) -> list[dict[str, Any]]:
        """Audit entries whose event Kafka has not taken yet (the relay sends them)."""
        ...

    async def complaint_seen(
        self, complaint_id: str, office_code: str, seen_at: datetime
    ) -> None: ...

    async def complaint(self, complaint_id: str) -> KnownComplaint | None: ...

    async def record_within_limits(
        self, record: EvidenceRecord, event: EvidenceStored, *, max_files: int, max_bytes: int
    ) -> bool:
        """Count the file against its complaint's limits and keep its record with its pending
        event, all or nothing; False (nothing kept) when the file does not fit.
        `domain.AlreadyRecorded` (nothing kept) when a record with its id exists."""
        ...

    async def mark_sealed(self, evidence_id: str) -> None: ...

    async def mark_published(self, evidence_id: str) -> None:
        """Sealed and published: nothing left to do for this record."""
        ...

    async def pending(self, older_than_s: float) -> list[Pending]: ...

    async def oldest_pending(self) -> datetime | None:
        """When the oldest record still to seal or publish was uploaded (None: none waits)."""
        ...

    async def list_for(self, complaint_id: str) -> list[EvidenceRecord]: ...

    async def get(self, complaint_id: str, evidence_id: str) -> EvidenceRecord | None: ...


@dataclass(frozen=True)
class Stored:
    """A complete object, as the storage kept it."""

    version_id: str | None
    size: int
    sha256: str
    etag: str


class ObjectStorage(Protocol):
    """Where the files themselves are kept (MinIO)."""

    @property
    def presign_ttl_s(self) -> int: ...

    async def ensure_bucket(self) -> object: ...

    async def put_stream(
        self,
        key: str,
        blocks: AsyncIterator[bytes],
        *,
        length: int | None,
        content_type: str,
        metadata: dict[str, str],
    ) -> Stored:
        """Stream `blocks` into `key`; on any failure nothing is left."""
        ...

    def retention_until(self, now: datetime) -> datetime | None: ...

    async def seal(
        self, key: str, version_id: str | None, sha256: str, until: datetime | None
    ) -> None: ...

    async def remove(self, key: str, version_id: str | None) -> None: ...

    async def erase(self, key: str, version_id: str | None) -> bool:
        """Delete one object version for good; False when its retention forbids it."""
        ...

    def download_url(
        self, key: str, version_id: str | None, filename: str, content_type: str
    ) -> str: ...


class EventPublisher(Protocol):
    async def publish(self, event: EvidenceStored) -> None: ...
    async def publish_audit(self, event: IdentityRead) -> None: ...
