"""Composition root: `build(settings)` wires the MongoDB store, MinIO storage, Kafka broker,
use cases and HTTP app into a `Runtime` (used by `run()`, the tests and the benchmark alike);
`run()` is the `sipuma-evidence` console script.

On SIGTERM uvicorn stops accepting, lets in-flight uploads finish (`shutdown_grace_seconds`),
then the lifespan stops the outbox relay, stops the broker (commits offsets and leaves the
consumer group) and closes the clients. The service starts with Kafka, MongoDB or MinIO down and
reports it on /readyz; uploads then answer 503 (MinIO, MongoDB) or are stored with their event
kept in the outbox (Kafka).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import structlog
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from faststream.kafka import KafkaBroker
from starlette.requests import ClientDisconnect

from sipuma.evidence.api import build_audit_router, build_router
from sipuma.evidence.domain import EvidenceError
from sipuma.evidence.handlers import CONSUMED, subscribe_complaint_events, subscribe_erasures
from sipuma.evidence.outbox import relay_forever
from sipuma.evidence.problems import disconnect_handler, evidence_error_handler, validation_handler
from sipuma.evidence.publisher import KafkaEvidencePublisher, keep_connecting
from sipuma.evidence.service import EvidenceService
from sipuma.evidence.settings import EvidenceSettings
from sipuma.evidence.storage import EvidenceStorage
from sipuma.evidence.store import EvidenceStore
from sipuma.shared import idempotency, topics
from sipuma.shared.auth import TokenVerifier, install_auth_handler
from sipuma.shared.kafka import build_broker
from sipuma.shared.logging import configure_logging
from sipuma.shared.registry_lookup import RegistryLookup
from sipuma.shared.tasks import bounded, cancel_and_wait
from sipuma.shared.tracing import configure_tracing
from sipuma.shared.web import NATIVE_TELEMETRY_OFF, install_cors, install_http_plumbing, serve

log = structlog.get_logger("sipuma.evidence")


@dataclass(frozen=True)
class Runtime:
    """One wired evidence service. Its clients connect when `app`'s lifespan starts."""

    settings: EvidenceSettings
    app: FastAPI
    service: EvidenceService
    store: EvidenceStore
    storage: EvidenceStorage
    broker: KafkaBroker
    publisher: KafkaEvidencePublisher


def build(settings: EvidenceSettings) -> Runtime:
    store = EvidenceStore(
        settings.mongo_uri,
        settings.mongo_database,
        answers_ttl_s=settings.idempotency_ttl_s,
        answers_lease_s=settings.idempotency_lease_s,
    )
    storage = EvidenceStorage(settings)
    broker = build_broker(settings, logger=log)
    publisher = KafkaEvidencePublisher(
        broker, settings.topic_evidence_stored, settings.topic(topics.AUDIT_IDENTITY_READ)
    )
    service = EvidenceService(
        storage,
        store,
        publisher,
        settings.limits(),
        complaint_wait_s=settings.complaint_wait_s,
    )
    subscribe_complaint_events(broker, service, settings)
    subscribe_erasures(broker, service, settings)
    registry = RegistryLookup(settings.registry_url, settings.registry_timeout_s)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        prepare = asyncio.create_task(
            store.prepare_until_ready(
                settings.consumer_retry_initial_seconds, settings.consumer_retry_max_seconds
            ),
            name="store-prepare",
        )
        await asyncio.wait({prepare}, timeout=10)  # not cancelled: it goes on if the store is down
        with contextlib.suppress(Exception):
            await storage.ensure_bucket()  # else on the first upload
        names = [
            settings.topic_evidence_stored,
            settings.topic(topics.AUDIT_IDENTITY_READ),
            settings.topic(topics.COMPLAINT_IDENTITY_ERASED),
            *(settings.topic(spec) for spec in CONSUMED),
        ]
        connect = asyncio.create_task(
            keep_connecting(broker, publisher, settings, names), name="kafka-connect"
        )
        relay = asyncio.create_task(
            relay_forever(service, publisher, settings.outbox_interval_s), name="outbox"
        )
        log.info(
            "evidence_started",
            bucket=settings.bucket,
            lock=bool(storage.state and storage.state.object_lock),
        )
        try:
            yield
        finally:
            await cancel_and_wait((prepare, connect, relay))
            await bounded(broker.stop(), timeout_s=settings.shutdown_grace_seconds)
            await store.close()
            await registry.close()
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
        telemetry=NATIVE_TELEMETRY_OFF,
    )
    install_auth_handler(app)
    verifier = TokenVerifier.from_settings(settings)
    app.include_router(build_router(verifier, service, registry, store.answers))
    app.include_router(build_audit_router(verifier, service))
    app.add_exception_handler(EvidenceError, evidence_error_handler)
    app.add_exception_handler(ClientDisconnect, disconnect_handler)

    async def database_up() -> bool:  # answers, and the indexes exist (writes wait for them)
        return store.ready and await store.ping()

    # Ready = MinIO and MongoDB answer. Kafka is not a condition: with Kafka down uploads are
    # still kept whole and their events wait in the outbox (kafka state: the broker's metrics).
    install_http_plumbing(
        app, {"storage": storage.ping, "database": database_up}, max_body_bytes=None
    )
    # After the shared handlers: evidence names its own fields in its own words.
    app.add_exception_handler(RequestValidationError, validation_handler)
    install_cors(
        app,
        settings.cors_origins,
        allow_headers=("X-File-Name", idempotency.HEADER),
        expose_headers=("Location", idempotency.REPLAYED),
    )
    return Runtime(settings, app, service, store, storage, broker, publisher)


def run() -> None:
    settings = EvidenceSettings()
    configure_logging(settings.service, settings.log_level, settings.log_format)
    configure_tracing(settings)
    serve(build(settings).app, settings)
