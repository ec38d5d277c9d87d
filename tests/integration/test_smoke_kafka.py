"""Kafka is real: idempotent acks=all produce, committed offsets survive a consumer restart."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tests.harness.endpoints import Endpoints

pytestmark = pytest.mark.integration


async def _create_topic(bootstrap: str, name: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=3, replication_factor=1)])
    finally:
        await admin.close()


async def _consume(bootstrap: str, topic: str, group: str, expect: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    got: list[bytes] = []
    try:
        while len(got) < expect:
            batches = await consumer.getmany(timeout_ms=5000)
            if not batches:
                break
            for records in batches.values():
                got.extend(r.value for r in records if r.value is not None)
        await consumer.commit()  # only after the "work" is done
    finally:
        await consumer.stop()
    return got


async def test_produce_consume_commit_and_no_redelivery(endpoints: Endpoints, unique_name) -> None:
    topic, group = unique_name("smoke"), unique_name("grp")
    await _create_topic(endpoints.kafka_bootstrap, topic)
    producer = AIOKafkaProducer(
        bootstrap_servers=endpoints.kafka_bootstrap, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        for i in range(10):
            meta = await producer.send_and_wait(topic, f"m{i}".encode(), key=f"k{i % 3}".encode())
            assert meta.offset >= 0
    finally:
        await producer.stop()

    first = await _consume(endpoints.kafka_bootstrap, topic, group, expect=10)
    assert sorted(first) == sorted(f"m{i}".encode() for i in range(10))

    # A restarted consumer in the same group gets nothing that was committed ...
    again = await _consume(endpoints.kafka_bootstrap, topic, group, expect=1)
    assert again == []

    # ... and only what arrived since.
    producer = AIOKafkaProducer(
        bootstrap_servers=endpoints.kafka_bootstrap, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"late", key=b"k0")
    finally:
        await producer.stop()
    assert await _consume(endpoints.kafka_bootstrap, topic, group, expect=1) == [b"late"]
