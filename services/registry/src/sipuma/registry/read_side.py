"""The `reports` role (SIPUMA_REGISTRY_ROLE=reports, README "Roles"): the staff read side alone
(list, search, their CSV/XLSX downloads, statistics, the per-complaint export, the overdue list,
the service-standard report) on the store. No Kafka client, no consumer, no relay, no working-day
calendar (`holidays`): none is imported, so a 100,000-complaint export runs in a process of its
own under 100 MiB (docs/benchmarks.md (x)). The `all` role (`main.build`) keeps the indexes, the
consumers and the calendar, and answers these routes too."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from fastapi import FastAPI

from sipuma.registry.api import reports_router
from sipuma.registry.categories import Categories
from sipuma.registry.problems import install_domain_problems
from sipuma.registry.queries import Queries
from sipuma.registry.settings import RegistrySettings
from sipuma.registry.store import Store
from sipuma.shared.auth import TokenVerifier, install_auth_handler
from sipuma.shared.offices import OfficeDirectory
from sipuma.shared.web import NATIVE_TELEMETRY_OFF, install_cors, install_http_plumbing


@dataclass(frozen=True)
class Reports:
    """What `run()`, the tests and the benchmark need of the `reports` role."""

    settings: RegistrySettings
    app: FastAPI
    store: Store
    queries: Queries


def build_reports(settings: RegistrySettings, *, store: Store | None = None) -> Reports:
    """The read routes of the staff API on the store, nothing else (it creates no index: the
    `all` role does, before any data)."""
    store = store or Store.connect(
        settings.mongo_uri, settings.mongo_database, settings.identity_keys()
    )
    queries = Queries(
        store,
        OfficeDirectory.load(settings.offices_file),
        settings.ticket_hash_key.get_secret_value().encode(),
        duplicate_window=timedelta(days=settings.duplicate_window_days),
        index_key=settings.complainant_index_key.get_secret_value().encode(),
        categories=Categories.load(settings.complaint_categories_file),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await store.close()

    app = FastAPI(
        title="SIPUMA Registry (laporan / reports)",
        description="Daftar, pencarian, ekspor dan statistik pengaduan untuk staf. / Staff "
        "lists, search, exports and statistics of complaints.",
        version="1.0.0",
        lifespan=lifespan,
        telemetry=NATIVE_TELEMETRY_OFF,
    )
    install_auth_handler(app)
    install_domain_problems(app)
    app.include_router(reports_router(queries, TokenVerifier.from_settings(settings)))
    install_http_plumbing(app, {"store": store.ping}, max_body_bytes=64 * 1024)
    install_cors(app, settings.cors_origins, expose_headers=("Content-Disposition",))
    return Reports(settings, app, store, queries)
