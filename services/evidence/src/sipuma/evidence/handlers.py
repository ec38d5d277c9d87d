"""Kafka entry points (thin): `ComplaintReceived` / `ComplaintRegistered` tell the use cases that
a complaint exists and which office it belongs to.

Evidence never reads the registry's database. It keeps its own small view of the complaints
(see `store.py`) from the complaint events, keeping only `complaint_id` and `office_code` (the
restricted `ComplaintReceived` carries personal data, which is validated by the contract and then
dropped). Both topics are consumed because a receiver uploads right after pressing Save: the
received event arrives first, and evidence keeps working while the registry is down.

The shared subscriber (`sipuma.shared.kafka.subscribe_events`) commits after the handler, retries
with backoff when the database is down, and dead-letters what is not a valid event. The use case
is idempotent (an upsert), so redelivery is harmless.
"""

from __future__ import annotations

from dataclasses import replace

from faststream.kafka import KafkaBroker

from sipuma.evidence.service import EvidenceService
from sipuma.evidence.settings import EvidenceSettings
from sipuma.shared import topics
from sipuma.shared.events import ComplaintIdentityErased, ComplaintReceived, ComplaintRegistered
from sipuma.shared.kafka import subscribe_events

CONSUMED = (topics.COMPLAINT_RECEIVED, topics.COMPLAINT_REGISTERED)


def subscribe_complaint_events(
    broker: KafkaBroker, service: EvidenceService, settings: EvidenceSettings
) -> None:
    async def complaint_heard(event: ComplaintReceived | ComplaintRegistered) -> None:
        await service.complaint_heard(event.complaint_id, event.office_code, event.occurred_at)

    for spec in CONSUMED:
        subscribe_events(
            broker,
            replace(spec, name=settings.topic(spec)),  # this deployment's name of the topic
            complaint_heard,
            group_id=settings.group_id,
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
