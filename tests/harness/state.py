"""Tests synchronise by reading state, never by sleeping a while.

- `eventually` / `eventually_sync`: poll a probe until it answers something truthy (a condition
  that holds, or the value it found) and fail naming what was awaited after a generous deadline.
  The pause between probes is only the polling interval; the deadline is never a measurement.
- `read_to_end`: every record of a topic up to the high-water mark it has now. Absence ("nothing
  more was published") is proved by reading to the end after the producer is known to be done.
- `consumed`: until a consumer group has committed every partition of its topics up to their
  high-water marks (our consumers commit only after the work is done), i.e. "it is done".
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar, overload

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord

T = TypeVar("T")
PATIENCE_S = 60.0  # generous: a loaded 2-core machine; a healthy run answers in a fraction
INTERVAL_S = 0.1


@overload
async def eventually(
    what: str,
    probe: Callable[[], Awaitable[T | None]],
    timeout: float = ...,
    *,
    interval: float = ...,
    retry_on: tuple[type[BaseException], ...] = ...,
) -> T: ...


@overload
async def eventually(
    what: str,
    probe: Callable[[], T | None],
    timeout: float = ...,
    *,
    interval: float = ...,
    retry_on: tuple[type[BaseException], ...] = ...,
) -> T: ...


async def eventually(
    what: str,
    probe: Callable[[], Any],
    timeout: float = PATIENCE_S,
    *,
    interval: float = INTERVAL_S,
    retry_on: tuple[type[BaseException], ...] = (),
) -> Any:
    """Poll `probe` (sync or async) until it answers something truthy and answer that; errors
    in `retry_on` (e.g. a service restarting) count as "not yet"."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = probe()
            if inspect.isawaitable(last):
                last = await last
        except retry_on as exc:
            last = exc
        else:
            if last:
                return last
        if time.monotonic() > deadline:
            raise AssertionError(f"still not so after {timeout:.0f} s: {what}; last: {last!r}")
        await asyncio.sleep(interval)


def eventually_sync(
    what: str,
    probe: Callable[[], T | None],
    timeout: float = PATIENCE_S,
    *,
    interval: float = INTERVAL_S,
    retry_on: tuple[type[BaseException], ...] = (),
) -> T:
    """`eventually` for tests without an event loop."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = probe()
        except retry_on as exc:
            last = exc
        else:
            if last:
                return last  # type: ignore[no-any-return]
        if time.monotonic() > deadline:
            raise AssertionError(f"still not so after {timeout:.0f} s: {what}; last: {last!r}")
        time.sleep(interval)


async def partitions(bootstrap: str, topics: Sequence[str]) -> list[TopicPartition]:
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


async def read_to_end(bootstrap: str, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of `topic` up to the high-water mark it has now (no group, no commit); an
    unknown topic holds nothing."""
    parts = await partitions(bootstrap, [topic])
    if not parts:
        return []
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        found: list[ConsumerRecord[bytes, bytes]] = []
        for part in parts:
            while await consumer.position(part) < ends[part]:
                batch = await consumer.getmany(part, timeout_ms=1000)
                found += [r for r in batch.get(part, []) if r.offset < ends[part]]
        return found
    finally:
        await consumer.stop()


async def consumed(
    bootstrap: str, group: str, topics: Sequence[str], timeout: float = PATIENCE_S
) -> None:
    """Until `group` has committed every partition of `topics` up to its high-water mark."""
    parts = await partitions(bootstrap, topics)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await consumer.start()
    await admin.start()
    try:

        async def caught_up() -> bool:
            ends = await consumer.end_offsets(parts)
            committed = await admin.list_consumer_group_offsets(group)
            return all(
                not ends[p] or getattr(committed.get(p), "offset", -1) >= ends[p] for p in parts
            )

        await eventually(f"{group} committed everything on {list(topics)}", caught_up, timeout)
    finally:
        await admin.close()
        await consumer.stop()
