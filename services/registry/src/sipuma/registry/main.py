"""Composition root: settings → store, broker, relay, use cases → FastAPI app + Kafka consumer in
one process. `run()` is the `sipuma-registry` console script.

Start: topics, indexes (before any data), recovery (registrations a crash left part-way,
complaints waiting for an office that is configured now), outbox relay, consumer. SIGTERM (uvicorn):
stop taking requests, let the in-flight message finish and commit, leave the group, stop the relay.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

import structlog
from fastapi import FastAPI
from faststream.kafka import KafkaBroker

from sipuma.registry import handlers
from sipuma.registry.api import staff_router
from sipuma.registry.outbox import OutboxRelay
from sipuma.registry.service import Config, Registry, Topics
from sipuma.registry.settings import RegistrySettings
from sipuma.registry.store import Store
from sipuma.registry.tracking import TrackingRateLimiter, tracking_router
from sipuma.shared import topics
from sipuma.shared.auth import TokenVerifier, install_auth_handler
from sipuma.shared.cloudevents import encode, to_headers
from sipuma.shared.events import Event
from sipuma.shared.health import ReadinessCheck, kafka_check
from sipuma.shared.kafka import build_broker
from sipuma.shared.logging import configure_logging
from sipuma.shared.metrics import EVENTS_PUBLISHED
from sipuma.shared.offices import OfficeDirectory
from sipuma.shared.topic_admin import ensure_topics
from sipuma.shared.topics import check_publishable
from sipuma.shared.web import install_cors, install_http_plumbing, serve

PRODUCED = (topics.COMPLAINT_REGISTERED, topics.TICKET_ISSUED, topics.COMPLAINT_STATUS_CHANGED)

log = structlog.get_logger(__name__)


@dataclass
class Runtime:
    settings: RegistrySettings
    store: Store
    broker: KafkaBroker
    relay: OutboxRelay
    registry: Registry


def build(settings: RegistrySettings) -> Runtime:
    store = Store.connect(settings.mongo_uri, settings.mongo_database)
    broker = build_broker(settings)

    async def publish(event: Event, topic: str) -> None:
        # The shared contract check on the declared name; the prefix only isolates environments.
        check_publishable(event, topic)
        await broker.publish(
            encode(event),
            settings.topic(topic),
            key=str(event.complaint_id).encode(),
            headers=to_headers(event),
            correlation_id=event.correlation_id,
        )
        EVENTS_PUBLISHED.labels(topic=topic, event_type=event.event_type).inc()

    relay = OutboxRelay(store, publish, interval=settings.outbox_interval_seconds)
    config = Config(
        number_format=settings.register_number_format,
        ticket_key=settings.ticket_hash_key.get_secret_value().encode(),
        topics=Topics(*(spec.name for spec in PRODUCED)),
    )
    registry = Registry(store, OfficeDirectory.load(settings.offices_file), config, relay)
    handlers.register(broker, registry, settings)
    return Runtime(settings, store, broker, relay, registry)


def create_app(settings: RegistrySettings) -> FastAPI:
    runtime = build(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        names = [*handlers.CONSUMED, *PRODUCED]
        await ensure_topics(
            settings.kafka_bootstrap,
            [settings.topic(s.name) for s in names]
            + [settings.topic(topics.dead_letter_topic(settings.consumer_group))],
            partitions=settings.topic_partitions,
            replication_factor=settings.topic_replication_factor,
            retention_ms=settings.topic_retention_ms,
        )
        await runtime.store.ensure_indexes()
        if settings.recover_on_start:
            numbered = await runtime.registry.recover()
            if numbered:
                log.info("recovered_on_start", numbered=numbered)
        stop = asyncio.Event()
        relay_task = asyncio.create_task(runtime.relay.run(stop))
        await runtime.broker.start()
        try:
            yield
        finally:
            await runtime.broker.stop()  # waits for the in-flight handler, commits, leaves
            stop.set()
            runtime.relay.kick()
            with contextlib.suppress(asyncio.CancelledError):
                await relay_task
            await runtime.store.close()

    return http_app(
        runtime.registry,
        settings,
        lifespan=lifespan,
        checks={"kafka": kafka_check(runtime.broker), "store": runtime.store.ping},
    )


def http_app(
    registry: Registry,
    settings: RegistrySettings,
    *,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
    checks: Mapping[str, ReadinessCheck] | None = None,
) -> FastAPI:
    """The HTTP side alone (tests drive it in-process with the same wiring)."""
    app = FastAPI(
        title="SIPUMA Registry",
        description="Basis data pengaduan, nomor register, tiket dan pelacakan. / Complaint "
        "database, register numbers, tickets and tracking.",
        version="1.0.0",
        lifespan=lifespan,
    )
    install_auth_handler(app)
    verifier = TokenVerifier.from_settings(settings)
    app.include_router(staff_router(registry, verifier))
    app.include_router(
        tracking_router(
            registry.store,
            settings.ticket_hash_key.get_secret_value().encode(),
            TrackingRateLimiter(settings.track_requests_per_minute, settings.track_max_clients),
            settings.track_min_seconds,
        )
    )
    # Staff operations need a token; the public tracking does not.
    install_http_plumbing(
        app,
        checks or {"store": registry.store.ping},
        max_body_bytes=64 * 1024,
        public_paths=("/v1/track",),
    )
    install_cors(app, settings.cors_origins)
    return app


def run() -> None:
    settings = RegistrySettings()
    configure_logging(settings.service, settings.log_level, settings.log_format)
    serve(create_app(settings), settings)
