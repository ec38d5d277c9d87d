"""The harness's state readers: `eventually` answers what the probe found or names what never
came; `read_to_end` reads a real topic to its high-water mark."""

from __future__ import annotations

import itertools

import pytest
from aiokafka import AIOKafkaProducer

from tests.harness.endpoints import Endpoints
from tests.harness.state import eventually, eventually_sync, read_to_end

pytestmark = pytest.mark.integration


async def test_eventually_answers_the_first_truthy_probe_sync_or_async() -> None:
    counter = itertools.count()

    async def third() -> int | None:
        n = next(counter)
        return n if n >= 3 else None

    assert await eventually("the third probe", third) == 3
    assert await eventually("a sync probe", lambda: "found") == "found"
    assert eventually_sync("a sync probe", lambda: [1]) == [1]
    with pytest.raises(AssertionError, match="never"):
        await eventually("never", lambda: None, timeout=0.2)


async def test_read_to_end_reads_everything_published_so_far(
    endpoints: Endpoints, unique_name
) -> None:
    topic = unique_name("state") + ".probe.v1"
    assert await read_to_end(endpoints.kafka_bootstrap, topic) == []
    producer = AIOKafkaProducer(bootstrap_servers=endpoints.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for i in range(5):
            await producer.send_and_wait(topic, f"m{i}".encode())
    finally:
        await producer.stop()
    records = await read_to_end(endpoints.kafka_bootstrap, topic)
    assert sorted(r.value for r in records) == [f"m{i}".encode() for i in range(5)]
