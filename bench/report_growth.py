"""(r) The service-standard report as the store grows, quickly: like `bench.list_growth`, a
registry database bulk-loaded with listing documents shaped as the registry writes them (20
offices, `received_at` over a year) and the registry's own HTTP API (its `build()`, in process)
asked for one office-month's report, two ways:

- `report`: an ordinary office-month, whose complaints grow with the data (as phase g's row);
- `report_fixed`: the reserved office-month (`growth_seed.RESERVED_*`), which holds the same
  `growth_seed.RESERVED_COUNT` complaints at every size while the rest of the store grows.

`--profile FILE` writes a cProfile of the last size's ordinary report (where its time goes:
store read, Python per row, JSON). Minutes instead of phase g's ~20.

    uv run python -m bench.report_growth [--sizes 10000,200000] [--requests 100]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import pstats
import random
import tempfile
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import bson
import httpx
from pymongo import AsyncMongoClient
from pymongo.monitoring import (
    CommandFailedEvent,
    CommandListener,
    CommandStartedEvent,
    CommandSucceededEvent,
)

from bench.common import growth, ms, pct
from bench.growth_seed import (
    CODES,
    RESERVED_COUNT,
    RESERVED_OFFICE,
    Reserved,
    last_full_month,
    offices_file,
)
from bench.list_growth import SECRET, listing_docs, no_publish
from sipuma.registry.main import build
from sipuma.registry.settings import RegistrySettings
from sipuma.registry.store import Store
from sipuma.shared.auth import Role, mint_token
from sipuma.shared.logging import configure_logging
from tests.harness.endpoints import Endpoints, resolve

ORDINARY = [c for c in CODES if c != RESERVED_OFFICE]


class Reads(CommandListener):
    """Store commands and the bytes they answered, while `on` (load-independent counts)."""

    def __init__(self) -> None:
        self.on, self.commands, self.bytes = False, 0, 0

    def started(self, event: CommandStartedEvent) -> None:
        self.commands += self.on

    def succeeded(self, event: CommandSucceededEvent) -> None:
        if self.on:
            self.bytes += len(bson.encode(event.reply))

    def failed(self, event: CommandFailedEvent) -> None:
        pass


def with_intake(docs: list[dict[str, Any]], rng: random.Random, reserved: Reserved | None) -> None:
    """The view fields the report reads (when and how the intake ended); the reserved office's
    entries that fall into its month are moved out of it (the month holds only its fixed set)."""
    for doc in docs:
        if reserved is not None and doc["office_code"] == RESERVED_OFFICE:
            doc["received_at"] = reserved.outside(doc["received_at"])
        done = doc["received_at"] + timedelta(minutes=rng.uniform(1, 60))
        doc["view"] |= {"intake_done_at": done, "intake_outcome": "ticket_sent"}


async def measure(sizes: list[int], requests: int, profile: str | None) -> dict[str, Any]:
    with ExitStack() as stack:
        return await _measure(resolve(stack), sizes, requests, profile)


async def _measure(
    ep: Endpoints, sizes: list[int], requests: int, profile: str | None
) -> dict[str, Any]:
    database = f"bench_rg_{uuid.uuid4().hex[:8]}"
    folder = Path(tempfile.mkdtemp(prefix="bench-rg-"))
    settings = RegistrySettings(
        mongo_uri=ep.mongo_uri,
        mongo_database=database,
        token_secret=SECRET,
        offices_file=offices_file(folder),
    )
    reads = Reads()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        ep.mongo_uri, tz_aware=True, event_listeners=[reads]
    )
    store = Store(client, database)
    rng = random.Random(15)
    today = datetime.now(UTC).date()
    first, last = last_full_month(today)
    reserved = Reserved(first, last)
    points = []
    try:
        await store.ensure_indexes()
        built = build(settings, store=store, publish=no_publish)
        transport = httpx.ASGITransport(app=built.app)
        http = httpx.AsyncClient(transport=transport, base_url="http://registry", timeout=120)
        # The reserved office-month: its fixed set, loaded once (numbers after every other's).
        fixed = listing_docs(10**7, RESERVED_COUNT, rng)
        for k, doc in enumerate(fixed):
            doc["office_code"] = RESERVED_OFFICE
            doc["received_at"] = reserved.inside(k, RESERVED_COUNT)
        stored = 0
        for size in sizes:
            began = time.perf_counter()
            while stored < size:
                chunk = min(5000, size - stored)
                docs = listing_docs(stored, chunk, rng)
                with_intake(docs, rng, reserved)
                if stored == 0:
                    with_intake(fixed, rng, None)
                    docs += fixed
                await store.db["listing"].insert_many(docs)
                stored += chunk
            point: dict[str, Any] = {"size": size, "load_s": round(time.perf_counter() - began, 1)}

            async def report(i: int, code: str | None) -> httpx.Response:
                office = code or ORDINARY[i % len(ORDINARY)]
                token = mint_token(SECRET, "bench-1", office, (Role.COMPLIANCE,))
                params = {"from": first.isoformat(), "to": last.isoformat(), "office": office}
                return await http.get(
                    "/v1/reports/service-standard",
                    params=params,
                    headers={"Authorization": f"Bearer {token}"},
                )

            for label, code in (("report", None), ("report_fixed", RESERVED_OFFICE)):
                times, rows = [], 0
                reads.commands = reads.bytes = 0
                for i in range(requests + 20):  # the first 20 warm up, not counted
                    reads.on = i >= 20
                    started = time.perf_counter()
                    answer = await report(i, code)
                    elapsed = time.perf_counter() - started
                    reads.on = False
                    assert answer.status_code == 200, answer.text
                    if i >= 20:
                        times.append(elapsed)
                        rows += len(answer.json()["complaints"])
                point[label] = {
                    "p50_ms": ms(pct(times, 0.5)),
                    "p99_ms": ms(pct(times, 0.99)),
                    "rows": round(rows / len(times), 1),
                    "store_commands": round(reads.commands / len(times), 2),
                    "store_reply_kib": round(reads.bytes / len(times) / 1024, 1),
                }
            points.append(point)
            print(json.dumps(point), flush=True)
        if profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for i in range(requests):
                await report(i, None)
            profiler.disable()
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats("cumulative").print_stats(45)
            stats.sort_stats("tottime").print_stats(25)
            Path(profile).write_text(out.getvalue())  # noqa: ASYNC240 - after the measure
        await http.aclose()
    finally:
        await client.drop_database(database)
        await client.close()
    return growth(points, ("report", "report_fixed"))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.report_growth")
    parser.add_argument("--sizes", default="10000,200000")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--profile", help="cProfile text of the last size's ordinary report")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    configure_logging("bench", "WARNING")  # one access-log line per timed request otherwise
    print(json.dumps(asyncio.run(measure(sizes, args.requests, args.profile))["ratios"], indent=1))


if __name__ == "__main__":
    main()
