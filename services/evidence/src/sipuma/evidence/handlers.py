"""Kafka entry points (thin): `ComplaintReceived` / `ComplaintRegistered` tell the use cases that
a complaint exists and which office it belongs to.

Evidence never reads the registry's database. It keeps its own small view of the complaints
(see `store.py`) from the complaint events, keeping only `complaint_id` and `office_code` (the
restricted `ComplaintReceived` carries personal data, which is validated by the contract and then
dropped). Both topics are consumed because a receiver uploads right after pressing Save: the
received event arrives first, and evidence keeps working while the registry is down.

Both topics are read a poll at a time (`sipuma.shared.kafka.subscribe_events_batched`): one lane
per complaint, the upserts of concurrent lanes go to the store as one bulk write
(`store.complaint_seen`), and the poll is committed once, after every record was handled (a
commit per event cost more CPU than the event: bench (p)). A record that is not a valid event is
dead-lettered; when the database is down the poll is retried with backoff. The use case is
idempotent (an upsert), so redelivery is harmless. Erasures stay one at a time
(`subscribe_events`): rare, and each deletes objects.
"""

from __future__ import annotations

from dataclasses import replace

from faststream.kafka import KafkaBroker

from sipuma.evidence.service import EvidenceService
from sipuma.evidence.settings import EvidenceSettings
from sipuma.shared import topics
from sipuma.shared.events import ComplaintIdentityErased, ComplaintReceived, ComplaintRegistered
from sipuma.shared.kafka import subscribe_events, subscribe_events_batched

CONSUMED = (topics.COMPLAINT_RECEIVED, topics.COMPLAINT_REGISTERED)


def subscribe_complaint_events(
    broker: KafkaBroker, service: EvidenceService, settings: EvidenceSettings
) -> None:
    async def complaint_heard(event: ComplaintReceived | ComplaintRegistered) -> None:
        await service.complaint_heard(event.complaint_id, event.office_code, event.occurred_at)

    subscribe_events_batched(
        broker,
        # this deployment's names of the topics
        [replace(spec, name=settings.topic(spec)) for spec in CONSUMED],
        complaint_heard,
        group_id=settings.group_id,
        max_records=settings.consumer_batch_size,
        concurrency=settings.consumer_batch_size,
        # The broker answers a fetch when it holds this much or after the wait: fewer, fuller
        # polls while complaints trickle in.
        fetch_min_bytes=1024 * 1024,
        fetch_max_wait_ms=settings.consumer_fetch_wait_ms,
    )


def subscribe_erasures(
    broker: KafkaBroker, service: EvidenceService, settings: EvidenceSettings
) -> None:
    """Erasure reaches evidence: identity documents of an erased complaint are deleted."""

    async def identity_erased(event: ComplaintIdentityErased) -> None:
        await service.erase_identity_documents(event.complaint_id)

    spec = topics.COMPLAINT_IDENTITY_ERASED
    subscribe_events(
        broker,
        replace(spec, name=settings.topic(spec)),
        identity_erased,
        group_id=settings.group_id,
    )
