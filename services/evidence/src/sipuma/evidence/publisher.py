"""Kafka adapter behind `ports.EventPublisher`: `EvidenceStored` with the shared CloudEvents
helper (key = complaint id), and the start of the broker once Kafka answers.

The service starts, and keeps taking uploads, while Kafka is down: their events wait in the
outbox (`store.py`) until the publisher is connected and the relay sends them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

import structlog
from faststream.kafka import KafkaBroker

from sipuma.evidence.settings import EvidenceSettings
from sipuma.shared.cloudevents import publish_event
from sipuma.shared.events import EvidenceStored, IdentityRead
from sipuma.shared.lifespan import ensure_service_topics

log = structlog.get_logger("sipuma.evidence")


class KafkaEvidencePublisher:
    def __init__(
        self, broker: KafkaBroker, topic: str, audit_topic: str = "", timeout_s: float = 10.0
    ) -> None:
        self._broker = broker
        self._topic = topic
        self._audit_topic = audit_topic
        self._timeout_s = timeout_s
        self.connected = False  # set once the broker has started (`keep_connecting`)

    async def publish(self, event: EvidenceStored) -> None:
        if not self.connected:
            raise ConnectionError("kafka not connected")
        await asyncio.wait_for(
            publish_event(self._broker, event, topic=self._topic), self._timeout_s
        )

    async def publish_audit(self, event: IdentityRead) -> None:
        """A download link handed out, on the restricted audit topic (who saw whom)."""
        if not self.connected or not self._audit_topic:
            raise ConnectionError("kafka not connected")
        await asyncio.wait_for(
            publish_event(self._broker, event, topic=self._audit_topic), self._timeout_s
        )


async def keep_connecting(
    broker: KafkaBroker,
    publisher: KafkaEvidencePublisher,
    settings: EvidenceSettings,
    topics: Iterable[str],
) -> None:
    """Create the topics and start the broker (its consumers too) once Kafka answers, retrying
    with backoff; then the publisher is connected."""
    delay = settings.consumer_retry_initial_seconds
    while True:
        try:
            if settings.create_topics:
                await asyncio.wait_for(
                    ensure_service_topics(settings, topics, [settings.consumer_group]), timeout=15
                )
            await asyncio.wait_for(broker.start(), timeout=30)
        except Exception as exc:
            log.warning("kafka_unreachable", error=type(exc).__name__)
            with contextlib.suppress(Exception):
                await broker.stop()
            await asyncio.sleep(delay)
            delay = min(delay * 2, settings.consumer_retry_max_seconds)
            continue
        publisher.connected = True
        log.info("kafka_connected")
        return
