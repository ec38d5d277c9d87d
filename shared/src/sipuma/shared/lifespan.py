"""Start and stop a service's broker the same way everywhere: topics first (with the settings'
partitions, replication and retention, plus each consumer group's dead-letter topic), then the
broker; on shutdown (SIGTERM → uvicorn lifespan) in-flight handlers finish, offsets are
committed and the consumers leave their groups, within `shutdown_grace_seconds`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from faststream.kafka import KafkaBroker

from sipuma.shared.settings import ServiceSettings
from sipuma.shared.topic_admin import ensure_topics
from sipuma.shared.topics import TopicSpec, dead_letter_topic


async def ensure_service_topics(
    settings: ServiceSettings, topics: Iterable[TopicSpec | str], groups: Iterable[str] = ()
) -> list[str]:
    return await ensure_topics(
        settings.kafka_bootstrap,
        [*topics, *(dead_letter_topic(group) for group in groups)],
        partitions=settings.topic_partitions,
        replication_factor=settings.topic_replication_factor,
        retention_ms=settings.topic_retention_ms,
    )


@asynccontextmanager
async def running_broker(
    broker: KafkaBroker,
    settings: ServiceSettings,
    *,
    topics: Iterable[TopicSpec | str],
    groups: Iterable[str] = (),
) -> AsyncIterator[KafkaBroker]:
    """`async with running_broker(broker, settings, topics=[...], groups=["registry"]):` in the
    FastAPI lifespan. Raises when Kafka is unreachable; a service that must start anyway (intake
    with its spool) calls `ensure_service_topics` / `broker.start()` itself and retries."""
    await ensure_service_topics(settings, topics, groups)
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()
