"""Kafka down at upload time (outbox), a crash after the commit, and SIGTERM while an upload is
in flight."""

from __future__ import annotations

import asyncio
import hashlib
import signal
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from services.evidence.tests import samples
from services.evidence.tests.support import (
    OFFICE,
    EvidenceProcess,
    KafkaGate,
    MiB,
    auth,
    publish_registered,
    read_topic,
    remove_everything,
    running_service,
    settings_for,
)
from sipuma.evidence.domain import EvidenceRecord
from sipuma.shared.events import EvidenceStored
from sipuma.shared.payloads import EvidenceKind
from sipuma.shared.topics import COMPLAINT_REGISTERED
from tests.harness.endpoints import Endpoints
from tests.harness.state import eventually

pytestmark = pytest.mark.integration

# The relay's own timer never fires during these tests: they run the relay themselves, once
# the state they want is reached, and count what it did.
RELAY_BY_HAND = 3600.0


async def test_with_kafka_down_the_upload_is_kept_and_its_event_waits_in_the_outbox(
    endpoints: Endpoints,
) -> None:
    name = f"ev-{uuid.uuid4().hex[:12]}"
    real = settings_for(
        endpoints,
        name,
        object_lock=False,
        outbox_interval_s=RELAY_BY_HAND,
        consumer_retry_max_seconds=1.0,  # retry Kafka often: it comes back in this test
    )
    gate = KafkaGate(real.kafka_bootstrap)  # closed: Kafka is unreachable for the service
    down = real.model_copy(update={"kafka_bootstrap": gate.bootstrap})
    try:
        async with running_service(down, wait_kafka=False) as svc:
            cid = uuid.uuid4()
            # Kafka is down, so no complaint event can arrive: the use case hears of it directly.
            await svc.runtime.service.complaint_heard(cid, OFFICE, datetime.now(UTC))
            async with svc.client() as client:
                answer = await client.post(
                    f"/v1/complaints/{cid}/evidence",
                    params={"kind": "scan", "filename": "surat.pdf"},
                    content=samples.pdf(),
                    headers={**auth(), "Content-Type": "application/pdf"},
                )
            assert answer.status_code == 201, answer.text
            evidence_id = answer.json()["evidence_id"]
            pending = await svc.runtime.store.pending(older_than_s=0)
            assert [p.record.evidence_id for p in pending] == [evidence_id]

            # Kafka is back: the service reconnects, and the relay publishes the event once.
            await gate.open()
            await eventually("the service reached Kafka", lambda: svc.runtime.publisher.connected)
            assert await svc.runtime.service.relay_once(older_than_s=0) == 1
            assert await svc.runtime.service.relay_once(older_than_s=0) == 0
            events = await read_topic(real.kafka_bootstrap, real.topic_evidence_stored)
    finally:
        await gate.close()
        await remove_everything(real)  # the service's own clean-up may not have reached Kafka
    assert [e["evidence_id"] for e, _ in events] == [evidence_id]
    assert events[0][0]["sha256"] == hashlib.sha256(samples.pdf()).hexdigest()


async def test_a_crash_after_the_commit_is_completed_by_the_relay(endpoints: Endpoints) -> None:
    """The process died right after the commit (record and count in, object not yet sealed, no
    event): the relay seals the object first, then publishes the event, once."""
    name = f"ev-{uuid.uuid4().hex[:12]}"
    settings = settings_for(endpoints, name, object_lock=True, outbox_interval_s=RELAY_BY_HAND)
    async with running_service(settings) as svc:
        cid = await publish_registered(
            settings.kafka_bootstrap, settings.topic(COMPLAINT_REGISTERED), OFFICE
        )
        await svc.knows(cid)
        service, storage = svc.runtime.service, svc.runtime.storage
        data = samples.pdf()
        evidence_id = uuid.uuid4()
        key = f"complaints/{cid}/{evidence_id}"

        async def body() -> AsyncIterator[bytes]:
            yield data

        stored = await storage.put_stream(
            key, body(), length=len(data), content_type="application/pdf", metadata={}
        )
        now = datetime.now(UTC)
        event = EvidenceStored(
            source="evidence",
            correlation_id="c",
            office_code=OFFICE,
            complaint_id=cid,
            evidence_id=evidence_id,
            kind=EvidenceKind.SCAN,
            content_type="application/pdf",
            size_bytes=stored.size,
            sha256=stored.sha256,
            object_key=key,
        )
        record = EvidenceRecord(
            evidence_id=str(evidence_id),
            complaint_id=str(cid),
            office_code=OFFICE,
            kind=EvidenceKind.SCAN,
            content_type="application/pdf",
            file_type="PDF",
            size_bytes=stored.size,
            sha256=stored.sha256,
            object_key=key,
            version_id=stored.version_id,
            file_name=None,
            uploaded_by="198001",
            uploaded_at=now,
            retained_until=storage.retention_until(now),
            event_id=str(event.event_id),
        )
        limits = service.limits
        assert await svc.runtime.store.record_within_limits(
            record, event, max_files=limits.max_files, max_bytes=limits.max_total_bytes
        )  # ... and the process died here
        assert await service.relay_once(older_than_s=0) == 1
        assert await service.relay_once(older_than_s=0) == 0
        tags = storage.client.get_object_tags(settings.bucket, key, version_id=stored.version_id)
        assert tags is not None and tags["sha256"] == stored.sha256
        retention = storage.client.get_object_retention(
            settings.bucket, key, version_id=stored.version_id
        )
        assert retention is not None
        assert retention.retain_until_date == record.retained_until
        events = await read_topic(settings.kafka_bootstrap, settings.topic_evidence_stored)
        assert [e["evidence_id"] for e, _ in events] == [str(evidence_id)]


async def test_sigterm_lets_an_in_flight_upload_finish(
    endpoints: Endpoints, tmp_path: Path
) -> None:
    """SIGTERM arrives while an upload is streaming: the server stops accepting connections,
    lets the upload finish (201, whole) and stops. The body is held until the server is seen
    no longer accepting, so the signal is known to have arrived mid-upload."""
    name = f"ev-{uuid.uuid4().hex[:12]}"
    settings = settings_for(endpoints, name, object_lock=False)
    service = EvidenceProcess(endpoints, settings, tmp_path / "evidence.log")
    try:
        await service.start()
        cid = await publish_registered(
            settings.kafka_bootstrap, settings.topic(COMPLAINT_REGISTERED), OFFICE
        )
        async with httpx.AsyncClient(base_url=service.base_url, timeout=60) as client:

            async def known() -> bool:
                answer = await client.get(f"/v1/complaints/{cid}/evidence", headers=auth())
                return answer.status_code == 200

            await eventually("complaint event consumed", known)
            halfway, resume = asyncio.Event(), asyncio.Event()

            async def held_body() -> AsyncIterator[bytes]:
                for i, block in enumerate(samples.video_stream(12 * MiB)):
                    if i == 3:
                        halfway.set()
                        await resume.wait()  # until the server is seen shutting down
                    yield block

            upload = asyncio.create_task(
                client.post(
                    f"/v1/complaints/{cid}/evidence",
                    params={"kind": "video"},
                    content=held_body(),
                    headers={**auth(), "Content-Type": "video/mp4"},
                )
            )
            await halfway.wait()
            assert service.proc is not None
            service.proc.send_signal(signal.SIGTERM)
            await eventually("SIGTERM acted on: no new connections", service.refusing)
            resume.set()
            answer = await upload
        assert answer.status_code == 201, answer.text
        assert answer.json()["size_bytes"] == 12 * MiB
        await service.stop()
        assert b"evidence_stopped" in service.log_path.read_bytes()
    finally:
        await service.stop()
        await remove_everything(settings)
