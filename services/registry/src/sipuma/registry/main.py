"""The composition root: settings → store, broker, publisher, relay, use cases → one FastAPI app
that also runs the Kafka consumer. `build()` is used by `cli.run()` (the `sipuma-registry` console
script) and by the tests; nothing is created at import. This is the `all` role
(SIPUMA_REGISTRY_ROLE, README "Roles"); the `reports` role, the staff read side alone, is
`read_side.build_reports()`.

Start (the app's lifespan): topics, indexes (before any data), recovery (complaints waiting for an
office that is configured now), outbox relay, consumer. SIGTERM (uvicorn): stop taking requests,
let the in-flight messages finish and commit, leave the group, stop the relay, close the store.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from fastapi import FastAPI
from faststream.kafka import KafkaBroker

from sipuma.registry import handlers
from sipuma.registry.api import reports_router, staff_router
from sipuma.registry.audit import AuditTrail
from sipuma.registry.categories import Categories
from sipuma.registry.deadlines import DeadlinePolicy
from sipuma.registry.outbox import OutboxRelay
from sipuma.registry.ports import Publish
from sipuma.registry.problems import install_domain_problems
from sipuma.registry.publisher import kafka_publisher
from sipuma.registry.queries import Queries
from sipuma.registry.rate_limit import TrackingRateLimiter
from sipuma.registry.reminders import DeadlineWatch
from sipuma.registry.service import Config, Registry, Topics
from sipuma.registry.settings import RegistrySettings
from sipuma.registry.store import Store
from sipuma.registry.tracking_api import tracking_router
from sipuma.registry.workdays import WorkCalendar, load_collective_leave
from sipuma.shared import topics
from sipuma.shared.auth import TokenVerifier, install_auth_handler
from sipuma.shared.health import kafka_check
from sipuma.shared.kafka import build_broker
from sipuma.shared.lifespan import ensure_service_topics
from sipuma.shared.offices import OfficeDirectory
from sipuma.shared.web import NATIVE_TELEMETRY_OFF, install_cors, install_http_plumbing

PRODUCED = (
    topics.COMPLAINT_REGISTERED,
    topics.TICKET_ISSUED,
    topics.COMPLAINT_STATUS_CHANGED,
    topics.COMPLAINT_IDENTITY_ERASED,
    topics.AUDIT_IDENTITY_READ,
    topics.COMPLAINT_DUPLICATES_HINTED,
    topics.COMPLAINT_CATEGORISED,  # Topics' field order
)
ALERTS = (topics.DEADLINE_APPROACHING, topics.COMPLAINT_OVERDUE)

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Runtime:
    """What `run()`, the tests and the benchmark need of a built registry."""

    settings: RegistrySettings
    app: FastAPI  # HTTP; its lifespan starts and stops everything below
    broker: KafkaBroker
    store: Store
    relay: OutboxRelay
    registry: Registry  # use cases that change something
    queries: Queries  # use cases that read
    deadlines: DeadlineWatch  # reminders and escalation (a pass every deadline_check_seconds)


def build(
    settings: RegistrySettings, *, store: Store | None = None, publish: Publish | None = None
) -> Runtime:
    """The registry as configured. `store`: an adapter built by the caller (e.g. a client with a
    command listener); `publish`: instead of Kafka (tests record what would be published)."""
    store = store or Store.connect(
        settings.mongo_uri, settings.mongo_database, settings.identity_keys()
    )
    broker = build_broker(settings, max_batch_size=settings.producer_max_batch_bytes)
    relay = OutboxRelay(
        store, publish or kafka_publisher(broker, settings), settings.outbox_interval_seconds
    )
    offices = OfficeDirectory.load(settings.offices_file)
    ticket_key = settings.ticket_hash_key.get_secret_value().encode()
    calendar = WorkCalendar(load_collective_leave(settings.collective_leave_file))
    this_year = datetime.now(UTC).year
    calendar.warm(range(this_year, this_year + 2))
    config = Config(
        number_format=settings.register_number_format,
        ticket_key=ticket_key,
        topics=Topics(*(spec.name for spec in PRODUCED)),
        deadlines=DeadlinePolicy(settings.deadline_stages, calendar),
        index_key=settings.complainant_index_key.get_secret_value().encode(),
        duplicate_window=timedelta(days=settings.duplicate_window_days),
    )
    watch = DeadlineWatch(
        store,
        relay,
        {cls.TYPE: spec.name for spec in ALERTS for cls in spec.event_types},
        settings.deadline_check_seconds,
    )
    registry = Registry(store, offices, config, relay)
    queries = Queries(
        store,
        offices,
        ticket_key,
        duplicate_window=timedelta(days=settings.duplicate_window_days),
        index_key=config.index_key,
        categories=Categories.load(settings.complaint_categories_file),
    )
    handlers.register(broker, registry, settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await ensure_service_topics(
            settings,
            [settings.topic(spec) for spec in (*handlers.CONSUMED, *PRODUCED, *ALERTS)],
            [settings.consumer_group],
        )
        await store.ensure_indexes()
        if store.vault is not None:
            # The CPU per complaint depends on it (issue 15): a slower registry says why.
            log.info("identity_vault_key_path", batched=store.vault.batched)
        if settings.recover_on_start:
            numbered = await registry.recover()
            if numbered:
                log.info("recovered_on_start", numbered=numbered)
        stop = asyncio.Event()
        relay_task = asyncio.create_task(relay.run(stop))
        tasks = [relay_task]
        if settings.deadline_watch:
            tasks.append(asyncio.create_task(watch.run(stop)))
        await broker.start()
        try:
            yield
        finally:
            await broker.stop()  # waits for the in-flight handlers, commits, leaves
            stop.set()
            relay.kick()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*tasks)
            await store.close()

    app = FastAPI(
        title="SIPUMA Registry",
        description="Basis data pengaduan, nomor register, tiket dan pelacakan. / Complaint "
        "database, register numbers, tickets and tracking.",
        version="1.0.0",
        lifespan=lifespan,
        telemetry=NATIVE_TELEMETRY_OFF,
    )
    install_auth_handler(app)
    install_domain_problems(app)
    audit = AuditTrail(store, relay, config.topics.identity_read)
    verifier = TokenVerifier.from_settings(settings)
    app.include_router(reports_router(queries, verifier))
    app.include_router(
        staff_router(registry, queries, verifier, audit, settings.forward_destinations)
    )
    limiter = TrackingRateLimiter(settings.track_requests_per_minute, settings.track_max_clients)
    app.include_router(tracking_router(queries, limiter, settings.track_min_seconds))
    # Staff operations need a token; the public tracking does not.
    install_http_plumbing(
        app,
        {"kafka": kafka_check(broker), "store": store.ping},
        max_body_bytes=64 * 1024,
        public_paths=("/v1/track",),
    )
    # The console names a downloaded export after the answer's Content-Disposition.
    install_cors(app, settings.cors_origins, expose_headers=("Content-Disposition",))
    return Runtime(settings, app, broker, store, relay, registry, queries, watch)
