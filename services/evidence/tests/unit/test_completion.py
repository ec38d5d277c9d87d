"""After the commit an upload is accepted; sealing and publishing follow, in that order, and
what could not be done then is finished by the relay (in-memory fakes: the order is the subject)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from sipuma.evidence.domain import EvidenceRecord, Limits, StorageUnavailable
from sipuma.evidence.ports import EvidenceRepository, ObjectStorage, Pending
from sipuma.evidence.service import EvidenceService
from sipuma.shared.events import EvidenceStored, IdentityRead
from sipuma.shared.payloads import EvidenceKind

pytestmark = pytest.mark.unit


class Steps:
    """Fake storage, store and publisher writing into one list of what happened."""

    def __init__(self) -> None:
        self.done: list[str] = []
        self.storage_down = False
        self.kafka_down = False
        self.outbox: dict[str, Pending] = {}  # what the store still has to do

    # storage
    async def seal(self, key: str, version_id: str | None, sha256: str, until: Any) -> None:
        if self.storage_down:
            raise StorageUnavailable("down")
        self.done.append("seal")

    # publisher
    async def publish(self, event: EvidenceStored) -> None:
        if self.kafka_down:
            raise ConnectionError("down")
        self.done.append("publish")

    async def publish_audit(self, event: IdentityRead) -> None:
        self.done.append("publish audit")

    # store
    async def mark_sealed(self, evidence_id: str) -> None:
        waiting = self.outbox[evidence_id]
        self.outbox[evidence_id] = replace(waiting, record=replace(waiting.record, sealed=True))
        self.done.append("mark sealed")

    async def mark_published(self, evidence_id: str) -> None:
        del self.outbox[evidence_id]
        self.done.append("mark published")

    async def pending(self, older_than_s: float) -> list[Pending]:
        return list(self.outbox.values())

    async def oldest_pending(self) -> datetime | None:
        return min((p.record.uploaded_at for p in self.outbox.values()), default=None)


def _committed(steps: Steps) -> tuple[EvidenceRecord, EvidenceStored]:
    event = EvidenceStored(
        source="evidence",
        correlation_id="c",
        office_code="KPUBC-TPK-TJPRIOK",
        complaint_id=uuid.uuid4(),
        evidence_id=uuid.uuid4(),
        kind=EvidenceKind.SCAN,
        content_type="application/pdf",
        size_bytes=3,
        sha256="0" * 64,
        object_key="complaints/x/y",
    )
    record = EvidenceRecord(
        evidence_id=str(event.evidence_id),
        complaint_id=str(event.complaint_id),
        office_code=event.office_code,
        kind=EvidenceKind.SCAN,
        content_type="application/pdf",
        file_type="PDF",
        size_bytes=3,
        sha256="0" * 64,
        object_key="complaints/x/y",
        version_id="v1",
        file_name=None,
        uploaded_by="198001",
        uploaded_at=datetime.now(UTC),
        retained_until=datetime.now(UTC),
        event_id=str(event.event_id),
    )
    steps.outbox[record.evidence_id] = Pending(record, event)
    return record, event


def _service(steps: Steps) -> EvidenceService:
    limits = Limits(per_kind=dict.fromkeys(EvidenceKind, 10), max_files=1, max_total_bytes=10)
    return EvidenceService(
        cast(ObjectStorage, steps), cast(EvidenceRepository, steps), steps, limits
    )


async def test_sealed_then_published_then_marked() -> None:
    steps = Steps()
    record, event = _committed(steps)
    assert await _service(steps).complete(record, event)
    assert steps.done == ["seal", "publish", "mark published"]


async def test_nothing_is_published_before_the_object_is_sealed() -> None:
    steps = Steps()
    record, event = _committed(steps)
    steps.storage_down = True
    service = _service(steps)
    assert not await service.complete(record, event)
    assert steps.done == [], "no event for an object that is not sealed"
    steps.storage_down = False
    assert await service.relay_once(older_than_s=0) == 1
    assert steps.done == ["seal", "publish", "mark published"]


async def test_a_sealed_object_whose_event_waits_is_not_sealed_twice() -> None:
    steps = Steps()
    record, event = _committed(steps)
    steps.kafka_down = True
    service = _service(steps)
    assert not await service.complete(record, event)
    assert steps.done == ["seal", "mark sealed"]
    steps.kafka_down = False
    assert await service.relay_once(older_than_s=0) == 1
    assert steps.done == ["seal", "mark sealed", "publish", "mark published"]
    assert await service.relay_once(older_than_s=0) == 0


async def test_the_outbox_age_counts_while_an_event_waits_and_is_zero_after() -> None:
    """What the "outbox age" alert reads (sipuma_outbox_oldest_unsent_seconds{outbox=evidence})."""
    steps = Steps()
    record, event = _committed(steps)
    steps.kafka_down = True
    service = _service(steps)
    assert not await service.complete(record, event)
    assert await service.outbox_age_s() >= 0 and await steps.oldest_pending() is not None
    steps.kafka_down = False
    assert await service.relay_once(older_than_s=0) == 1
    assert await service.outbox_age_s() == 0
