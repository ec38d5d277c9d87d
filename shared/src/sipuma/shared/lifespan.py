"""A service's topics before its broker starts: with the settings' partitions, replication and
retention, plus the dead-letter topic of each consumer group (`groups`: names without the
prefix, e.g. `settings.consumer_group`; see `ServiceSettings.dead_letter_topic`)."""

from __future__ import annotations

from collections.abc import Iterable

from sipuma.shared.settings import ServiceSettings
from sipuma.shared.topic_admin import ensure_topics
from sipuma.shared.topics import TopicSpec


async def ensure_service_topics(
    settings: ServiceSettings, topics: Iterable[TopicSpec | str], groups: Iterable[str] = ()
) -> list[str]:
    return await ensure_topics(
        settings.kafka_bootstrap,
        [*topics, *(settings.dead_letter_topic(group) for group in groups)],
        partitions=settings.topic_partitions,
        replication_factor=settings.topic_replication_factor,
        retention_ms=settings.topic_retention_ms,
        min_insync_replicas=settings.topic_min_insync_replicas,
    )
