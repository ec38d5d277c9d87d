"""Test helpers for the notifier: settings per test, the notifier as a subprocess (in process,
tests use `main.build`), TicketIssued producers and outcome readers on the real Kafka, and
throwaway SMS-gateway servers on free ports for outage tests (the shared ones stay untouched).
Everything waits by reading state (`tests.harness.state`)."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import uuid
from functools import partial
from pathlib import Path
from typing import Any, Literal, cast, overload

import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from sipuma.notifier.settings import NotifierSettings
from sipuma.shared import topics
from sipuma.shared.cloudevents import decode_message, to_headers
from sipuma.shared.events import Event, NotificationFailed, NotificationSent, TicketIssued
from sipuma.shared.payloads import TrackingContact
from tests.harness.endpoints import Endpoints
from tests.harness.ports import free_port
from tests.harness.state import consumed, eventually, eventually_sync, read_to_end

OFFICE = "KPUBC-TPK-TJPRIOK"
OFFICE_NAME = "KPU Bea dan Cukai Tipe A Tanjung Priok"
TRACKING_URL = "https://sipuma.beacukai.go.id/lacak"


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


async def records(bootstrap: str, topic: str, count: int) -> list[ConsumerRecord[bytes, bytes]]:
    """The records of `topic`, once it holds at least `count`."""

    async def enough() -> list[ConsumerRecord[bytes, bytes]] | None:
        found = await read_to_end(bootstrap, topic)
        return found if len(found) >= count else None

    return await eventually(f"{count} records on {topic}", enough)


async def all_consumed(settings: NotifierSettings) -> None:
    """Until the notifier's consumer group has committed every `TicketIssued` published so far:
    each one was handled (its deliveries recorded, or found recorded already)."""
    await consumed(settings.kafka_bootstrap, settings.group_id, [ticket_topic(settings)])


async def settled(deliveries: Any, count: int) -> bool:
    """`count` deliveries, each final with its outcome event taken by Kafka: nothing more can
    happen to them (no attempt, no publication)."""
    final: int = await deliveries.count_documents(
        {"state": {"$in": ["sent", "failed"]}, "outbox_pending": False}
    )
    total: int = await deliveries.count_documents({})
    return total == count and final == count


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
        found = await read_to_end(settings.kafka_bootstrap, topic)
    else:
        found = await records(settings.kafka_bootstrap, topic, count)
    events: list[Event] = []
    for record in found:
        headers = {k: v.decode() for k, v in record.headers}
        events.append(decode_message(headers, record.value)[1])
    # Each topic carries only its own event type (the notifier publishes nothing else there).
    return cast("list[NotificationSent] | list[NotificationFailed]", events)


async def settle(deliveries: Any, count: int) -> None:
    """Until `count` deliveries are final with their outcome events taken by Kafka."""
    await eventually(f"{count} deliveries final and published", partial(settled, deliveries, count))


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

    def wait_ready(self) -> None:
        def ready() -> bool:
            assert self.proc is not None and self.proc.poll() is None, self.log_path.read_text()
            return httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=1).status_code == 200

        eventually_sync("the notifier is ready", ready, retry_on=(httpx.HTTPError,))

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


async def inbox_messages(inbox: Any, recipient: str) -> list[Any]:
    """What reached `recipient` so far (the inbox client is synchronous: in a thread, so the
    notifier running in this loop goes on)."""
    return list(await asyncio.to_thread(inbox.messages_to, recipient))


async def inbox_wait(inbox: Any, recipient: str, count: int = 1) -> list[Any]:
    """The messages to `recipient`, once there are at least `count`."""

    async def arrived() -> list[Any] | None:
        found = await inbox_messages(inbox, recipient)
        return found if len(found) >= count else None

    # a slow answer from a loaded sink is "not yet", not a failure
    return await eventually(
        f"{count} message(s) to a test recipient", arrived, retry_on=(httpx.HTTPError,)
    )
