"""Composition root: settings → logger → Mongo, HTTP client, senders, broker → notifier → app.

`run()` is the `sipuma-notifier` console script: the Kafka consumer and the retry dispatcher run
inside the lifespan of a small FastAPI app that serves `/healthz`, `/readyz` and `/metrics` on
`SIPUMA_HTTP_PORT` (8004). Uvicorn turns SIGTERM into a graceful stop: the consumer finishes the
batch in hand (its deliveries recorded, the offsets committed) and leaves the group, the attempts
in flight record their outcome (queued ones that had not started stay pending in the log, for the
next start), then the SMTP connections and the clients close.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import structlog
from fastapi import FastAPI
from faststream.kafka import KafkaBroker
from pymongo import AsyncMongoClient

from sipuma.notifier import handlers
from sipuma.notifier.dispatcher import Dispatcher
from sipuma.notifier.ratelimit import RateLimiter
from sipuma.notifier.retry import Backoff
from sipuma.notifier.senders import (
    JsonSmsGateway,
    SmsGateway,
    SmtpEmailSender,
    ZenzivaSmsGateway,
)
from sipuma.notifier.service import EMAIL, SMS, Notifier, Policy
from sipuma.notifier.settings import NotifierSettings
from sipuma.notifier.store import DeliveryLog
from sipuma.shared import topics
from sipuma.shared.cloudevents import publish_event
from sipuma.shared.events import Event
from sipuma.shared.health import health_router, kafka_check
from sipuma.shared.kafka import build_broker
from sipuma.shared.logging import configure_logging
from sipuma.shared.offices import OfficeDirectory
from sipuma.shared.topic_admin import ensure_topics
from sipuma.shared.web import serve

log = structlog.get_logger("sipuma.notifier")


def secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


def build_sms_gateway(settings: NotifierSettings, client: httpx.AsyncClient) -> SmsGateway:
    if settings.sms_provider == "zenziva":
        return ZenzivaSmsGateway(
            settings.sms_gateway_url,
            client,
            user_key=settings.sms_user_key or "",
            pass_key=secret(settings.sms_api_key) or "",
        )
    return JsonSmsGateway(settings.sms_gateway_url, client, api_key=secret(settings.sms_api_key))


@dataclass
class Components:
    settings: NotifierSettings
    mongo: AsyncMongoClient[dict[str, Any]]
    http: httpx.AsyncClient
    broker: KafkaBroker
    deliveries: DeliveryLog
    notifier: Notifier
    dispatcher: Dispatcher
    email: SmtpEmailSender

    async def start(self) -> None:
        s = self.settings
        names = [
            s.topic(spec.name)
            for spec in (topics.TICKET_ISSUED, topics.NOTIFICATION_SENT, topics.NOTIFICATION_FAILED)
        ]
        names.append(s.topic(topics.dead_letter_topic(s.consumer_group)))
        await ensure_topics(
            s.kafka_bootstrap,
            names,
            partitions=s.topic_partitions,
            replication_factor=s.topic_replication_factor,
            retention_ms=s.topic_retention_ms,
        )
        await self.deliveries.ensure_indexes()
        await self.broker.start()
        self.dispatcher.start()
        log.info("notifier_started", sms_provider=s.sms_provider, unknown=s.unknown_outcome())

    async def stop(self) -> None:
        await self.broker.stop()  # waits for the message in hand, commits, leaves the group
        await self.dispatcher.stop(self.settings.shutdown_grace_seconds)  # in-flight attempts
        await self.email.aclose()
        await self.http.aclose()
        await self.mongo.close()
        log.info("notifier_stopped")


def build(settings: NotifierSettings, logger: Any | None = None) -> Components:
    """Wire real adapters; nothing connects until `start()`."""
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo_uri, tz_aware=True)
    deliveries = DeliveryLog(mongo, settings.mongo_database, settings.deliveries_collection)
    http = httpx.AsyncClient(timeout=settings.sms_timeout_seconds)
    email = SmtpEmailSender(
        settings.smtp_host,
        settings.smtp_port,
        sender=settings.smtp_from,
        sender_name=settings.sender_name,
        starttls=settings.smtp_starttls,
        implicit_tls=settings.smtp_implicit_tls,
        username=settings.smtp_username,
        password=secret(settings.smtp_password),
        timeout_seconds=settings.smtp_timeout_seconds,
        connections=settings.smtp_connections,
        max_messages_per_connection=settings.smtp_messages_per_connection,
        idle_seconds=settings.smtp_idle_seconds,
    )
    broker = build_broker(settings, logger)

    async def publish(event: Event) -> None:
        await publish_event(broker, event, topic=settings.topic(topics.topic_for(event).name))

    policy = Policy(
        backoff=Backoff(
            settings.retry_base_seconds, settings.retry_max_seconds, settings.retry_max_attempts
        ),
        lease=timedelta(seconds=settings.lease_seconds),
        unknown_outcome=settings.unknown_outcome(),
        tracking_url=settings.tracking_url,
        default_language=settings.default_language,
    )
    notifier = Notifier(
        deliveries,
        email,
        build_sms_gateway(settings, http),
        publish,
        policy,
        limits={
            EMAIL: RateLimiter(settings.email_rate_per_second),
            SMS: RateLimiter(settings.sms_rate_per_second),
        },
        offices=OfficeDirectory.load(settings.offices_file),
    )
    dispatcher = Dispatcher(
        notifier,
        interval=settings.dispatch_interval_seconds,
        batch=settings.dispatch_batch,
        concurrency=settings.dispatch_concurrency,
        queue_size=settings.dispatch_queue,
    )
    handlers.register(broker, notifier, dispatcher, settings)
    return Components(settings, mongo, http, broker, deliveries, notifier, dispatcher, email)


def build_app(settings: NotifierSettings, logger: Any | None = None) -> FastAPI:
    parts = build(settings, logger)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await parts.start()
        try:
            yield
        finally:
            await parts.stop()

    app = FastAPI(
        title="SIPUMA Notifier",
        summary="Pengiriman nomor tiket · Ticket number delivery (operations endpoints only)",
        lifespan=lifespan,
    )
    app.state.parts = parts
    app.include_router(
        health_router({"kafka": kafka_check(parts.broker), "mongo": parts.deliveries.ping})
    )
    return app


def run() -> None:
    settings = NotifierSettings()
    logger = configure_logging(settings.service, settings.log_level, settings.log_format)
    serve(build_app(settings, logger), settings)
