"""The batch subscriber on the real Kafka: poison in a batch is dead-lettered and the rest is
handled; one key's events stay in order and a failed one holds its key back; different keys run
at once; nothing is committed before the whole poll was handled, and everything after."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any
from uuid import UUID, uuid4

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from sipuma.shared import cloudevents as ce
from sipuma.shared import events as ev
from sipuma.shared.consumer import EventConsumer
from sipuma.shared.kafka import build_broker, subscribe_event_batches
from sipuma.shared.samples import example
from sipuma.shared.settings import ServiceSettings
from sipuma.shared.topic_admin import ensure_topics
from sipuma.shared.topics import dead_letter_topic
from tests.harness.state import eventually

pytestmark = pytest.mark.integration

Headers = list[tuple[str, bytes | None]]


def event(complaint_id: UUID) -> ev.ComplaintReceived:
    return example(ev.ComplaintReceived, event_id=uuid4(), complaint_id=complaint_id)


def headers_of(e: ev.Event) -> Headers:
    return [(k, v.encode()) for k, v in ce.to_headers(e).items()]


async def produce(bootstrap: str, topic: str, messages: list[tuple[bytes, bytes, Headers]]) -> None:
    """All at once (one poll sees many), in order per partition."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        sent = [
            await producer.send(topic, value, key=key, headers=headers)
            for key, value, headers in messages
        ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def committed(bootstrap: str, group: str, topic: str, partitions: int) -> int:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        offsets = [await consumer.committed(TopicPartition(topic, p)) for p in range(partitions)]
        return sum(o or 0 for o in offsets)
    finally:
        await consumer.stop()


def consumer_for(broker: Any, group: str, handler: Any) -> EventConsumer:
    return EventConsumer(
        handler=handler,
        group_id=group,
        accept=(ev.ComplaintReceived,),
        dead_letters=broker.publisher(dead_letter_topic(group), include_in_schema=False),
        retry_initial_seconds=0.05,
        retry_max_seconds=0.2,
    )


async def test_a_batch_dead_letters_poison_and_handles_the_rest(
    endpoints: Any, make_topic: Any, unique_name: Any, started: list[Any], read_all: Any
) -> None:
    bootstrap = endpoints.kafka_bootstrap
    topic, group = await make_topic(partitions=2), unique_name("batch")
    await ensure_topics(bootstrap, [dead_letter_topic(group)], partitions=1)
    good = [event(uuid4()) for _ in range(20)]
    bad_bytes = event(uuid4())
    null_header = event(uuid4())
    messages: list[tuple[bytes, bytes, Headers]] = [
        (str(e.complaint_id).encode(), ce.encode(e), headers_of(e)) for e in good[:10]
    ]
    messages += [
        (b"x", b"{not json", headers_of(good[0])),
        (b"y", ce.encode(bad_bytes), [*headers_of(bad_bytes), ("correlation_id", b"\xff")]),
        (b"z", ce.encode(null_header), [*headers_of(null_header), ("extra", None)]),
    ]
    messages += [(str(e.complaint_id).encode(), ce.encode(e), headers_of(e)) for e in good[10:]]
    await produce(bootstrap, topic.name, messages)

    handled: list[UUID] = []

    async def on_received(e: ev.ComplaintReceived) -> None:
        handled.append(e.event_id)

    broker = build_broker(ServiceSettings(service="batch", kafka_bootstrap=bootstrap))
    subscribe_event_batches(broker, [topic.name], consumer_for(broker, group, on_received))
    started.append(broker)
    await broker.start()

    dead = await read_all(bootstrap, dead_letter_topic(group), expect=3)
    reasons = sorted(dict(r.headers)["x-sipuma-dead-letter-reason"].decode() for r in dead)
    assert reasons == ["invalid_header_bytes", "invalid_header_bytes", "invalid_payload"]
    await eventually("every good event handled", lambda: len(handled) >= len(good), 30)
    assert sorted(handled) == sorted(e.event_id for e in good)
    await broker.stop()
    assert await committed(bootstrap, group, topic.name, 2) == len(messages)


async def test_one_key_stays_in_order_a_failure_holds_it_and_keys_run_at_once(
    endpoints: Any, make_topic: Any, unique_name: Any, started: list[Any], read_all: Any
) -> None:
    bootstrap = endpoints.kafka_bootstrap
    topic, group = await make_topic(partitions=2), unique_name("batch")
    await ensure_topics(bootstrap, [dead_letter_topic(group)], partitions=1)
    keys = [uuid4() for _ in range(6)]
    per_key = {k: [event(k) for _ in range(4)] for k in keys}
    messages = [
        (str(k).encode(), ce.encode(e), headers_of(e))
        for i in range(4)
        for k in keys
        for e in [per_key[k][i]]
    ]
    await produce(bootstrap, topic.name, messages)
    slow = per_key[keys[0]][1]  # the second event of the first key fails twice
    failures = {slow.event_id: 2}
    done: dict[UUID, list[UUID]] = defaultdict(list)  # key → event ids, in handling order
    running = 0
    most = 0

    async def on_received(e: ev.ComplaintReceived) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        try:
            await asyncio.sleep(0.02)  # a store round trip
            if failures.get(e.event_id, 0) > 0:
                failures[e.event_id] -= 1
                raise ConnectionError("store down")
            if e.event_id not in done[e.complaint_id]:  # a redelivered batch: dedupe
                done[e.complaint_id].append(e.event_id)
        finally:
            running -= 1

    broker = build_broker(ServiceSettings(service="batch", kafka_bootstrap=bootstrap))
    subscribe_event_batches(
        broker, [topic.name], consumer_for(broker, group, on_received), concurrency=4
    )
    started.append(broker)
    await broker.start()
    await eventually(
        "every event handled", lambda: sum(len(v) for v in done.values()) >= len(messages), 30
    )
    for k in keys:
        assert done[k] == [e.event_id for e in per_key[k]], "one key's events in order"
    assert 1 < most <= 4  # keys ran at once, within the limit
    await broker.stop()
    assert await committed(bootstrap, group, topic.name, 2) == len(messages)
    assert await read_all(bootstrap, dead_letter_topic(group), expect=1, timeout=2) == []
