"""Composition root: settings → logging → MongoDB store, MinIO storage, Kafka broker → app.

`run()` is the `sipuma-evidence` console script. On SIGTERM uvicorn stops accepting, lets
in-flight uploads finish (`shutdown_grace_seconds`), then the lifespan stops the outbox relay,
stops the broker (commits offsets and leaves the consumer group) and closes the clients.
The service starts with Kafka, MongoDB or MinIO down and reports it on /readyz; uploads then
answer 503 (MinIO, MongoDB) or are stored with their event kept in the outbox (Kafka).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from faststream.kafka import KafkaBroker
from starlette.requests import ClientDisconnect

from sipuma.evidence.api import build_router
from sipuma.evidence.handlers import KafkaEvidencePublisher, register_complaint_view
from sipuma.evidence.problems import disconnect_handler, validation_handler
from sipuma.evidence.service import EvidenceService
from sipuma.evidence.settings import EvidenceSettings
from sipuma.evidence.storage import EvidenceStorage
from sipuma.evidence.store import EvidenceStore
from sipuma.shared.auth import TokenVerifier, install_auth_handler
from sipuma.shared.kafka import build_broker
from sipuma.shared.lifespan import ensure_service_topics
from sipuma.shared.logging import configure_logging
from sipuma.shared.web import install_cors, install_http_plumbing, serve

log = structlog.get_logger("sipuma.evidence")


async def _keep_connecting(
    broker: KafkaBroker, publisher: KafkaEvidencePublisher, settings: EvidenceSettings
) -> None:
    """Start the broker once Kafka answers (the service serves uploads meanwhile: the outbox
    keeps their events)."""
    topics = [
        settings.topic_evidence_stored,
        settings.topic_complaint_received,
        settings.topic_complaint_registered,
    ]
    delay = settings.consumer_retry_initial_seconds
    while True:
        try:
            if settings.create_topics:
                await asyncio.wait_for(
                    ensure_service_topics(settings, topics, [settings.group_id]), timeout=15
                )
            await asyncio.wait_for(broker.start(), timeout=30)
        except Exception as exc:
            log.warning("kafka_unreachable", error=type(exc).__name__)
            with contextlib.suppress(Exception):
                await broker.stop()
            await asyncio.sleep(delay)
            delay = min(delay * 2, settings.consumer_retry_max_seconds)
            continue
        publisher.connected = True
        log.info("kafka_connected")
        return


async def _prepare_store(store: EvidenceStore, settings: EvidenceSettings) -> None:
    """Create the indexes at start; while the store is down, keep trying (every write waits
    for them anyway, see `EvidenceStore.prepare`)."""
    delay = settings.consumer_retry_initial_seconds
    while not store.ready:
        try:
            await asyncio.wait_for(store.prepare(), timeout=10)
        except Exception as exc:
            log.warning("database_unreachable", error=type(exc).__name__)
            await asyncio.sleep(delay)
            delay = min(delay * 2, settings.consumer_retry_max_seconds)


async def _relay(
    service: EvidenceService, publisher: KafkaEvidencePublisher, every_s: float
) -> None:
    while True:
        await asyncio.sleep(every_s)
        if not publisher.connected:
            continue
        try:
            sent = await service.relay_once(older_than_s=every_s)
            if sent:
                log.info("outbox_relayed", count=sent)
        except Exception as exc:
            log.warning("outbox_relay_failed", error=type(exc).__name__)


def build_app(settings: EvidenceSettings) -> FastAPI:
    verifier = TokenVerifier.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = EvidenceStore(settings.mongo_uri, settings.mongo_database)
        storage = EvidenceStorage(settings)
        broker = build_broker(settings, logger=log)
        publisher = KafkaEvidencePublisher(broker, settings.topic_evidence_stored)
        register_complaint_view(
            broker,
            store,
            received_topic=settings.topic_complaint_received,
            registered_topic=settings.topic_complaint_registered,
            group_id=settings.group_id,
            retry_initial_seconds=settings.consumer_retry_initial_seconds,
            retry_max_seconds=settings.consumer_retry_max_seconds,
        )
        service = EvidenceService(
            storage,
            store,
            publisher,
            settings.limits(),
            complaint_wait_s=settings.complaint_wait_s,
            block_bytes=settings.block_bytes,
        )
        prepare = asyncio.create_task(_prepare_store(store, settings), name="store-prepare")
        await asyncio.wait({prepare}, timeout=10)  # not cancelled: it goes on if the store is down
        with contextlib.suppress(Exception):
            await storage.ensure_bucket()
        connect = asyncio.create_task(
            _keep_connecting(broker, publisher, settings), name="kafka-connect"
        )
        relay = asyncio.create_task(
            _relay(service, publisher, settings.outbox_interval_s), name="outbox"
        )
        app.state.service, app.state.store, app.state.storage = service, store, storage
        app.state.publisher, app.state.broker = publisher, broker
        log.info(
            "evidence_started",
            bucket=settings.bucket,
            lock=bool(storage.state and storage.state.object_lock),
        )
        try:
            yield
        finally:
            for task in (prepare, connect, relay):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            with contextlib.suppress(Exception):
                await asyncio.wait_for(broker.stop(), timeout=settings.shutdown_grace_seconds)
            await store.close()
            log.info("evidence_stopped")

    app = FastAPI(
        title="SIPUMA Evidence",
        summary="Data pendukung pengaduan · Complaint evidence",
        description=(
            "Unggahan data pendukung (SOP DJBC langkah 5): pindaian, salinan lunak, foto, "
            "suara, video. "
            "Evidence uploads (DJBC SOP step 5): scans, soft copies, photos, sound, video."
        ),
        version="0.1.0",
        lifespan=lifespan,
    )
    install_auth_handler(app)
    app.include_router(build_router(verifier))
    app.add_exception_handler(ClientDisconnect, disconnect_handler)

    async def storage_up() -> bool:
        return await app.state.storage.ping()  # type: ignore[no-any-return]

    async def database_up() -> bool:  # answers, and the indexes exist (writes wait for them)
        store: EvidenceStore = app.state.store
        return store.ready and await store.ping()

    # Ready = MinIO and MongoDB answer. Kafka is not a condition: with Kafka down uploads are
    # still kept whole and their events wait in the outbox (kafka state: the broker's metrics).
    install_http_plumbing(
        app, {"storage": storage_up, "database": database_up}, max_body_bytes=None
    )
    # After the shared handlers: evidence names its own fields in its own words.
    app.add_exception_handler(RequestValidationError, validation_handler)
    install_cors(
        app, settings.cors_origins, allow_headers=("X-File-Name",), expose_headers=("Location",)
    )
    return app


def run() -> None:
    settings = EvidenceSettings()
    configure_logging(settings.service, settings.log_level, settings.log_format)
    serve(build_app(settings), settings)
