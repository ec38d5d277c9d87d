"""What the benchmark phases share: percentiles, load average, a watcher for the register
numbers, and producing events to the stack's topics."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from sipuma.shared import events as ev
from sipuma.shared import samples
from sipuma.shared.cloudevents import to_headers
from sipuma.shared.payloads import TrackingContact
from tests.harness.endpoints import ROOT

DOCS = ROOT / "docs"
PARTITIONS = 2  # what the stack's services create their topics with


def complainant(i: int) -> dict[str, str]:
    """The `i`-th invented complainant: each bench complaint comes from a different person.
    With one sample identity for all, every complaint would be a possible duplicate of the 50
    before it, and the registry's hint lookup would dominate what is measured (a repeat filer's
    hint is tested in services/registry/tests, not benched)."""
    letters = "".join(chr(ord("a") + int(d)) for d in str(i))  # names take no digits
    return {
        "name": f"Pengadu {letters.capitalize()}",
        "address": f"Jl. Contoh No. {i % 997 + 1}, Ambon",
        "phone": f"+62812{i % 10**8:08d}",
        "email": f"pengadu-{i}@contoh.id",
    }


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def growth(points: list[dict[str, Any]], labels: tuple[str, ...]) -> dict[str, Any]:
    """The points measured per size and, per label, the last size's p50/p99 ÷ the first's."""
    first, last = points[0], points[-1]
    return {
        "points": points,
        "ratios": {
            label: {q: round(last[label][q] / first[label][q], 2) for q in ("p50_ms", "p99_ms")}
            for label in labels
        },
    }


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# ---------------------------------------------------------------- Kafka helpers


class Watcher:
    """Reads a topic from its current end and notes when each complaint id first appears."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap, self.topic = bootstrap, topic
        self.seen: dict[str, float] = {}
        self.payload: dict[str, dict[str, Any]] = {}
        self._task: asyncio.Task[None] | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Watcher]:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            parts = [
                TopicPartition(self.topic, p) for p in await partitions(self.bootstrap, self.topic)
            ]
            consumer.assign(parts)
            await consumer.seek_to_end(*parts)
            for tp in parts:
                await consumer.position(tp)  # pin "the end" before anything is produced
            self._task = asyncio.create_task(self._read(consumer))
            yield self
        finally:
            if self._task is not None:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            await consumer.stop()

    async def _read(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=100, max_records=2000)
            now = time.perf_counter()
            for records in batches.values():
                for record in records:
                    body = json.loads(record.value)
                    cid = str(body.get("complaint_id"))
                    self.seen.setdefault(cid, now)
                    self.payload.setdefault(cid, body)

    async def wait_for(
        self, ids: set[str], timeout_s: float, tick: Callable[[int], None] = lambda _: None
    ) -> float | None:
        """perf_counter time when the last of `ids` appeared, or None if the time ran out."""
        if not ids:  # nothing was accepted: nothing to wait for (the phase reports why)
            return None
        deadline = time.perf_counter() + timeout_s
        while time.perf_counter() < deadline:
            done = ids & self.seen.keys()
            tick(len(done))
            if len(done) == len(ids):
                return max(self.seen[i] for i in ids)
            await asyncio.sleep(0.1)
        return None


async def partitions(bootstrap: str, topic: str) -> list[int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(p["partition"] for p in described["partitions"])


def message(event: ev.Event) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    headers = [(k, v.encode()) for k, v in to_headers(event).items()]
    return str(event.complaint_id).encode(), event.model_dump_json().encode(), headers


async def produce(bootstrap: str, topic: str, events: list[ev.Event]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    try:
        futures = []
        for event in events:
            key, value, headers = message(event)
            futures.append(await producer.send(topic, value, key=key, headers=headers))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def received_events(count: int) -> list[ev.Event]:
    return [
        samples.example(
            ev.ComplaintReceived,
            event_id=uuid.uuid4(),
            complaint_id=uuid.uuid4(),
            correlation_id=uuid.uuid4().hex,
            occurred_at=datetime.now(UTC),
            received_at=datetime.now(UTC),
            complainant=complainant(i),
            tracking_contact=None,  # no ticket: (b) measures registration only
        )
        for i in range(count)
    ]


def ticket_events(count: int, label: str) -> list[ev.TicketIssued]:
    """`count` TicketIssued, e-mail only, each to its own address `<label>-<i>@example.com`."""
    return [
        samples.example(
            ev.TicketIssued,
            event_id=uuid.uuid4(),
            complaint_id=uuid.uuid4(),
            correlation_id=uuid.uuid4().hex,
            occurred_at=datetime.now(UTC),
            ticket_number="TKT-" + "-".join(secrets.token_hex(2).upper() for _ in range(3)),
            register_number=f"PGD-KPPBC-TMP-AMBON/2026/{i + 1:06d}",
            contact=TrackingContact(email=f"{label}-{i}@example.com", mobile=None),
        )
        for i in range(count)
    ]
