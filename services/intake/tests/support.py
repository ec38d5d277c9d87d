"""Test helpers for intake: settings, tokens, a complaint, a running app, a registry double.

The app is built with `sipuma.intake.main.build`, as `sipuma-intake` builds it. The double lives
here, outside the service: it consumes `ComplaintReceived` from the real topic, numbers
complaints per office (de-duplicating by complaint id, as the real registry must) and answers
`ComplaintRegistered` on the real registered topic. Neither it nor any reader joins a consumer
group. Tests synchronise by reading state with the harness (`tests/harness/state.py`).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from sipuma.intake.main import Runtime, build
from sipuma.intake.settings import IntakeSettings
from sipuma.shared import events as ev
from sipuma.shared import topics
from sipuma.shared.auth import mint_token
from sipuma.shared.cloudevents import decode_message, encode, to_headers
from sipuma.shared.tasks import bounded, cancel_and_wait
from tests.harness.state import eventually, partitions

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


class IntakeClient(httpx.AsyncClient):
    """An HTTP client of one running intake replica, with what `build` wired (`runtime`)."""

    def __init__(self, runtime: Runtime) -> None:
        transport = httpx.ASGITransport(app=runtime.app)
        super().__init__(transport=transport, base_url="http://intake")
        self.runtime = runtime


@asynccontextmanager
async def running_intake(settings: IntakeSettings) -> AsyncIterator[IntakeClient]:
    runtime = build(settings)
    async with runtime.app.router.lifespan_context(runtime.app), IntakeClient(runtime) as client:
        yield client


@dataclass
class RegistryDouble:
    bootstrap: str
    received_topic: str
    registered_topic: str
    numbers: dict[str, str] = field(default_factory=dict)
    deliveries: dict[str, int] = field(default_factory=dict)
    sequences: dict[str, int] = field(default_factory=dict)
    # The possible-duplicate hint sent after each number, as the registry does (empty unless a
    # test plants one by complaint id); its topic derives from the registered one.
    hints: dict[str, list[ev.DuplicateHint]] = field(default_factory=dict)
    hinted_topic: str = ""
    _answering: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self._answering.set()
        if not self.hinted_topic:
            self.hinted_topic = self.registered_topic.replace(
                topics.COMPLAINT_REGISTERED.name, topics.COMPLAINT_DUPLICATES_HINTED.name
            )

    def pause(self) -> None:
        """Hold back every answer until `resume` (a complaint that stays "received")."""
        self._answering.clear()

    def resume(self) -> None:
        self._answering.set()

    async def _run(self) -> None:
        # Intake creates the topic when it starts; assigned, not subscribed: no group.
        parts = await eventually(
            f"{self.received_topic} exists",
            lambda: partitions(self.bootstrap, [self.received_topic]),
        )
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None)
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=True
        )
        try:
            await consumer.start()
            await producer.start()
            consumer.assign(parts)
            await consumer.seek_to_beginning(*parts)
            while True:
                batches = await consumer.getmany(timeout_ms=200)
                for records in batches.values():
                    for record in records:
                        await self._answering.wait()
                        await self._register(producer, record.headers, record.value)
        finally:  # also when cancelled while starting: nothing left unclosed
            await bounded(consumer.stop(), timeout_s=5)
            await bounded(producer.stop(), timeout_s=5)

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
        hinted = ev.ComplaintDuplicatesHinted(
            event_id=uuid.uuid5(uuid.NAMESPACE_URL, cid + "/hinted"),
            source="registry",
            correlation_id=received.correlation_id,
            office_code=office,
            complaint_id=received.complaint_id,
            duplicates=self.hints.get(cid, self.hints.get("*", [])),
        )
        await producer.send_and_wait(
            self.hinted_topic,
            encode(hinted),
            key=cid.encode(),
            headers=[(k, v.encode()) for k, v in to_headers(hinted).items()],
        )

    @asynccontextmanager
    async def running(self) -> AsyncIterator[RegistryDouble]:
        task = asyncio.create_task(self._run())
        try:
            yield self
        finally:
            await cancel_and_wait(task)
