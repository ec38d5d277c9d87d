"""Composition root: `build(settings)` wires the notifier from its settings; `run()` is the
`sipuma-notifier` console script.

The Kafka consumer and the retry dispatcher run inside the lifespan of a small FastAPI app that
serves `/healthz`, `/readyz` (Kafka + store) and `/metrics` on `SIPUMA_HTTP_PORT` (8004).
Uvicorn turns SIGTERM into a graceful stop: the consumer finishes the batch in hand (its
deliveries recorded, the offsets committed) and leaves the group, the attempts in flight record
their outcome (queued ones that had not started stay pending in the log, for the next start),
then the SMTP connections and the clients close.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import structlog
from fastapi import FastAPI
from faststream.kafka import KafkaBroker
from pydantic import SecretStr
from pymongo import AsyncMongoClient

from sipuma.notifier import handlers
from sipuma.notifier.dispatcher import Dispatcher
from sipuma.notifier.domain import EMAIL, SMS
from sipuma.notifier.ports import SmsGateway
from sipuma.notifier.ratelimit import SendRateLimiter
from sipuma.notifier.retry import Backoff
from sipuma.notifier.senders import JsonSmsGateway, SmtpEmailSender, ZenzivaSmsGateway
from sipuma.notifier.service import Notifier, Policy
from sipuma.notifier.settings import NotifierSettings
from sipuma.notifier.staff_alerts import StaffAlerts, StaffDirectory
from sipuma.notifier.store import MongoDeliveryLog, MongoStaffAlertLog
from sipuma.shared import heap, topics
from sipuma.shared.cloudevents import publish_event
from sipuma.shared.events import Event
from sipuma.shared.health import kafka_check
from sipuma.shared.identity_vault import IdentityVault
from sipuma.shared.kafka import build_broker
from sipuma.shared.lifespan import ensure_service_topics
from sipuma.shared.logging import configure_logging
from sipuma.shared.offices import OfficeDirectory
from sipuma.shared.tracing import configure_tracing
from sipuma.shared.web import NATIVE_TELEMETRY_OFF, install_http_plumbing, serve

log = structlog.get_logger("sipuma.notifier")
CONSUMED_AND_PRODUCED = (
    topics.TICKET_ISSUED,
    topics.NOTIFICATION_SENT,
    topics.NOTIFICATION_FAILED,
    *handlers.STAFF_ALERT_TOPICS,
    topics.COMPLAINT_IDENTITY_ERASED,
)


@dataclass
class Runtime:
    """One notifier, wired: what `run()`, the tests and a benchmark need. Nothing connects
    before `start()` (the app's lifespan calls it)."""

    settings: NotifierSettings
    app: FastAPI
    broker: KafkaBroker
    notifier: Notifier
    dispatcher: Dispatcher
    deliveries: MongoDeliveryLog
    mongo: AsyncMongoClient[dict[str, Any]]
    http: httpx.AsyncClient
    email: SmtpEmailSender
    staff_alerts: StaffAlerts
    staff_alert_log: MongoStaffAlertLog
    _tasks: list[asyncio.Task[None]] = dataclasses.field(default_factory=list)
    _stop: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)

    async def start(self) -> None:
        s = self.settings
        groups = (s.consumer_group, s.staff_consumer_group, s.erasure_consumer_group)
        await ensure_service_topics(
            s,
            [s.topic(spec) for spec in CONSUMED_AND_PRODUCED],
            groups,
        )
        await self.deliveries.ensure_indexes()
        await self.staff_alert_log.ensure_indexes()
        await self.broker.start()
        self._stop.clear()
        self._tasks = [asyncio.create_task(self.staff_alerts.run(self._stop))]
        self.dispatcher.start()
        log.info("notifier_started", sms_provider=s.sms_provider, unknown=s.unknown_outcome())

    async def stop(self) -> None:
        """Also for a runtime that was never started: then it only closes its clients."""
        await self.broker.stop()  # waits for the batch in hand, commits, leaves the group
        await self.dispatcher.stop(self.settings.shutdown_grace_seconds)  # in-flight attempts
        self._stop.set()
        await asyncio.gather(*self._tasks)
        self._tasks = []
        await self.email.aclose()
        await self.http.aclose()
        await self.deliveries.close()
        await self.mongo.close()
        log.info("notifier_stopped")

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Runtime]:
        await self.start()
        try:
            yield self
        finally:
            await self.stop()


def build(settings: NotifierSettings) -> Runtime:
    """Wire the real adapters; nothing connects before `Runtime.start()`."""
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo_uri, tz_aware=True)
    keys = settings.identity_keys()
    # The contact and ticket of an open delivery are sealed under a per-complaint data key in
    # the notifier's own key vault (docs/identity.md): erasure deletes that key.
    vault = IdentityVault(mongo, settings.mongo_database, keys) if keys is not None else None
    deliveries = MongoDeliveryLog(
        mongo, settings.mongo_database, settings.deliveries_collection, vault=vault
    )
    http = httpx.AsyncClient(timeout=settings.sms_timeout_seconds)
    email = smtp_sender(settings)
    broker = build_broker(settings)
    offices = OfficeDirectory.load(settings.offices_file)

    async def publish(event: Event) -> None:
        await publish_event(broker, event, topic=settings.topic(topics.topic_for(event)))

    notifier = Notifier(
        deliveries,
        email,
        sms_gateway(settings, http),
        publish,
        Policy(
            backoff=Backoff(
                settings.retry_base_seconds, settings.retry_max_seconds, settings.retry_max_attempts
            ),
            lease=timedelta(seconds=settings.lease_seconds),
            unknown_outcome=settings.unknown_outcome(),
            tracking_url=settings.tracking_url,
        ),
        limits={
            EMAIL: SendRateLimiter(settings.email_rate_per_second),
            SMS: SendRateLimiter(settings.sms_rate_per_second),
        },
        offices=offices,
    )
    dispatcher = Dispatcher(
        notifier,
        interval=settings.dispatch_interval_seconds,
        batch=settings.dispatch_batch,
        concurrency=settings.dispatch_concurrency,
        queue_size=settings.dispatch_queue,
    )
    handlers.register(broker, notifier, dispatcher, settings)
    staff_alert_log = MongoStaffAlertLog(
        mongo, settings.mongo_database, settings.staff_alerts_collection
    )
    staff_alerts = StaffAlerts(
        staff_alert_log,
        email,
        StaffDirectory.load(settings.staff_contacts_file),
        offices,
        lease=timedelta(seconds=settings.lease_seconds),
        interval=settings.dispatch_interval_seconds,
    )
    handlers.register_staff_alerts(broker, staff_alerts, settings)
    handlers.register_erasures(broker, deliveries, settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with runtime.running():
            yield

    app = FastAPI(
        title="SIPUMA Notifier",
        summary="Pengiriman nomor tiket · Ticket number delivery (operations endpoints only)",
        lifespan=lifespan,
        telemetry=NATIVE_TELEMETRY_OFF,
    )
    install_http_plumbing(app, {"kafka": kafka_check(broker), "mongo": deliveries.ping})
    runtime = Runtime(
        settings,
        app,
        broker,
        notifier,
        dispatcher,
        deliveries,
        mongo,
        http,
        email,
        staff_alerts,
        staff_alert_log,
    )
    return runtime


def smtp_sender(settings: NotifierSettings) -> SmtpEmailSender:
    return SmtpEmailSender(
        settings.smtp_host,
        settings.smtp_port,
        sender=settings.smtp_from,
        sender_name=settings.sender_name,
        starttls=settings.smtp_starttls,
        implicit_tls=settings.smtp_implicit_tls,
        username=settings.smtp_username,
        password=_secret(settings.smtp_password),
        timeout_seconds=settings.smtp_timeout_seconds,
        connections=settings.smtp_connections,
        max_messages_per_connection=settings.smtp_messages_per_connection,
        idle_seconds=settings.smtp_idle_seconds,
    )


def sms_gateway(settings: NotifierSettings, client: httpx.AsyncClient) -> SmsGateway:
    if settings.sms_provider == "zenziva":
        return ZenzivaSmsGateway(
            settings.sms_gateway_url,
            client,
            user_key=settings.sms_user_key or "",
            pass_key=_secret(settings.sms_api_key) or "",
        )
    return JsonSmsGateway(settings.sms_gateway_url, client, api_key=_secret(settings.sms_api_key))


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def run() -> None:
    settings = NotifierSettings()
    configure_logging(settings.service, settings.log_level, settings.log_format)
    configure_tracing(settings)
    app = build(settings).app
    heap.settle()  # the imports and the wiring are alive for good: no collection walks them
    serve(app, settings)
