"""Kafka entry points: the complaint view fed by `ComplaintReceived` / `ComplaintRegistered`, and
the `EvidenceStored` publisher.

Evidence never reads the registry's database. To know that a complaint exists and which office it
belongs to, it keeps its own small view (`complaints` in its own MongoDB database) from the
complaint events; it keeps only `complaint_id` and `office_code` (the restricted
`ComplaintReceived` carries personal data, which is validated by the contract and then dropped).
Both topics are consumed because a receiver uploads right after pressing Save: the received event
arrives first, and evidence keeps working while the registry is down.

The shared subscriber (`sipuma.shared.kafka.subscribe_events`) commits after the handler, retries
with backoff when the database is down, and dead-letters what is not a valid event. Handlers are
idempotent (an upsert), so redelivery is harmless.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from faststream.kafka import KafkaBroker

from sipuma.evidence.store import EvidenceStore
from sipuma.shared import topics
from sipuma.shared.cloudevents import publish_event
from sipuma.shared.events import ComplaintReceived, ComplaintRegistered, EvidenceStored
from sipuma.shared.kafka import subscribe_events


def complaint_topics(received: str, registered: str) -> list[topics.TopicSpec]:
    """The shared topic specs, renamed when settings point elsewhere (tests, staging)."""
    return [
        replace(topics.COMPLAINT_RECEIVED, name=received),
        replace(topics.COMPLAINT_REGISTERED, name=registered),
    ]


def register_complaint_view(
    broker: KafkaBroker,
    store: EvidenceStore,
    *,
    received_topic: str,
    registered_topic: str,
    group_id: str,
    retry_initial_seconds: float = 0.5,
    retry_max_seconds: float = 30.0,
) -> None:
    async def complaint_received(event: ComplaintReceived) -> None:
        await store.complaint_seen(str(event.complaint_id), event.office_code, event.occurred_at)

    async def complaint_registered(event: ComplaintRegistered) -> None:
        await store.complaint_seen(str(event.complaint_id), event.office_code, event.occurred_at)

    received, registered = complaint_topics(received_topic, registered_topic)
    for spec, handler in ((received, complaint_received), (registered, complaint_registered)):
        subscribe_events(
            broker,
            spec,
            handler,
            group_id=group_id,
            retry_initial_seconds=retry_initial_seconds,
            retry_max_seconds=retry_max_seconds,
        )


class KafkaEvidencePublisher:
    """Publishes `EvidenceStored` with the shared CloudEvents helper (key = complaint id)."""

    def __init__(self, broker: KafkaBroker, topic: str, timeout_s: float = 10.0) -> None:
        self._broker = broker
        self._topic = topic
        self._timeout_s = timeout_s
        self.connected = False

    async def publish(self, event: EvidenceStored) -> None:
        if not self.connected:
            raise ConnectionError("kafka not connected")
        await asyncio.wait_for(
            publish_event(self._broker, event, topic=self._topic), self._timeout_s
        )
