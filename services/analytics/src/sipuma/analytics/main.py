"""The composition root: settings → warehouse, consumer. `sipuma-analytics` reads until stopped
(SIGTERM/SIGINT); `sipuma-analytics --backfill` reads to the end once and exits (a new team's
first load, or a replay into an empty warehouse)."""

from __future__ import annotations

import argparse
import asyncio
import signal

from sipuma.analytics.consumer import AnalyticsConsumer
from sipuma.analytics.settings import AnalyticsSettings
from sipuma.analytics.subscription import analytics_topics
from sipuma.analytics.warehouse import Warehouse
from sipuma.shared.logging import configure_logging
from sipuma.shared.offices import OfficeDirectory


def build(settings: AnalyticsSettings) -> tuple[AnalyticsConsumer, Warehouse]:
    warehouse = Warehouse(settings.duckdb_path)
    consumer = AnalyticsConsumer(
        settings.kafka_bootstrap,
        analytics_topics(settings),
        warehouse,
        OfficeDirectory.load(settings.offices_file),
        prefix=settings.topic_prefix,
        parquet_dir=settings.parquet_dir,
        max_records=settings.poll_max_records,
        timeout_ms=settings.poll_timeout_ms,
    )
    return consumer, warehouse


async def _main(backfill: bool) -> None:
    settings = AnalyticsSettings()
    configure_logging(settings.service, settings.log_level, settings.log_format)
    consumer, warehouse = build(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await consumer.run(stop, until_caught_up=backfill)
    finally:
        warehouse.close()


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backfill", action="store_true", help="read to the end, then exit")
    asyncio.run(_main(parser.parse_args().backfill))
