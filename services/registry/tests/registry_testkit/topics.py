"""Reading Kafka state in tests: what a topic holds up to its high-water mark, and whether a
consumer group has committed everything published to its topics. Absence is proved by reading
to the end after the consumer is known to be done, never by waiting a while."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


async def _partitions(bootstrap: str, topics: Sequence[str]) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    return [
        TopicPartition(topic["topic"], part["partition"])
        for topic in described
        for part in sorted(topic["partitions"], key=lambda part: part["partition"])
    ]


async def read_to_end(bootstrap: str, topic: str) -> list[Any]:
    """Every record of `topic` up to the high-water mark it has now (no group, no commit)."""
    parts = await _partitions(bootstrap, [topic])
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        found: list[Any] = []
        for part in parts:
            while await consumer.position(part) < ends[part]:
                batch = await consumer.getmany(part, timeout_ms=1000)
                found += [r for r in batch.get(part, []) if r.offset < ends[part]]
        return found
    finally:
        await consumer.stop()


async def wait_consumed(
    bootstrap: str, group: str, topics: Sequence[str], timeout: float = 60
) -> None:
    """Until `group` has committed every partition of `topics` up to its high-water mark (the
    registry commits only after handling and publishing what a record caused)."""
    parts = await _partitions(bootstrap, topics)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await consumer.start()
    await admin.start()
    deadline = time.monotonic() + timeout
    try:
        while True:
            ends = await consumer.end_offsets(parts)
            committed = await admin.list_consumer_group_offsets(group)
            behind = [
                p for p in parts if ends[p] and getattr(committed.get(p), "offset", -1) < ends[p]
            ]
            if not behind:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{group} still behind on {behind}")
            await asyncio.sleep(0.2)  # polling the group's state, not waiting for it
    finally:
        await admin.close()
        await consumer.stop()
