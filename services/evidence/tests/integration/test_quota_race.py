"""The per-complaint evidence limits under racing uploads, on the real store: the count and total
never pass the limits, and never drift from the records actually kept."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from services.evidence.tests import samples
from services.evidence.tests.support import (
    OFFICE,
    auth,
    publish_registered,
    remove_everything,
    running_service,
    settings_for,
)
from sipuma.evidence.domain import AlreadyRecorded, EvidenceRecord
from sipuma.evidence.store import EvidenceStore
from sipuma.shared.events import EvidenceStored
from sipuma.shared.payloads import EvidenceKind
from sipuma.shared.topics import COMPLAINT_REGISTERED
from tests.harness.endpoints import Endpoints

pytestmark = pytest.mark.integration


def _file(complaint_id: str, size: int) -> tuple[EvidenceRecord, EvidenceStored]:
    """A stored file's record and its event, as the upload use case makes them."""
    evidence_id, key = uuid.uuid4(), f"complaints/{complaint_id}/x"
    event = EvidenceStored(
        source="evidence",
        correlation_id="c",
        office_code=OFFICE,
        complaint_id=uuid.UUID(complaint_id),
        evidence_id=evidence_id,
        kind=EvidenceKind.SCAN,
        content_type="application/pdf",
        size_bytes=size,
        sha256="0" * 64,
        object_key=key,
    )
    record = EvidenceRecord(
        evidence_id=str(evidence_id),
        complaint_id=complaint_id,
        office_code=OFFICE,
        kind=EvidenceKind.SCAN,
        content_type="application/pdf",
        file_type="PDF",
        size_bytes=size,
        sha256="0" * 64,
        object_key=key,
        version_id=None,
        file_name=None,
        uploaded_by="198001",
        uploaded_at=datetime.now(UTC),
        retained_until=None,
        event_id=str(event.event_id),
    )
    return record, event


async def _kept(store: EvidenceStore, complaint_id: str) -> tuple[int, int, int, int]:
    """(counted files, counted bytes, records, bytes of the records) of one complaint."""
    known = await store.complaint(complaint_id)
    assert known is not None
    records = await store.list_for(complaint_id)
    return (
        known.evidence_count,
        known.evidence_bytes,
        len(records),
        sum(r.size_bytes for r in records),
    )


@pytest.fixture
async def store(endpoints: Endpoints) -> Any:
    settings = settings_for(endpoints, f"ev-{uuid.uuid4().hex[:12]}")
    found = EvidenceStore(settings.mongo_uri, settings.mongo_database)
    await found.prepare()
    try:
        yield found
    finally:
        await found.close()
        await remove_everything(settings)


async def test_racing_reservations_never_pass_the_count_and_never_drift(
    store: EvidenceStore,
) -> None:
    cid = str(uuid.uuid4())
    await store.complaint_seen(cid, OFFICE, datetime.now(UTC))
    files = [_file(cid, 1000 + n) for n in range(40)]
    added = await asyncio.gather(
        *(store.record_within_limits(*f, max_files=10, max_bytes=10**9) for f in files)
    )
    assert sum(added) == 10, "exactly the limit, however many raced"
    count, total, kept, kept_bytes = await _kept(store, cid)
    counted = sum(r.size_bytes for (r, _), ok in zip(files, added, strict=True) if ok)
    assert (count, total) == (kept, kept_bytes) == (10, counted)


async def test_racing_reservations_never_pass_the_byte_total(store: EvidenceStore) -> None:
    cid = str(uuid.uuid4())
    await store.complaint_seen(cid, OFFICE, datetime.now(UTC))
    added = await asyncio.gather(
        *(
            store.record_within_limits(*_file(cid, 100), max_files=1000, max_bytes=550)
            for _ in range(30)
        )
    )
    assert sum(added) == 5
    assert await _kept(store, cid) == (5, 500, 5, 500)


async def test_a_failed_insert_counts_nothing(store: EvidenceStore) -> None:
    """The count and the record are one transaction: when the insert fails, nothing is
    counted (no separate release that could be lost)."""
    cid = str(uuid.uuid4())
    await store.complaint_seen(cid, OFFICE, datetime.now(UTC))
    first, event = _file(cid, 10)
    assert await store.record_within_limits(first, event, max_files=5, max_bytes=1000)
    with pytest.raises(AlreadyRecorded):  # the same id again (a retried upload)
        await store.record_within_limits(
            replace(first, size_bytes=20), event, max_files=5, max_bytes=1000
        )
    assert await _kept(store, cid) == (1, 10, 1, 10)


async def test_racing_uploads_through_the_api_keep_exactly_the_limit(
    endpoints: Endpoints,
) -> None:
    """Twelve uploads of one complaint at once, limit five: five answered 201 and kept (records,
    objects, counters agree), seven refused with 413 and nothing of them left in MinIO."""
    name = f"ev-{uuid.uuid4().hex[:12]}"
    settings = settings_for(endpoints, name, max_files_per_complaint=5, object_lock=False)
    async with running_service(settings) as svc:
        cid = await publish_registered(
            settings.kafka_bootstrap, settings.topic(COMPLAINT_REGISTERED), OFFICE
        )
        await svc.knows(cid)
        files = [samples.pdf() + bytes(n) for n in range(12)]
        async with svc.client() as client:
            answers = await asyncio.gather(
                *(
                    client.post(
                        f"/v1/complaints/{cid}/evidence",
                        params={"kind": "scan"},
                        content=data,
                        headers={**auth(), "Content-Type": "application/pdf"},
                    )
                    for data in files
                )
            )
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [201] * 5 + [413] * 7, [a.text for a in answers if a.status_code >= 500]
        refused = [a.json() for a in answers if a.status_code == 413]
        assert {r["code"] for r in refused} == {"complaint_evidence_limit"}
        store = svc.runtime.store
        kept_sizes = sorted(a.json()["size_bytes"] for a in answers if a.status_code == 201)
        assert await _kept(store, str(cid)) == (5, sum(kept_sizes), 5, sum(kept_sizes))
        client_minio = svc.runtime.storage.client
        objects = list(
            client_minio.list_objects(
                settings.bucket, prefix=f"complaints/{cid}/", include_version=True
            )
        )
        assert len(objects) == 5, "the refused uploads' objects were deleted"
