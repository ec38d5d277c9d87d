"""The broker lifespan creates the service's topics and dead-letter topics with its settings."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from sipuma.shared.kafka import build_broker
from sipuma.shared.lifespan import running_broker
from sipuma.shared.settings import ServiceSettings
from sipuma.shared.topics import dead_letter_topic

pytestmark = pytest.mark.integration


async def test_running_broker_creates_topics_then_starts_and_stops(
    endpoints: Any, unique_name: Any
) -> None:
    settings = ServiceSettings(
        service="registry", kafka_bootstrap=endpoints.kafka_bootstrap, topic_partitions=4
    )
    topic, group = f"sipuma.{unique_name('life')}.v1", unique_name("grp")
    broker = build_broker(settings)
    async with running_broker(broker, settings, topics=[topic], groups=[group]):
        assert await broker.ping(timeout=5)
    admin = AIOKafkaAdminClient(bootstrap_servers=endpoints.kafka_bootstrap)
    await admin.start()
    try:
        described = {
            t["topic"]: t for t in await admin.describe_topics([topic, dead_letter_topic(group)])
        }
    finally:
        await admin.close()
    assert len(described[topic]["partitions"]) == 4
    assert len(described[dead_letter_topic(group)]["partitions"]) == 4
