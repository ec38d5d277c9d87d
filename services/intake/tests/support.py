"""Test helpers for intake: a registry double on the real Kafka, topic readers, a running app.

The double lives here, outside the service: it consumes `ComplaintReceived` from the real topic,
numbers complaints per office (de-duplicating by complaint id, as the real registry must) and
answers `ComplaintRegistered` on the real registered topic.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from sipuma.intake.main import build_app
from sipuma.intake.settings import IntakeSettings
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


@dataclass
class RegistryDouble:
    bootstrap: str
    received_topic: str
    registered_topic: str
    delay_s: float = 0.0
    numbers: dict[str, str] = field(default_factory=dict)
    deliveries: dict[str, int] = field(default_factory=dict)
    sequences: dict[str, int] = field(default_factory=dict)
    paused: asyncio.Event = field(default_factory=asyncio.Event)

    async def _run(self) -> None:
        consumer = AIOKafkaConsumer(
            self.received_topic,
            bootstrap_servers=self.bootstrap,
            group_id=f"registry-double-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=True
        )
        await consumer.start()
        await producer.start()
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=200)
                for records in batches.values():
                    for record in records:
                        while self.paused.is_set():
                            await asyncio.sleep(0.05)
                        if self.delay_s:
                            await asyncio.sleep(self.delay_s)
                        await self._register(producer, record.headers, record.value)
                await consumer.commit()
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


async def read_topic(bootstrap: str, topic: str, expect: int, timeout_s: float = 15.0) -> list[Any]:
    """Every record on `topic` from the start, until `expect` arrived or the time is up."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    got: list[Any] = []
    deadline = asyncio.get_running_loop().time() + timeout_s
    try:
        while len(got) < expect and asyncio.get_running_loop().time() < deadline:
            batches = await consumer.getmany(timeout_ms=300)
            for records in batches.values():
                got.extend(records)
    finally:
        await consumer.stop()
    return got
