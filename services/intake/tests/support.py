"""Test helpers for intake: a registry double on the real Kafka, topic readers, a running app.

The double lives here, outside the service: it consumes `ComplaintReceived` from the real topic,
numbers complaints per office (de-duplicating by complaint id, as the real registry must) and
answers `ComplaintRegistered` on the real registered topic.

Tests synchronise by reading state: `wait_until` polls a condition, `read_topic` waits until the
expected records are there, and `read_all` reads a topic to its high-water marks, which proves an
absence (nothing published) without waiting for anything. No reader joins a consumer group.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from sipuma.intake.main import build_app
from sipuma.intake.settings import IntakeSettings
from sipuma.intake.waiters import partition_counts
from sipuma.shared import events as ev
from sipuma.shared.auth import mint_token
from sipuma.shared.cloudevents import decode_message, encode, to_headers

OFFICE = "KPUBC-TPK-TJPRIOK"
OTHER_OFFICE = "KPPBC-TMP-MAKASSAR"
SECRET = "test-secret-for-intake-0123456789abcdef"


def settings_for(bootstrap: str, state: Path, prefix: str, **overrides: Any) -> IntakeSettings:
    values: dict[str, Any] = {
        "kafka_bootstrap": bootstrap,
        "state_dir": state,
        "token_secret": SECRET,
        "topic_prefix": f"{prefix}.",
        "register_wait_s": 5.0,
    }
    values.update(overrides)
    return IntakeSettings(**values)


def token(
    office: str = OFFICE, roles: tuple[str, ...] = ("receiver",), officer: str = "198001"
) -> str:
    return mint_token(SECRET, officer, office, roles)


def auth(
    office: str = OFFICE, roles: tuple[str, ...] = ("receiver",), officer: str = "198001"
) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(office, roles, officer)}"}


def complaint(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": "in_person",
        "received_at": datetime.now(UTC).isoformat(),
        "complainant": {
            "name": "Ni Luh Putu Ayu",
            "address": "Jl. Sunset Road No. 8, Kuta, Badung",
            "phone": "0812 3456 7890",
            "email": "ayu@example.co.id",
        },
        "elements": {
            "what": "Petugas meminta uang tambahan untuk mempercepat pemeriksaan barang.",
            "who": [{"name": "Budi S.", "position": "Pemeriksa", "unit": "P2"}],
            "when": {"kind": "date", "date": "2026-11-20"},
            "where": "Ruang pemeriksaan fisik, Terminal 3",
            "how": "Disampaikan secara lisan saat pemeriksaan koper.",
        },
    }
    body.update(changes)
    return body


@asynccontextmanager
async def running_intake(settings: IntakeSettings) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


async def assigned_consumer(bootstrap: str, topic: str) -> AIOKafkaConsumer | None:
    """A started consumer on every partition of `topic`, at the beginning, *without a consumer
    group* (nothing joins or leaves a group on the shared broker); None if the topic is absent."""
    counts = await partition_counts(bootstrap, [topic])
    if topic not in counts:
        return None
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(counts[topic])]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
    except BaseException:
        await consumer.stop()
        raise
    return consumer


@dataclass
class RegistryDouble:
    bootstrap: str
    received_topic: str
    registered_topic: str
    numbers: dict[str, str] = field(default_factory=dict)
    deliveries: dict[str, int] = field(default_factory=dict)
    sequences: dict[str, int] = field(default_factory=dict)
    paused: asyncio.Event = field(default_factory=asyncio.Event)

    async def _run(self) -> None:
        consumer = None
        while consumer is None:  # intake creates the topic when it starts
            consumer = await assigned_consumer(self.bootstrap, self.received_topic)
            if consumer is None:
                await asyncio.sleep(0.1)
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=True
        )
        await producer.start()
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=200)
                for records in batches.values():
                    for record in records:
                        while self.paused.is_set():  # held back by the test, not a wait
                            await asyncio.sleep(0.05)
                        await self._register(producer, record.headers, record.value)
        finally:
            await consumer.stop()
            await producer.stop()

    async def _register(self, producer: AIOKafkaProducer, headers: Any, value: bytes) -> None:
        _, received = decode_message(
            {k: v.decode() for k, v in headers}, value, accept=[ev.ComplaintReceived]
        )
        cid, office = str(received.complaint_id), received.office_code
        self.deliveries[cid] = self.deliveries.get(cid, 0) + 1
        if cid not in self.numbers:
            self.sequences[office] = self.sequences.get(office, 0) + 1
            self.numbers[cid] = f"{office}/2026/{self.sequences[office]:06d}"
        event = ev.ComplaintRegistered(
            event_id=uuid.uuid5(uuid.NAMESPACE_URL, cid + "/registered"),
            source="registry",
            correlation_id=received.correlation_id,
            office_code=office,
            complaint_id=received.complaint_id,
            register_number=self.numbers[cid],
            sequence=int(self.numbers[cid].rsplit("/", 1)[1]),
            register_year=2026,
            registered_at=datetime.now(UTC),
        )
        await producer.send_and_wait(
            self.registered_topic,
            encode(event),
            key=cid.encode(),
            headers=[(k, v.encode()) for k, v in to_headers(event).items()],
        )

    @asynccontextmanager
    async def running(self) -> AsyncIterator[RegistryDouble]:
        task = asyncio.create_task(self._run())
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


PATIENCE_S = 120.0  # a deadline for reading state, never a pause: conditions end the wait early


async def wait_until(
    condition: Callable[[], Awaitable[bool]] | Callable[[], bool],
    what: str,
    deadline_s: float = PATIENCE_S,
) -> None:
    """Poll `condition` until it holds; fail naming `what` after a generous deadline."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline_s
    while True:
        held = condition()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return
        if loop.time() > end:
            raise AssertionError(f"still not true after {deadline_s:.0f} s: {what}")
        await asyncio.sleep(0.05)


async def read_topic(
    bootstrap: str, topic: str, expect: int, timeout_s: float = PATIENCE_S
) -> list[Any]:
    """Every record on `topic` from the start, once at least `expect` are there (waits for
    them; the deadline only stops a broken test)."""
    got: list[Any] = []

    async def enough() -> bool:
        got[:] = await read_all(bootstrap, topic)
        return len(got) >= expect

    await wait_until(enough, f"{expect} record(s) on {topic}", timeout_s)
    return got


async def read_all(bootstrap: str, topic: str) -> list[Any]:
    """Every record on `topic` up to its end *now* (the high-water marks): after a request was
    answered, whatever it published is below them, so an empty answer proves nothing was."""
    consumer = await assigned_consumer(bootstrap, topic)
    if consumer is None:
        return []
    got: list[Any] = []
    try:
        partitions = list(consumer.assignment())
        ends = await consumer.end_offsets(partitions)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + PATIENCE_S
        behind = [tp for tp in partitions if ends[tp] > 0]
        while behind:
            assert loop.time() < deadline, f"could not read {topic} to its end"
            batches = await consumer.getmany(*behind, timeout_ms=500)
            for records in batches.values():
                got.extend(records)
            behind = [tp for tp in behind if await consumer.position(tp) < ends[tp]]
    finally:
        await consumer.stop()
    return sorted(got, key=lambda r: (r.partition, r.offset))
