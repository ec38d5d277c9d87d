"""A service's topics and dead-letter topics are created with its settings."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from sipuma.shared.lifespan import ensure_service_topics
from sipuma.shared.settings import ServiceSettings
from sipuma.shared.topics import dead_letter_topic
from tests.harness.state import eventually

pytestmark = pytest.mark.integration


async def test_service_topics_are_created_with_the_settings(
    endpoints: Any, unique_name: Any
) -> None:
    settings = ServiceSettings(
        service="registry", kafka_bootstrap=endpoints.kafka_bootstrap, topic_partitions=4
    )
    topic, group = f"sipuma.{unique_name('life')}.v1", unique_name("grp")
    created = await ensure_service_topics(settings, [topic], [group])
    assert set(created) >= {topic, dead_letter_topic(group)}
    admin = AIOKafkaAdminClient(bootstrap_servers=endpoints.kafka_bootstrap)
    await admin.start()
    try:

        async def described() -> dict[str, Any] | None:
            # A new topic's partitions show in the metadata a moment after it is created.
            found = {
                t["topic"]: t
                for t in await admin.describe_topics([topic, dead_letter_topic(group)])
            }
            return found if all(len(t["partitions"]) for t in found.values()) else None

        topics_now = await eventually("the topics' partitions in the metadata", described)
    finally:
        await admin.close()
    assert len(topics_now[topic]["partitions"]) == 4
    assert len(topics_now[dead_letter_topic(group)]["partitions"]) == 4
