"""Test helpers for the notifier: settings per test, a running notifier (in process or as a
subprocess), TicketIssued producers and outcome readers on the real Kafka, and throwaway
SMTP / SMS-gateway servers on free ports for outage tests (the shared ones stay untouched)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal, cast, overload

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient

from sipuma.notifier.main import Components, build
from sipuma.notifier.settings import NotifierSettings
from sipuma.shared import topics
from sipuma.shared.cloudevents import decode_message, to_headers
from sipuma.shared.events import Event, NotificationFailed, NotificationSent, TicketIssued
from sipuma.shared.payloads import TrackingContact
from tests.harness.endpoints import ROOT, Endpoints

OFFICE = "KPUBC-TPK-TJPRIOK"
OFFICE_NAME = "KPU Bea dan Cukai Tipe A Tanjung Priok"
TRACKING_URL = "https://sipuma.beacukai.go.id/lacak"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def settings_for(endpoints: Endpoints, name: str, **overrides: Any) -> NotifierSettings:
    values: dict[str, Any] = {
        "kafka_bootstrap": endpoints.kafka_bootstrap,
        "mongo_uri": endpoints.mongo_uri,
        "mongo_database": name.replace("-", "_"),
        "consumer_group": name,
        "topic_prefix": f"{name}.",
        "topic_partitions": 2,
        "smtp_host": endpoints.smtp_host,
        "smtp_port": endpoints.smtp_port,
        "sms_gateway_url": f"{endpoints.sms_url}/sms",
        "tracking_url": TRACKING_URL,
        "retry_base_seconds": 0.2,
        "retry_max_seconds": 0.5,
        "retry_max_attempts": 6,
        "dispatch_interval_seconds": 0.2,
        "lease_seconds": 5.0,
        "smtp_timeout_seconds": 3.0,
        "sms_timeout_seconds": 3.0,
        "shutdown_grace_seconds": 5.0,
    }
    values.update(overrides)
    return NotifierSettings(**values)


def env_for(settings: NotifierSettings, http_port: int) -> dict[str, str]:
    """The same settings as SIPUMA_* variables, for a notifier run as a subprocess."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIPUMA_")}
    for key, value in settings.model_dump().items():
        if value is None:
            continue
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        env[f"SIPUMA_{key.upper()}"] = str(value)
    env["SIPUMA_HTTP_PORT"] = str(http_port)
    env["SIPUMA_LOG_FORMAT"] = "json"
    return env


def mobile() -> str:
    return "+62812" + "".join(secrets.choice("0123456789") for _ in range(8))


def address(tag: str = "pengadu") -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}@example.com"


def ticket(
    email: str | None = None, mobile_number: str | None = None, **changes: Any
) -> TicketIssued:
    values: dict[str, Any] = {
        "source": "registry",
        "correlation_id": uuid.uuid4().hex,
        "office_code": OFFICE,
        "complaint_id": uuid.uuid4(),
        "ticket_number": "-".join(secrets.token_hex(2).upper() for _ in range(4)),
        "register_number": f"PGD/{OFFICE}/2026/{secrets.randbelow(999999):06d}",
        "contact": TrackingContact(email=email, mobile=mobile_number),
    }
    values.update(changes)
    return TicketIssued(**values)


def ticket_topic(settings: NotifierSettings) -> str:
    return settings.topic(topics.TICKET_ISSUED.name)


async def publish_raw(
    bootstrap: str,
    topic: str,
    messages: list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]],
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for key, value, headers in messages:
            await producer.send_and_wait(topic, value, key=key, headers=headers)
    finally:
        await producer.stop()


def encoded(event: Event, **extra: Any) -> tuple[bytes | None, bytes, list[tuple[str, bytes]]]:
    """The CloudEvents binary-mode message of `event`; `extra` adds JSON fields."""
    body = json.loads(event.model_dump_json())
    body.update(extra)
    headers = [(k, v.encode()) for k, v in to_headers(event).items()]
    return str(event.complaint_id).encode(), json.dumps(body).encode(), headers


async def publish_tickets(settings: NotifierSettings, *events: TicketIssued, **extra: Any) -> None:
    await publish_raw(
        settings.kafka_bootstrap, ticket_topic(settings), [encoded(e, **extra) for e in events]
    )


async def read_topic(bootstrap: str, topic: str, count: int, timeout: float = 30.0) -> list[Any]:
    """Every record of `topic` from the start, polling until at least `count` were read (or the
    deadline, a generous bound on the wait, never a synchronisation)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while len(found) < count and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                found.extend(records)
    finally:
        await consumer.stop()
    return found


async def partitions_of(bootstrap: str, topic: str) -> list[TopicPartition]:
    """The partitions `topic` has (none when it does not exist)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return [TopicPartition(topic, p["partition"]) for d in described for p in d["partitions"]]


async def read_to_end(bootstrap: str, topic: str) -> list[Any]:
    """Every record of `topic` up to its high-water mark as of this call: exactly what was
    published before it, with nothing left to wait for (absence is read, not waited out)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    found: list[Any] = []
    try:
        partitions = await partitions_of(bootstrap, topic)
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            batch = await consumer.getmany(timeout_ms=500)
            for tp, records in batch.items():
                found.extend(r for r in records if r.offset < ends[tp])
    finally:
        await consumer.stop()
    return found


async def consumed_to_end(settings: NotifierSettings) -> bool:
    """The notifier's consumer group has committed every `TicketIssued` published so far: each
    one was handled (its deliveries recorded, or found recorded already)."""
    partitions = await partitions_of(settings.kafka_bootstrap, ticket_topic(settings))
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await consumer.start()
    await admin.start()
    try:
        ends = await consumer.end_offsets(partitions)
        committed = await admin.list_consumer_group_offsets(settings.group_id)
    finally:
        await consumer.stop()
        await admin.close()
    return all(
        end == 0 or (tp in committed and committed[tp].offset >= end) for tp, end in ends.items()
    )


async def settled(deliveries: Any, count: int) -> bool:
    """`count` deliveries, each final with its outcome event taken by Kafka: nothing more can
    happen to them (no attempt, no publication)."""
    final: int = await deliveries.count_documents(
        {"state": {"$in": ["sent", "failed"]}, "outbox_pending": False}
    )
    total: int = await deliveries.count_documents({})
    return total == count and final == count


async def remove_topics(bootstrap: str, prefix: str) -> None:
    """Delete the topics a test created (its prefix): the broker drops the test group's
    offsets with them."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        mine = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if mine:
            await admin.delete_topics(mine)
    finally:
        await admin.close()


@overload
async def outcomes(
    settings: NotifierSettings, kind: Literal["sent"], count: int | None = ...
) -> list[NotificationSent]: ...


@overload
async def outcomes(
    settings: NotifierSettings, kind: Literal["failed"], count: int | None = ...
) -> list[NotificationFailed]: ...


async def outcomes(
    settings: NotifierSettings, kind: Literal["sent", "failed"], count: int | None = None
) -> list[NotificationSent] | list[NotificationFailed]:
    """The outcomes on the NotificationSent (`kind="sent"`) or NotificationFailed topic: with
    `count`, polling until at least that many arrived; without, exactly those published so far
    (read to the high-water mark)."""
    spec = topics.NOTIFICATION_SENT if kind == "sent" else topics.NOTIFICATION_FAILED
    topic = settings.topic(spec.name)
    if count is None:
        records = await read_to_end(settings.kafka_bootstrap, topic)
    else:
        records = await read_topic(settings.kafka_bootstrap, topic, count)
    events: list[Event] = []
    for record in records:
        headers = {k: v.decode() for k, v in record.headers}
        events.append(decode_message(headers, record.value)[1])
    # Each topic carries only its own event type (the notifier publishes nothing else there).
    return cast("list[NotificationSent] | list[NotificationFailed]", events)


@asynccontextmanager
async def running(settings: NotifierSettings) -> AsyncIterator[Components]:
    parts = build(settings)
    await parts.start()
    try:
        yield parts
    finally:
        await parts.stop()


@asynccontextmanager
async def delivery_log(settings: NotifierSettings) -> AsyncIterator[Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo_uri, tz_aware=True)
    try:
        yield client[settings.mongo_database][settings.deliveries_collection]
    finally:
        with contextlib.suppress(Exception):
            await client.drop_database(settings.mongo_database)
        await client.close()


async def wait_until(predicate: Any, timeout: float = 20.0, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = await predicate()
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(interval)


@contextlib.contextmanager
def sms_sink(folder: Path) -> Iterator[str]:
    """Our own copy of deploy/local/smssink.py on a free port (failure injection is global to a
    sink, so outage tests never use the shared one)."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "deploy/local/smssink.py"),
            "--port",
            str(port),
            "--store",
            str(folder / f"sms-{port}.jsonl"),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/livez", timeout=0.5).status_code == 200:
                    break
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class NotifierProcess:
    """`sipuma-notifier` as a real process (the console script's entry point)."""

    def __init__(self, settings: NotifierSettings, log_path: Path) -> None:
        self.settings = settings
        self.port = free_port()
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from sipuma.notifier.main import run; run()"],
            env=env_for(self.settings, self.port),
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.poll() is None, self.log_path.read_text()
            with contextlib.suppress(httpx.HTTPError):
                answer = httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=1)
                if answer.status_code == 200:
                    return
            time.sleep(0.2)
        raise AssertionError("notifier not ready:\n" + self.log_path.read_text()[-4000:])

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()  # SIGKILL: no shutdown code runs
        self.proc.wait(timeout=10)

    def terminate(self, timeout: float = 30.0) -> bool:
        """SIGTERM; True when the process shut down gracefully. Uvicorn re-raises the signal
        after its graceful shutdown, so the exit status is -SIGTERM either way: the log tells."""
        assert self.proc is not None
        before = self.log_path.read_text().count('"notifier_stopped"')
        self.proc.terminate()
        code = self.proc.wait(timeout=timeout)
        stopped = self.log_path.read_text().count('"notifier_stopped"') > before
        return code in (0, -signal.SIGTERM) and stopped

    def ensure_stopped(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


async def inbox_wait(inbox: Any, recipient: str, count: int = 1, timeout: float = 20.0) -> Any:
    """The harness inboxes poll with time.sleep; in a thread, the notifier's loop keeps running."""
    return await asyncio.to_thread(inbox.wait_for, recipient, count, timeout)


async def inbox_messages(inbox: Any, recipient: str) -> list[Any]:
    return list(await asyncio.to_thread(inbox.messages_to, recipient))
