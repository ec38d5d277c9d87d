"""Helpers for the shared package's tests against the real Kafka."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord

from sipuma.shared.events import ALL_EVENTS
from sipuma.shared.topic_admin import ensure_topics
from sipuma.shared.topics import TopicSpec
from tests.harness.state import eventually


@pytest.fixture
def make_topic(
    endpoints: Any, unique_name: Callable[[str], str]
) -> Callable[..., Awaitable[TopicSpec]]:
    """A fresh restricted topic that accepts every event type (personal data allowed)."""

    async def make(partitions: int = 1) -> TopicSpec:
        spec = TopicSpec(f"sipuma.{unique_name('it')}.v1", restricted=True, event_types=ALL_EVENTS)
        await ensure_topics(endpoints.kafka_bootstrap, [spec], partitions=partitions)
        return spec

    return make


async def _read_all(
    bootstrap: str, topic: str, expect: int, timeout: float = 20.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Read a topic from the start without a group (nothing committed) until `expect` records."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    got: list[ConsumerRecord[bytes, bytes]] = []
    try:
        async with asyncio.timeout(timeout):
            while len(got) < expect:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    got.extend(records)
    except TimeoutError:
        pass
    finally:
        await consumer.stop()
    return got


async def _wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    await eventually("the condition", condition, timeout)


@pytest.fixture
def read_all() -> Callable[..., Awaitable[list[ConsumerRecord[bytes, bytes]]]]:
    return _read_all


@pytest.fixture
def wait_for() -> Callable[..., Awaitable[None]]:
    return _wait_for


@pytest.fixture
async def started() -> AsyncIterator[list[Any]]:
    """Brokers appended here are stopped after the test, even when it fails."""
    brokers: list[Any] = []
    yield brokers
    for broker in brokers:
        await broker.stop()
