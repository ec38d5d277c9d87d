"""Integration helpers: settings on unique names, the service on a real port, complaint events
published on the real Kafka, and a reader for the evidence topic."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import uvicorn
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from fastapi import FastAPI

from sipuma.evidence.main import build_app
from sipuma.evidence.settings import EvidenceSettings
from sipuma.shared.auth import mint_token
from sipuma.shared.cloudevents import encode, to_headers
from sipuma.shared.events import ComplaintRegistered
from tests.harness.endpoints import Endpoints

OFFICE = "KPUBC-TPK-TJPRIOK"
OTHER_OFFICE = "KPPBC-TMP-MAKASSAR"
SECRET = "test-secret-for-evidence-0123456789abcdef"
MiB = 1024 * 1024


def settings_for(endpoints: Endpoints, name: str, **overrides: Any) -> EvidenceSettings:
    values: dict[str, Any] = {
        "token_secret": SECRET,
        "kafka_bootstrap": endpoints.kafka_bootstrap,
        "mongo_uri": endpoints.mongo_uri,
        "mongo_database": name.replace("-", "_"),
        "s3_endpoint": endpoints.s3_endpoint,
        "s3_access_key": endpoints.s3_access_key,
        "s3_secret_key": endpoints.s3_secret_key,
        "bucket": name,
        "retention_days": 1,
        "part_size_bytes": 5 * MiB,
        "topic_prefix": f"{name}.",
        "consumer_group": f"{name}-evidence",
        "complaint_wait_s": 1.0,
        "outbox_interval_s": 1.0,
        "topic_partitions": 1,
    }
    values.update(overrides)
    return EvidenceSettings(**values)


def auth(
    office: str = OFFICE, roles: tuple[str, ...] = ("receiver",), officer: str = "198001"
) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(SECRET, officer, office, roles)}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Running:
    app: FastAPI
    base_url: str
    port: int
    settings: EvidenceSettings

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, timeout=60, **kwargs)


@asynccontextmanager
async def running_service(
    settings: EvidenceSettings, *, wait_kafka: bool = True
) -> AsyncIterator[Running]:
    """The real app on a real port (uvicorn in this event loop), so bodies really stream."""
    app = build_app(settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(300):
            if server.started:
                break
            await asyncio.sleep(0.05)
        assert server.started, "service did not start"
        if wait_kafka:
            for _ in range(600):
                if app.state.publisher.connected:
                    break
                await asyncio.sleep(0.05)
            assert app.state.publisher.connected, "kafka not connected"
        yield Running(app, f"http://127.0.0.1:{port}", port, settings)
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, timeout=30)


async def publish_registered(
    bootstrap: str, topic: str, office: str = OFFICE, complaint_id: uuid.UUID | None = None
) -> uuid.UUID:
    """A `ComplaintRegistered` event, as the registry publishes it, on the real Kafka."""
    complaint_id = complaint_id or uuid.uuid4()
    now = datetime.now(UTC)
    event = ComplaintRegistered(
        source="registry",
        correlation_id=uuid.uuid4().hex,
        office_code=office,
        complaint_id=complaint_id,
        register_number=f"REG-{complaint_id.hex[:6]}/2026",
        sequence=1,
        register_year=2026,
        registered_at=now,
    )
    await send_raw(bootstrap, topic, encode(event), to_headers(event), str(complaint_id).encode())
    return complaint_id


async def send_raw(
    bootstrap: str, topic: str, value: bytes, headers: dict[str, str], key: bytes
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(
            topic, value, key=key, headers=[(k, v.encode()) for k, v in headers.items()]
        )
    finally:
        await producer.stop()


async def wait_known(running: Running, complaint_id: uuid.UUID, timeout: float = 30.0) -> None:
    store = running.app.state.store
    deadline = asyncio.get_running_loop().time() + timeout
    while await store.complaint(str(complaint_id)) is None:
        assert asyncio.get_running_loop().time() < deadline, "complaint event not consumed"
        await asyncio.sleep(0.1)


async def read_topic(
    bootstrap: str, topic: str, *, settle_s: float = 3.0
) -> list[tuple[dict[str, Any], dict[str, str]]]:
    """Everything on `topic` (no consumer group), reading until nothing new for `settle_s`."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    found: list[tuple[dict[str, Any], dict[str, str]]] = []
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=int(settle_s * 1000))
            if not batch:
                return found
            for records in batch.values():
                for r in records:
                    headers = {k: v.decode() for k, v in r.headers}
                    found.append((json.loads(r.value), headers))
    finally:
        await consumer.stop()


async def read_raw(bootstrap: str, topic: str, *, settle_s: float = 3.0) -> list[Any]:
    """Raw records on `topic` (no consumer group)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    found: list[Any] = []
    try:
        while batch := await consumer.getmany(timeout_ms=int(settle_s * 1000)):
            for records in batch.values():
                found.extend(records)
        return found
    finally:
        await consumer.stop()
