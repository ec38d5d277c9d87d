"""(l) The staff list as the store grows, quickly: a registry database bulk-loaded with listing
documents shaped as the registry writes them (20 offices, `received_at` over a year) at each size,
and the registry's own HTTP API (its `build()`, in process) asked for the console's default page
(one office, last 31 days) and a whole year's first page. Minutes instead of the growth phase's
~20 (which numbers every complaint through Kafka); the growth phase (g) stays the full proof.

    uv run python -m bench.list_growth [--sizes 10000,200000] [--requests 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from bench.common import growth, ms, pct
from bench.growth_seed import CODES, offices_file
from sipuma.registry.domain import number_key
from sipuma.registry.main import build
from sipuma.registry.settings import RegistrySettings
from sipuma.registry.store import Store
from sipuma.shared.auth import Role, mint_token
from sipuma.shared.logging import configure_logging
from tests.harness.endpoints import Endpoints, resolve

SECRET = "bench-list-growth-secret-0123456789abcdef"


def listing_docs(first: int, count: int, rng: random.Random) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    docs = []
    for i in range(first, first + count):
        office = CODES[i % len(CODES)]
        at = now - timedelta(seconds=rng.uniform(0, 365 * 86400))
        seq = i // len(CODES) + 1
        docs.append(
            {
                "_id": str(uuid.uuid4()),
                "office_code": office,
                "received_at": at,
                "saved_at": at,
                "channel": "in_person",
                "register_year": at.year,
                "number_id": number_key(office, at.year, seq),
                "version": 3,
                "view": {
                    "status": rng.choice(["registered", "verified", "closed"]),
                    "register_number": f"PGD/{office}/{at.year}/{seq:06d}",
                    "registered_at": at,
                    "notification_failed": rng.random() < 0.05,
                },
            }
        )
    return docs


async def analyzed(store: Store, size: int, wait_s: float = 180) -> float | None:
    """Seconds until DocumentDB's planner statistics count the loaded entries (it plans from
    PostgreSQL's ANALYZE, run by autovacuum; right after a bulk load it plans from the old
    counts); None on MongoDB (no such statistics) or when the time ran out."""
    began = time.perf_counter()
    while time.perf_counter() - began < wait_s:
        stats = await store.db.command("collStats", "listing")
        if "analyzedCount" not in stats:
            return None
        if stats["analyzedCount"] >= 0.9 * size:
            return round(time.perf_counter() - began, 1)
        await asyncio.sleep(2)  # polling the store's own statistics, not synchronising a test
    return None


async def no_publish(event: Any, topic: str, payload: str | None = None) -> None:
    """The list reads only: nothing is published."""


async def measure(sizes: list[int], requests: int) -> dict[str, Any]:
    with ExitStack() as stack:
        return await _measure(resolve(stack), sizes, requests)


async def _measure(ep: Endpoints, sizes: list[int], requests: int) -> dict[str, Any]:
    database = f"bench_lg_{uuid.uuid4().hex[:8]}"
    # The 20 offices the documents use (the shipped directory has 8: a 422 otherwise).
    folder = Path(tempfile.mkdtemp(prefix="bench-lg-"))
    settings = RegistrySettings(
        mongo_uri=ep.mongo_uri,
        mongo_database=database,
        token_secret=SECRET,
        offices_file=offices_file(folder),
    )
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(ep.mongo_uri, tz_aware=True)
    store = Store(client, database)
    rng = random.Random(15)
    points = []
    try:
        await store.ensure_indexes()
        built = build(settings, store=store, publish=no_publish)
        transport = httpx.ASGITransport(app=built.app)
        http = httpx.AsyncClient(transport=transport, base_url="http://registry", timeout=120)
        stored = 0
        for size in sizes:
            began = time.perf_counter()
            while stored < size:
                chunk = min(5000, size - stored)
                await store.db["listing"].insert_many(listing_docs(stored, chunk, rng))
                stored += chunk
            loaded_s = time.perf_counter() - began
            point: dict[str, Any] = {"size": size, "load_s": round(loaded_s, 1)}
            point["analyzed_wait_s"] = await analyzed(store, size)
            for label, days in (("list_31d", None), ("list_year", 365)):
                times = []
                for i in range(requests + 20):  # the first 20 warm up, not counted
                    office = CODES[i % len(CODES)]
                    token = mint_token(SECRET, "bench-1", office, (Role.COMPLIANCE,))
                    params: dict[str, Any] = {"office": office, "page_size": 50}
                    if days:
                        end = datetime.now(UTC) + timedelta(seconds=1)
                        params |= {"from": (end - timedelta(days=days)).isoformat()}
                        params |= {"to": end.isoformat()}
                    started = time.perf_counter()
                    answer = await http.get(
                        "/v1/complaints",
                        params=params,
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    elapsed = time.perf_counter() - started
                    assert answer.status_code == 200, answer.text
                    if i >= 20:
                        times.append(elapsed)
                point[label] = {"p50_ms": ms(pct(times, 0.5)), "p99_ms": ms(pct(times, 0.99))}
            points.append(point)
            print(json.dumps(point), flush=True)
        await http.aclose()
    finally:
        await client.drop_database(database)
        await client.close()
    return growth(points, ("list_31d", "list_year"))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.list_growth")
    parser.add_argument("--sizes", default="10000,200000")
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    configure_logging("bench", "WARNING")  # one access-log line per timed request otherwise
    print(json.dumps(asyncio.run(measure(sizes, args.requests))["ratios"], indent=1))


if __name__ == "__main__":
    main()
