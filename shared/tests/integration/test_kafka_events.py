"""Events through the real Kafka: CloudEvents headers intact, key = complaint id, topics made
with the configured partitions and retention."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
import structlog
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from sipuma.shared import cloudevents as ce
from sipuma.shared import events as ev
from sipuma.shared.events import ALL_EVENTS
from sipuma.shared.kafka import build_broker, subscribe_events
from sipuma.shared.samples import example
from sipuma.shared.settings import ServiceSettings
from sipuma.shared.topic_admin import ensure_topics

pytestmark = pytest.mark.integration


async def test_ensure_topics_is_idempotent_and_applies_settings(
    endpoints: Any, unique_name: Any
) -> None:
    name = f"sipuma.{unique_name('topics')}.v1"
    bootstrap = endpoints.kafka_bootstrap
    assert await ensure_topics(bootstrap, [name], partitions=6, retention_ms=3_600_000) == [name]
    assert await ensure_topics(bootstrap, [name], partitions=6) == []  # existing: left alone
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([name])
        assert len(described["partitions"]) == 6
        (response,) = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name, None)]
        )
        configs = {entry[0]: entry[1] for entry in response.resources[0][4]}
        assert configs["retention.ms"] == "3600000"
    finally:
        await admin.close()


async def test_every_event_round_trips_with_all_cloudevents_headers(
    endpoints: Any, make_topic: Any, started: list[Any], read_all: Any
) -> None:
    topic = await make_topic(partitions=3)
    broker = build_broker(
        ServiceSettings(service="intake", kafka_bootstrap=endpoints.kafka_bootstrap)
    )
    started.append(broker)
    await broker.start()
    sent = [example(cls, event_id=uuid4(), complaint_id=uuid4()) for cls in ALL_EVENTS]
    for event in sent:
        metadata = await ce.publish_event(broker, event, topic=topic)
        assert metadata.offset >= 0

    records = await read_all(endpoints.kafka_bootstrap, topic.name, expect=len(sent))
    assert len(records) == len(sent)
    by_id = {str(event.event_id): event for event in sent}
    for record in records:
        headers = {key: value.decode() for key, value in record.headers}
        event = by_id[headers["ce_id"]]
        assert headers == {
            "ce_specversion": "1.0",
            "ce_id": str(event.event_id),
            "ce_type": event.event_type,
            "ce_source": f"/sipuma/{event.source}",
            "ce_time": event.occurred_at.isoformat().replace("+00:00", "Z"),
            "ce_subject": str(event.complaint_id),
            "content-type": "application/json",
            "correlation_id": event.correlation_id,
        }
        assert record.key == str(event.complaint_id).encode()
        meta, decoded = ce.decode_message(headers, record.value)
        assert decoded == event and meta.type == event.event_type


async def test_subscriber_gets_the_typed_event_with_context_bound(
    endpoints: Any, make_topic: Any, unique_name: Any, started: list[Any], wait_for: Any
) -> None:
    topic = await make_topic()
    group = unique_name("grp")
    settings = ServiceSettings(service="registry", kafka_bootstrap=endpoints.kafka_bootstrap)
    await ensure_topics(settings.kafka_bootstrap, [f"sipuma.dead-letter.{group}.v1"], partitions=1)
    broker = build_broker(settings)
    got: list[tuple[ev.Event, dict[str, Any]]] = []

    async def on_received(event: ev.ComplaintReceived) -> None:
        got.append((event, structlog.contextvars.get_contextvars()))

    subscribe_events(broker, topic, on_received, group_id=group)
    started.append(broker)
    sent = example(ev.ComplaintReceived, event_id=uuid4())
    await broker.start()
    await ce.publish_event(broker, sent, topic=topic)
    await wait_for(lambda: len(got) == 1)
    event, context = got[0]
    assert event == sent and isinstance(event, ev.ComplaintReceived)
    assert context["correlation_id"] == sent.correlation_id
    assert context["event_id"] == str(sent.event_id)
