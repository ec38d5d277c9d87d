"""Composition root: settings → logger → Kafka sender, spool, book, idempotency → app.

`run()` is the `sipuma-intake` console script. Uvicorn turns SIGTERM into a graceful stop: no new
connections, in-flight requests finish, then the lifespan below drains what it can from the spool
and closes Kafka clients and SQLite files.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import structlog
from fastapi import FastAPI

from sipuma.intake import metrics, outbound
from sipuma.intake.api import build_router, invalid_handler, refused_handler
from sipuma.intake.console import mount_console
from sipuma.intake.idempotency import IdempotencyStore
from sipuma.intake.middleware import BodyLimit
from sipuma.intake.models import ComplaintStatus
from sipuma.intake.problems import install_field_names
from sipuma.intake.publisher import KafkaSender
from sipuma.intake.service import Intake, Invalid, Refused
from sipuma.intake.settings import IntakeSettings
from sipuma.intake.spool import Relay, Spool
from sipuma.intake.waiters import BookFeeder, ComplaintBook
from sipuma.shared.auth import TokenVerifier, install_auth_handler
from sipuma.shared.logging import configure_logging
from sipuma.shared.offices import OfficeDirectory
from sipuma.shared.topic_admin import ensure_topics
from sipuma.shared.web import install_http_plumbing, serve

log = structlog.get_logger("sipuma.intake")


def topics_from(settings: IntakeSettings) -> outbound.Topics:
    return outbound.Topics(
        received=settings.topic_complaint_received,
        supplemented=settings.topic_complaint_supplemented,
        contact=settings.topic_contact_provided,
        communicated=settings.topic_register_number_communicated,
        registered=settings.topic_complaint_registered,
    )


def build_app(settings: IntakeSettings) -> FastAPI:
    topics = topics_from(settings)
    offices = OfficeDirectory.load(settings.offices_file)
    verifier = TokenVerifier.from_settings(settings)

    async def prepare_topics() -> None:
        await ensure_topics(
            settings.kafka_bootstrap,
            [
                topics.received,
                topics.supplemented,
                topics.contact,
                topics.communicated,
                topics.registered,
            ],
            partitions=settings.topic_partitions,
            replication_factor=settings.topic_replication_factor,
            retention_ms=settings.topic_retention_ms,
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        spool = Spool(settings.spool_file)
        store = IdempotencyStore(settings.idempotency_file, settings.idempotency_ttl_s)
        sender = KafkaSender(
            settings.kafka_bootstrap,
            client_id=f"sipuma-{settings.service}",
            send_timeout_s=settings.kafka_send_timeout_s,
            prepare_topics=prepare_topics,
        )
        book = ComplaintBook(settings.status_book_max_entries)
        feeder = BookFeeder(
            book,
            settings.kafka_bootstrap,
            received_topic=topics.received,
            registered_topic=topics.registered,
            decode_received=outbound.decode_received,
            decode_registered=outbound.decode_registered,
            lookback_s=settings.status_lookback_s,
            prepare_topics=prepare_topics,
        )
        await _remember_spooled(spool, book)
        await asyncio.gather(
            sender.start(settings.kafka_connect_wait_s),
            feeder.start(settings.kafka_connect_wait_s + 5),
        )
        metrics.SPOOL_PENDING.set_function(lambda: spool.pending)
        metrics.KAFKA_AVAILABLE.set_function(lambda: float(sender.available))
        metrics.BOOK_LIVE.set_function(lambda: float(feeder.ready.is_set()))
        relay = Relay(spool, sender)
        relay_task = asyncio.create_task(relay.run(), name="spool-relay")
        app.state.settings = settings
        app.state.spool = spool
        app.state.sender = sender
        app.state.feeder = feeder
        app.state.relay = relay
        app.state.idempotency = store
        app.state.intake = Intake(
            rule=settings.completeness_rule,
            register_wait_s=settings.register_wait_s,
            offices=offices,
            topics=topics,
            sender=sender,
            spool=spool,
            book=book,
            book_ready=feeder.ready.is_set,
            received_max_age=timedelta(days=settings.received_at_max_age_days),
        )
        log.info(
            "intake_started",
            kafka=sender.available,
            book=feeder.ready.is_set(),
            spooled=spool.pending,
            rule=settings.completeness_rule.value,
        )
        try:
            yield
        finally:
            relay_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay_task
            with contextlib.suppress(Exception):
                await asyncio.wait_for(relay.drain_once(), timeout=5)
            await feeder.stop()
            await sender.stop()
            spool.close()
            store.close()
            log.info("intake_stopped", spooled=spool.pending)

    app = FastAPI(
        title="SIPUMA Intake",
        summary="API Penerima Pengaduan · Complaint receivers' API",
        description=(
            "Pencatatan pengaduan yang diterima langsung (SOP DJBC langkah 2–8). "
            "Recording hand-delivered complaints (DJBC SOP steps 2–8)."
        ),
        version="0.1.0",
        lifespan=lifespan,
    )
    app.include_router(build_router(verifier))
    mount_console(app, settings)

    async def spool_answers() -> bool:
        # Ready while the spool takes complaints, even with Kafka down (store-and-forward).
        spool: Spool = app.state.spool
        return await spool.ping()

    # Intake's own body limit, innermost: it reads a chunked body up to the limit before the
    # route does, so an oversized JSON body is a 413 (not the 400 FastAPI makes of a failed read).
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    install_http_plumbing(app, {"spool": spool_answers}, max_body_bytes=None)
    app.add_exception_handler(Invalid, invalid_handler)
    app.add_exception_handler(Refused, refused_handler)
    install_auth_handler(app)
    install_field_names(app)
    return app


async def _remember_spooled(spool: Spool, book: ComplaintBook) -> None:
    """Complaints still in the spool after a restart are known here (status, office check)."""
    for item in await spool.oldest(spool.pending):
        record = item.record
        with contextlib.suppress(Exception):  # amendments are not ComplaintReceived: skipped
            seen = outbound.decode_received(record.headers, record.value)
            if seen is not None:
                book.note(seen.complaint_id, seen.office_code, ComplaintStatus.QUEUED)


def run() -> None:
    settings = IntakeSettings()
    configure_logging(settings.service, settings.log_level, settings.log_format)
    serve(build_app(settings), settings)
