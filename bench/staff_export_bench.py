"""Staff exports (issue 20): time the registry's list export (CSV and XLSX) over a year of one
office, in process (the app `main.build` makes, ASGI), on the local store.

    uv run python -m bench.staff_export_bench --rows 20000

Seeds `--rows` listing entries of one office spread over 360 days into a scratch database,
asks `GET /v1/complaints?format=csv|xlsx` for the whole year (office-local dates) and reports
rows, bytes, seconds and rows/s per format; the peak RSS of this process is reported once (the
export streams from one cursor, so it should not follow the rows). The database is dropped at
the end. Numbers go in services/registry/README.md, never in tests.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import resource
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from sipuma.registry.main import build
from sipuma.registry.settings import RegistrySettings
from sipuma.registry.store import Store
from sipuma.shared.auth import Role, mint_token
from tests.harness.endpoints import LOCAL

OFFICE = "KPUBC-TPK-TJPRIOK"
SECRET = "bench-export-token-secret-0123456789abcdef"
NAMES = ["Muh. Ja'far, S.H.", "Ni Luh Putu Ayu Sékar", 'Budi "Bob" Santoso']


def _docs(rows: int, now: datetime) -> list[dict[str, Any]]:
    docs = []
    for i in range(rows):
        at = now - timedelta(seconds=i * 360 * 86400 / rows)
        docs.append(
            {
                "_id": str(uuid.uuid4()),
                "office_code": OFFICE,
                "received_at": at,
                "saved_at": at,
                "channel": "in_person",
                "complainant_name": NAMES[i % len(NAMES)],
                "view": {
                    "status": "registered",
                    "register_number": f"PGD/{OFFICE}/{at.year}/{i + 1:06d}",
                    "ticket_issued": i % 2 == 0,
                    "notification_failed": False,
                    "communicated": "told" if i % 3 else None,
                    "intake_done_at": at + timedelta(minutes=12),
                },
            }
        )
    return docs


async def main(rows: int) -> None:
    database = f"bench_export_{uuid.uuid4().hex[:8]}"
    uri = LOCAL.mongo_uri
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    store = Store(client, database)
    try:
        await store.ensure_indexes()
        now = datetime.now(UTC)
        docs = _docs(rows, now)
        for first in range(0, rows, 1000):
            await store.listing.insert_many(docs[first : first + 1000], ordered=False)
        settings = RegistrySettings(
            mongo_uri=uri, mongo_database=database, token_secret=SECRET, recover_on_start=False
        )
        app = build(settings).app
        token = mint_token(SECRET, "bench", OFFICE, [Role.COMPLIANCE])
        headers = {"Authorization": f"Bearer {token}"}
        first_day = (now - timedelta(days=361)).date().isoformat()
        last_day = now.date().isoformat()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://r", timeout=600) as http:
            for kind in ("csv", "xlsx"):
                params = {"from": first_day, "to": last_day, "format": kind}
                began = time.perf_counter()
                answer = await http.get("/v1/complaints", params=params, headers=headers)
                took = time.perf_counter() - began
                answer.raise_for_status()
                if kind == "csv":
                    text = answer.content.decode("utf-8-sig")
                    got = sum(1 for _ in csv.reader(io.StringIO(text, newline=""))) - 1
                else:
                    got = rows  # checked by the tests; opening a large workbook costs more
                print(
                    f"{kind}: {got} rows, {len(answer.content) / 1e6:.1f} MB, {took:.2f} s, "
                    f"{got / took:.0f} rows/s"
                )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS of this process (seed data included): {peak:.0f} MB")
    finally:
        await client.drop_database(database)
        await client.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    asyncio.run(main(parser.parse_args().rows))
