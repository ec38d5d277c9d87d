"""Composition root: `build(settings)` wires the spool, the Kafka sender, the status book, the
idempotency store and the use cases into the FastAPI app, for `run()` (the `sipuma-intake`
console script) and the tests alike.

Start (lifespan): complaints still spooled are noted in the book, the sender and the book's
reader connect (each waits briefly, then keeps trying in the background: intake serves with Kafka
down), the relay starts. Uvicorn turns SIGTERM into a graceful stop: no new connections,
in-flight requests finish, then the lifespan drains what it can from the spool and closes the
Kafka clients and the SQLite files.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

import structlog
from fastapi import FastAPI

from sipuma.intake import metrics
from sipuma.intake.api import build_router
from sipuma.intake.console import mount_console
from sipuma.intake.idempotency import SqliteIdempotencyStore
from sipuma.intake.problems import install_domain_problems
from sipuma.intake.publisher import KafkaSender, StoreAndForward
from sipuma.intake.service import Intake
from sipuma.intake.settings import IntakeSettings
from sipuma.intake.spool import Relay, Spool
from sipuma.intake.status_book import BookFeeder, ComplaintBook
from sipuma.shared import events as ev
from sipuma.shared import heap
from sipuma.shared.auth import TokenVerifier, install_auth_handler
from sipuma.shared.lifespan import ensure_service_topics
from sipuma.shared.logging import configure_logging
from sipuma.shared.offices import OfficeDirectory
from sipuma.shared.registry_lookup import RegistryLookup
from sipuma.shared.tasks import bounded, cancel_and_wait
from sipuma.shared.tracing import configure_tracing
from sipuma.shared.web import NATIVE_TELEMETRY_OFF, install_http_plumbing, serve

log = structlog.get_logger("sipuma.intake")
# How long each Kafka client may take to stop when the intake shuts down.
STOP_WAIT_S = 10.0


@dataclass(frozen=True)
class Runtime:
    """One intake replica, built but not started: `app`'s lifespan starts and stops the rest.
    Single use: the lifespan closes the spool and the idempotency store when it ends. The
    parts besides `app` are there to be read (tests, diagnosis), never to be re-wired."""

    app: FastAPI
    intake: Intake
    book: ComplaintBook
    sender: KafkaSender
    spool: Spool


def published_topics(settings: IntakeSettings) -> dict[type[ev.Event], str]:
    return {
        ev.ComplaintReceived: settings.topic_complaint_received,
        ev.ComplaintSupplemented: settings.topic_complaint_supplemented,
        ev.TrackingContactProvided: settings.topic_contact_provided,
        ev.RegisterNumberCommunicated: settings.topic_register_number_communicated,
    }


def build(settings: IntakeSettings) -> Runtime:
    offices = OfficeDirectory.load(settings.offices_file)
    published = published_topics(settings)

    async def prepare_topics() -> None:
        await ensure_service_topics(
            settings,
            [
                *published.values(),
                settings.topic_complaint_registered,
                settings.topic_duplicates_hinted,
            ],
        )

    spool = Spool(settings.spool_file)
    answers = SqliteIdempotencyStore(settings.idempotency_file, settings.idempotency_ttl_s)
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
        received_topic=settings.topic_complaint_received,
        registered_topic=settings.topic_complaint_registered,
        hinted_topic=settings.topic_duplicates_hinted,
        lookback_s=settings.status_lookback_s,
        prepare_topics=prepare_topics,
    )
    relay = Relay(spool, sender)
    intake = Intake(
        rule=settings.completeness_rule,
        register_wait_s=settings.register_wait_s,
        offices=offices,
        publisher=StoreAndForward(published, sender, spool),
        book=book,
        received_max_age=timedelta(days=settings.received_at_max_age_days),
    )

    registry = RegistryLookup(settings.registry_url, settings.registry_timeout_s)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        book.recall(item.record for item in await spool.oldest(spool.pending))
        await asyncio.gather(
            sender.start(settings.kafka_connect_wait_s),
            feeder.start(settings.kafka_connect_wait_s + 5),
        )
        metrics.SPOOL_PENDING.set_function(lambda: spool.pending)
        metrics.KAFKA_AVAILABLE.set_function(lambda: float(sender.available))
        metrics.BOOK_LIVE.set_function(lambda: float(book.is_live()))
        relay_task = asyncio.create_task(relay.run(), name="spool-relay")
        log.info(
            "intake_started",
            kafka=sender.available,
            book=book.is_live(),
            spooled=spool.pending,
            rule=settings.completeness_rule.value,
        )
        try:
            yield
        finally:
            await cancel_and_wait(relay_task)
            await bounded(relay.drain_once(), timeout_s=5)
            # A Kafka client that cannot finish its goodbye (a group leave or metadata request
            # without an answer) must not hold the stop forever: what is unsent stays spooled.
            await bounded(feeder.stop(), timeout_s=STOP_WAIT_S)
            await bounded(sender.stop(), timeout_s=STOP_WAIT_S)
            spool.close()
            answers.close()
            await registry.close()
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
        telemetry=NATIVE_TELEMETRY_OFF,
    )
    app.include_router(
        build_router(TokenVerifier.from_settings(settings), intake, answers, registry)
    )
    mount_console(app, settings, offices=offices)

    async def spool_answers() -> bool:
        # Ready while the spool takes complaints, even with Kafka down (store-and-forward).
        return await spool.ping()

    install_http_plumbing(app, {"spool": spool_answers}, max_body_bytes=settings.max_body_bytes)
    install_domain_problems(app)
    install_auth_handler(app)
    return Runtime(app, intake, book, sender, spool)


def run() -> None:
    settings = IntakeSettings()
    configure_logging(settings.service, settings.log_level, settings.log_format)
    configure_tracing(settings)
    app = build(settings).app
    heap.settle()  # the imports and the wiring are alive for good: no collection walks them
    serve(app, settings)
