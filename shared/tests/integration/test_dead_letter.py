"""Poison messages land in the group's dead-letter topic with their original headers, the
consumer goes on to the next good event, and offsets are committed only after handling."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from sipuma.shared import cloudevents as ce
from sipuma.shared import events as ev
from sipuma.shared.kafka import build_broker, subscribe_events
from sipuma.shared.metrics import CONSUMER_LAG
from sipuma.shared.samples import example
from sipuma.shared.settings import ServiceSettings
from sipuma.shared.topic_admin import ensure_topics
from sipuma.shared.topics import dead_letter_topic

pytestmark = pytest.mark.integration


async def committed_offset(bootstrap: str, group: str, topic: str) -> int | None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        offset: int | None = await consumer.committed(TopicPartition(topic, 0))
        return offset
    finally:
        await consumer.stop()


async def produce_raw(
    bootstrap: str, topic: str, messages: list[tuple[bytes, list[tuple[str, bytes]]]]
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for value, headers in messages:
            await producer.send_and_wait(topic, value, key=b"poison", headers=headers)
    finally:
        await producer.stop()


async def test_poison_messages_are_dead_lettered_and_the_consumer_goes_on(
    endpoints: Any,
    make_topic: Any,
    unique_name: Any,
    started: list[Any],
    read_all: Any,
    wait_for: Any,
) -> None:
    bootstrap = endpoints.kafka_bootstrap
    topic, group = await make_topic(), unique_name("registry")
    await ensure_topics(bootstrap, [dead_letter_topic(group)], partitions=1)

    valid = example(ev.ComplaintReceived, event_id=uuid4())
    good_headers = [(k, v.encode()) for k, v in ce.to_headers(valid).items()]
    body = ce.encode(valid)
    other = example(ev.ComplaintRegistered, event_id=uuid4())
    other_headers = [(k, v.encode()) for k, v in ce.to_headers(other).items()]
    mismatched = [
        (k, b"00000000-0000-0000-0000-000000000000" if k == "ce_id" else v) for k, v in good_headers
    ]
    poison = [
        (b"{not json", good_headers),  # broken body
        (body, []),  # no CloudEvents headers at all
        (body, [*good_headers[:-1], ("correlation_id", b"\xff\xfe")]),  # header not UTF-8
        (body.replace(b'"channel":"in_person"', b'"channel":"pigeon"'), good_headers),
        (ce.encode(other), other_headers),  # valid, but not a type this topic's handler takes
        (body, mismatched),  # headers and body disagree
    ]
    await produce_raw(bootstrap, topic.name, poison)

    got: list[ev.Event] = []

    async def on_received(event: ev.ComplaintReceived) -> None:
        got.append(event)

    broker = build_broker(ServiceSettings(service="registry", kafka_bootstrap=bootstrap))
    subscribe_events(broker, topic, on_received, group_id=group, accept=(ev.ComplaintReceived,))
    started.append(broker)
    await broker.start()
    await ce.publish_event(broker, valid, topic=topic)  # the good one, after all the poison

    await wait_for(lambda: len(got) == 1)
    assert got == [valid]

    dead = await read_all(bootstrap, dead_letter_topic(group), expect=len(poison))
    assert [record.value for record in dead] == [value for value, _ in poison]
    reasons: list[str] = []
    for record, (_, original) in zip(dead, poison, strict=True):
        headers = dict(record.headers)
        assert record.key == b"poison"
        for name, value in original:
            if name != "correlation_id" or value != b"\xff\xfe":
                assert headers[name] == value  # original headers kept
        assert headers["x-sipuma-dead-letter-topic"] == topic.name.encode()
        assert headers["x-sipuma-dead-letter-group"] == group.encode()
        assert headers["x-sipuma-dead-letter-offset"] == str(len(reasons)).encode()
        reasons.append(headers["x-sipuma-dead-letter-reason"].decode())
    assert reasons == [
        "invalid_payload",
        "missing_headers",
        "invalid_header_bytes",
        "invalid_payload",
        "unexpected_event_type",
        "headers_disagree_with_body",
    ]
    assert b"pigeon" not in dict(dead[3].headers)["x-sipuma-dead-letter-detail"]  # no values

    lag = CONSUMER_LAG.labels(group, topic.name, "0")._value.get()
    assert lag == 0  # the gauge follows the partition's end
    await broker.stop()
    assert await committed_offset(bootstrap, group, topic.name) == len(poison) + 1


async def test_failed_handler_is_retried_in_order_and_nothing_is_lost(
    endpoints: Any, make_topic: Any, unique_name: Any, started: list[Any], wait_for: Any
) -> None:
    bootstrap = endpoints.kafka_bootstrap
    topic, group = await make_topic(), unique_name("notifier")
    await ensure_topics(bootstrap, [dead_letter_topic(group)], partitions=1)
    first = example(ev.TicketIssued, event_id=uuid4())
    second = example(ev.TicketIssued, event_id=uuid4())
    failures = {first.event_id: 2}
    handled: list[Any] = []
    attempts: list[Any] = []

    async def on_ticket(event: ev.TicketIssued) -> None:
        attempts.append(event.event_id)
        if failures.get(event.event_id, 0) > 0:
            failures[event.event_id] -= 1
            raise ConnectionError("smtp down")
        handled.append(event.event_id)

    broker = build_broker(ServiceSettings(service="notifier", kafka_bootstrap=bootstrap))
    subscribe_events(broker, topic, on_ticket, group_id=group, retry_initial_seconds=0.05)
    started.append(broker)
    await broker.start()
    await ce.publish_event(broker, first, topic=topic)
    await ce.publish_event(broker, second, topic=topic)

    await wait_for(lambda: len(handled) == 2)
    assert handled == [first.event_id, second.event_id]  # order kept, second waited
    assert attempts == [first.event_id] * 3 + [second.event_id]
    await broker.stop()
    assert await committed_offset(bootstrap, group, topic.name) == 2
    assert await read_dead_letters(bootstrap, group) == 0


async def read_dead_letters(bootstrap: str, group: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        tp = TopicPartition(dead_letter_topic(group), 0)
        end: int = (await consumer.end_offsets([tp]))[tp]
        return end
    finally:
        await consumer.stop()
