"""Integration helpers: settings on unique names, the service (`build()`, as `run()` wires it) on
a real port, complaint events published on the real Kafka, the evidence topic decoded, a door
in front of Kafka, and `sipuma-evidence` as a real process. Waiting is the harness's
(`tests.harness.state`): tests read state, never sleep."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from minio import Minio
from minio.deleteobjects import DeleteObject
from pymongo import AsyncMongoClient

from sipuma.evidence.domain import KnownComplaint
from sipuma.evidence.main import Runtime, build
from sipuma.evidence.settings import EvidenceSettings
from sipuma.shared.auth import mint_token
from sipuma.shared.cloudevents import encode, to_headers
from sipuma.shared.events import ComplaintRegistered
from tests.harness.endpoints import Endpoints
from tests.harness.ports import free_port
from tests.harness.state import eventually, read_to_end

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
        "topic_prefix": f"{name}.",  # and so the consumer group too (`group_id`)
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


@dataclass
class Running:
    runtime: Runtime
    base_url: str
    port: int

    @property
    def settings(self) -> EvidenceSettings:
        return self.runtime.settings

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, timeout=60, **kwargs)

    async def knows(self, complaint_id: uuid.UUID) -> KnownComplaint:
        """Once its complaint event has been consumed: the complaint as the service knows it."""
        store = self.runtime.store
        return await eventually(
            f"complaint {complaint_id} known", lambda: store.complaint(str(complaint_id))
        )


@asynccontextmanager
async def running_service(
    settings: EvidenceSettings, *, wait_kafka: bool = True
) -> AsyncIterator[Running]:
    """The service as `run()` builds it, on a real port (uvicorn in this event loop), so bodies
    really stream; removes everything it made when it ends."""
    runtime = build(settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(runtime.app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    try:
        await eventually("the service is serving", lambda: server.started or task.done())
        assert server.started, "service did not start"
        if wait_kafka:
            await eventually("the service reached Kafka", lambda: runtime.publisher.connected)
        yield Running(runtime, f"http://127.0.0.1:{port}", port)
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, timeout=30)
        await remove_everything(settings)


async def remove_everything(settings: EvidenceSettings) -> None:
    """What a test made: its database, bucket (every object version, past their retention:
    test buckets retain in governance mode, which the owner may bypass) and topics."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo_uri)
    try:
        with contextlib.suppress(Exception):
            await client.drop_database(settings.mongo_database)
    finally:
        await client.close()
    with contextlib.suppress(Exception):
        await asyncio.to_thread(_remove_bucket, settings)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    with contextlib.suppress(Exception):
        await admin.start()
        try:
            # The dead-letter topic too: it carries the prefix like every other topic.
            mine = [t for t in await admin.list_topics() if t.startswith(settings.topic_prefix)]
            if mine:
                await admin.delete_topics(mine)
        finally:
            await admin.close()


def _remove_bucket(settings: EvidenceSettings) -> None:
    minio = Minio(
        settings.s3_endpoint,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key.get_secret_value(),
        secure=settings.s3_secure,
    )
    if not minio.bucket_exists(settings.bucket):
        return
    versions = [
        DeleteObject(o.object_name, o.version_id)
        for o in minio.list_objects(settings.bucket, recursive=True, include_version=True)
        if o.object_name
    ]
    for _ in minio.remove_objects(settings.bucket, versions, bypass_governance_mode=True):
        pass  # errors are yielded one by one; the bucket removal below reports what is left
    for upload in minio._list_multipart_uploads(settings.bucket).uploads:
        if upload.upload_id:
            minio._abort_multipart_upload(settings.bucket, upload.object_name, upload.upload_id)
    minio.remove_bucket(settings.bucket)


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


async def read_topic(bootstrap: str, topic: str) -> list[tuple[dict[str, Any], dict[str, str]]]:
    """The events on `topic` up to its high-water mark (`read_to_end`), decoded."""
    return [
        (json.loads(r.value), {k: v.decode() for k, v in r.headers})
        for r in await read_to_end(bootstrap, topic)
        if r.value is not None
    ]


class KafkaGate:
    """A door in front of the real Kafka on a port of its own: closed (nothing listens there,
    as when Kafka is down) until `open()`. Only the bootstrap passes through it; the clients
    then reach the broker at the address it advertises."""

    def __init__(self, upstream: str) -> None:
        host, _, port = upstream.rpartition(":")
        self._upstream = (host, int(port))
        self.bootstrap = f"127.0.0.1:{free_port()}"
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def open(self) -> None:
        port = int(self.bootstrap.rpartition(":")[2])
        self._server = await asyncio.start_server(self._pass, "127.0.0.1", port)

    async def close(self) -> None:
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _pass(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        kafka_in, kafka_out = await asyncio.open_connection(*self._upstream)
        self._writers += [client_out, kafka_out]

        async def copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            finally:
                sink.close()

        await asyncio.gather(
            copy(client_in, kafka_out), copy(kafka_in, client_out), return_exceptions=True
        )


class EvidenceProcess:
    """`sipuma-evidence` as a real process (its console script), JSON logs into `log_path`."""

    def __init__(self, endpoints: Endpoints, settings: EvidenceSettings, log_path: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = {
            **os.environ,
            **endpoints.as_env(),
            "SIPUMA_HTTP_PORT": str(self.port),
            "SIPUMA_TOKEN_SECRET": SECRET,
            "SIPUMA_BUCKET": settings.bucket,
            "SIPUMA_OBJECT_LOCK": str(settings.object_lock).lower(),
            "SIPUMA_MONGO_DATABASE": settings.mongo_database,
            "SIPUMA_TOPIC_PREFIX": settings.topic_prefix,
            "SIPUMA_TOPIC_PARTITIONS": "1",
            "SIPUMA_LOG_FORMAT": "json",
            "SIPUMA_LOG_LEVEL": "DEBUG",
        }
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        exe = Path(sys.executable).with_name("sipuma-evidence")
        with self.log_path.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                str(exe), env=self.env, stdout=log, stderr=asyncio.subprocess.STDOUT
            )
        proc = self.proc
        async with httpx.AsyncClient(base_url=self.base_url, timeout=5) as client:

            async def ready() -> bool:
                assert proc.returncode is None, self.log_path.read_text()[-4000:]
                return (await client.get("/readyz")).status_code == 200

            await eventually("sipuma-evidence ready", ready, retry_on=(httpx.HTTPError,))

    async def refusing(self) -> bool:
        """Does the server refuse new connections (it stops accepting at SIGTERM)?"""
        try:
            async with httpx.AsyncClient(base_url=self.base_url, timeout=2) as fresh:
                await fresh.get("/healthz")
        except httpx.TransportError:
            return True
        return False

    async def stop(self) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.terminate()
        try:
            return await asyncio.wait_for(self.proc.wait(), timeout=60)
        except TimeoutError:
            self.proc.kill()
            return await self.proc.wait()
