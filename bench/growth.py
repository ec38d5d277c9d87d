"""Growth phase (g) of `make bench`: does the cost of each registry operation stay flat while
the database grows? (issue 15 part 2; issue 13's "Done means").

A stack of its own (topic prefix, consumer groups, databases: nothing of the running system or of
the other phases) with 20 offices in WIB/WITA/WIT (its own `SIPUMA_OFFICES_FILE`) is grown to each
size of `--growth-sizes` through the registry's own write path: valid `ComplaintReceived` events
onto the stack's topic, numbered by the real `sipuma-registry` process, spread over the offices
and over a year of `received_at` dates; a small share carries a tracking contact, so the registry
issues tickets (read back from the stack's restricted ticket topic). At each size, one request
at a time against the running registry (and intake):

- staff list, 50 items of one office, newest first: the console's default window (31 days) and
  a whole year (the widest the API allows);
- detail by register number; public tracking by ticket; the service-standard report of one
  office for one month, twice: an ordinary office-month (its complaints grow with the data, and
  the answer lists each) and the reserved office-month (`growth_seed.RESERVED_*`: the same
  complaints at every size, while that office's other months and every other office grow), the
  report's cost as the database grows apart from its answer's size;
- POST → register number through intake at a fixed low rate (`bench.run.bench_e2e`);
- registry events/s: a fixed batch produced at once, time until the last ComplaintRegistered.

Each figure is also given as its ratio to the first size (time per operation, or per event for
the rate: ≤ 1.5 is the goal). Not a test: nothing asserts a time.
"""

from __future__ import annotations

import os
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from aiokafka import AIOKafkaProducer
from tqdm import tqdm

from bench.common import PARTITIONS, ms, pct
from bench.growth_report import ratios, summary_line
from bench.growth_seed import (
    CODES,
    RESERVED_COUNT,
    RESERVED_OFFICE,
    WARM_UP,
    Feeder,
    Seen,
    Settings,
    last_full_month,
    offices_file,
    tail,
    until_done,
)
from bench.phases import bench_e2e
from sipuma.shared import topics
from sipuma.shared.auth import Role
from sipuma.shared.topic_admin import ensure_topics
from tests.e2e.stack import Stack, start_stack
from tests.harness.endpoints import Endpoints

# The ordinary report's offices: every one but the reserved (whose month is fixed).
ORDINARY = [code for code in CODES if code != RESERVED_OFFICE]

# ---------------------------------------------------------------- HTTP


def quantiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50_ms": None, "p99_ms": None}
    return {"p50_ms": ms(pct(values, 0.5)), "p99_ms": ms(pct(values, 0.99))}


async def timed(
    count: int,
    request: Callable[[int], Awaitable[httpx.Response]],
    check: Callable[[httpx.Response], int] = lambda _: 0,
) -> dict[str, Any]:
    """`count` requests one after another (after a warm-up): p50/p99 of the time of the 200
    answers (any other status is counted, never timed: a fast refusal is no measurement), and
    the mean of what `check` counts in each 200 answer (e.g. items on the page)."""
    for i in range(WARM_UP):
        await request(i)
    times: list[float] = []
    statuses: dict[str, int] = {}
    counted = 0
    for i in range(count):
        began = time.perf_counter()
        answer = await request(i)
        took = time.perf_counter() - began
        statuses[str(answer.status_code)] = statuses.get(str(answer.status_code), 0) + 1
        if answer.status_code == 200:
            times.append(took)
            counted += check(answer)
    return {
        **quantiles(times),
        "requests": count,
        "statuses": statuses,
        "per_answer": round(counted / len(times), 1) if times else None,
    }


async def reads(
    sstack: Stack, seen: Seen, settings: Settings, rng: random.Random, bar: tqdm
) -> dict[str, Any]:
    n = settings.requests
    compliance = {c: sstack.token((Role.COMPLIANCE,), office=c) for c in CODES}
    supervisor = {"Authorization": f"Bearer {sstack.token((Role.SUPERVISOR,))}"}
    numbers = rng.sample(list(seen.numbers.values()), min(n, len(seen.numbers)))
    tickets = list(seen.tickets.values())
    now = datetime.now(UTC)
    first, last = last_full_month(now.date())
    out: dict[str, Any] = {}

    def office_headers(i: int) -> tuple[str, dict[str, str]]:
        code = CODES[i % len(CODES)]
        return code, {"Authorization": f"Bearer {compliance[code]}"}

    def items(answer: httpx.Response) -> int:
        return len(answer.json()["items"])

    def report_rows(answer: httpx.Response) -> int:
        return sum(o["count"] for o in answer.json()["offices"])

    async with httpx.AsyncClient(base_url=sstack.url("registry"), timeout=120) as client:

        async def list_31d(i: int) -> httpx.Response:
            code, headers = office_headers(i)
            return await client.get(
                "/v1/complaints", params={"office": code, "page_size": 50}, headers=headers
            )

        async def list_year(i: int) -> httpx.Response:
            code, headers = office_headers(i)
            # Both ends given: `to` defaults to the moment of the request, and a `from` fixed
            # earlier would make a slow series exceed the 366 days the API allows (a 422).
            end = datetime.now(UTC) + timedelta(seconds=1)
            window = {"from": (end - timedelta(days=365)).isoformat(), "to": end.isoformat()}
            params: dict[str, str | int] = {"office": code, "page_size": 50, **window}
            return await client.get("/v1/complaints", params=params, headers=headers)

        async def detail(i: int) -> httpx.Response:
            number = numbers[i % len(numbers)]
            return await client.get(f"/v1/complaints/{quote(number, safe='/')}", headers=supervisor)

        async def tracking(i: int) -> httpx.Response:
            return await client.post("/v1/track", json={"ticket": tickets[i % len(tickets)]})

        async def report_of(code: str) -> httpx.Response:
            headers = {"Authorization": f"Bearer {compliance[code]}"}
            params = {"from": first.isoformat(), "to": last.isoformat(), "office": code}
            return await client.get("/v1/reports/service-standard", params=params, headers=headers)

        async def report(i: int) -> httpx.Response:
            return await report_of(ORDINARY[i % len(ORDINARY)])

        async def report_fixed(i: int) -> httpx.Response:
            return await report_of(RESERVED_OFFICE)

        bar.set_postfix_str("list (31 days)")
        out["list_31d"] = await timed(n, list_31d, items)
        bar.set_postfix_str("list (a year)")
        out["list_year"] = await timed(n, list_year, items)
        bar.set_postfix_str("detail")
        out["detail"] = await timed(n, detail) if numbers else {}
        bar.set_postfix_str("tracking")
        out["tracking"] = await timed(n, tracking) if tickets else {}
        bar.set_postfix_str("report")
        out["report"] = await timed(n, report, report_rows)
        bar.set_postfix_str("report (fixed month)")
        out["report_fixed"] = await timed(n, report_fixed, report_rows)
    return out


# ---------------------------------------------------------------- the phase


async def measure(
    ep: Endpoints, stack: ExitStack, folder: Path, settings: Settings, bar: tqdm
) -> dict[str, Any]:
    unique = f"bench-g-{uuid.uuid4().hex[:8]}"
    prefix = f"sipuma.{unique}."
    await ensure_topics(
        ep.kafka_bootstrap, [prefix + t.name for t in topics.ALL_TOPICS], partitions=PARTITIONS
    )
    env = {
        "SIPUMA_OFFICES_FILE": str(offices_file(folder)),
        # Every tracking request comes from this one client address.
        "SIPUMA_TRACK_REQUESTS_PER_MINUTE": "1000000",
        # The answer-time floor hides the lookup's own cost (it makes a 404 and a 200 take as
        # long); the growth phase measures the lookup.
        "SIPUMA_TRACK_MIN_SECONDS": "0",
    }
    workdir = folder / unique
    workdir.mkdir()
    sstack = start_stack(ep, unique, workdir, env)
    stack.callback(sstack.stop)
    # Only the registry (and intake for POST → number) is measured; the others would consume
    # the same events (evidence) and send 2,000 e-mails (notifier) on the same two cores.
    for name in ("evidence", "notifier", "intake"):
        if name in sstack.services:
            sstack.services[name].stop()

    seen = Seen()

    def keep_number(body: dict[str, Any]) -> None:
        seen.numbers[str(body["complaint_id"])] = body["register_number"]

    def keep_ticket(body: dict[str, Any]) -> None:
        seen.tickets[str(body["complaint_id"])] = body["ticket_number"]

    rng = random.Random(settings.seed)
    points: list[dict[str, Any]] = []
    producer = AIOKafkaProducer(
        bootstrap_servers=ep.kafka_bootstrap, acks="all", enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    feeder = Feeder(producer, prefix + topics.COMPLAINT_RECEIVED.name, settings)
    try:
        async with (
            tail(ep.kafka_bootstrap, prefix + topics.COMPLAINT_REGISTERED.name, keep_number),
            tail(ep.kafka_bootstrap, prefix + topics.TICKET_ISSUED.name, keep_ticket),
        ):

            async def absorb(count: int, label: str) -> dict[str, Any]:
                began = time.perf_counter()
                ids, contacts = await feeder.send(count)
                sent = time.perf_counter()

                def tick(k: int) -> None:
                    bar.set_postfix_str(f"{label}: registered {k}/{count}")

                ended = await until_done(ids, seen.numbers, max(600.0, count / 20), tick)
                tickets = await until_done(contacts, seen.tickets, 120, lambda _: None)
                if ended is None or tickets is None:
                    raise RuntimeError(f"{label}: the registry did not number all in time")
                return {
                    "events": count,
                    "with_contact": len(contacts),
                    "produce_s": round(sent - began, 2),
                    "seconds": round(ended - began, 2),
                    "per_second": round(count / (ended - began), 1),
                }

            for size in settings.sizes:
                bar.set_description(f"(g) growth to {size:,}")
                grow = size - len(seen.numbers)
                point: dict[str, Any] = {"size": size}
                if grow > 0:
                    point["seed"] = await absorb(grow, f"seed to {size:,}")
                point["loadavg"] = [round(x, 2) for x in os.getloadavg()]
                point["stored"] = len(seen.numbers)
                point["tickets"] = len(seen.tickets)
                point.update(await reads(sstack, seen, settings, rng, bar))
                if "intake" in sstack.services:
                    bar.set_postfix_str("POST → number")
                    point["post_to_number"] = await post_to_number(
                        ep, sstack, prefix, settings, bar
                    )
                point["events"] = await absorb(settings.batch, f"{settings.batch} more")
                points.append(point)
                bar.write(summary_line(point, points[0]))
    finally:
        await producer.stop()
    return {
        "what": "registry cost as the database grows (its own stack, registry write path)",
        "offices": len(CODES),
        "sizes": settings.sizes,
        "requests": settings.requests,
        "batch": settings.batch,
        "contact_share": settings.contact_share,
        "reserved": {"office": RESERVED_OFFICE, "complaints": RESERVED_COUNT},
        "post_rate": settings.post_rate,
        "post_seconds": settings.post_seconds,
        "points": points,
        "ratios": ratios(points),
    }


async def post_to_number(
    ep: Endpoints,
    sstack: Stack,
    prefix: str,
    settings: Settings,
    bar: tqdm,
) -> dict[str, Any]:
    """Intake runs only here (it would read every seeded ComplaintRegistered otherwise)."""
    intake = sstack.services["intake"]
    intake.start()
    try:
        intake.wait_ready(time.monotonic() + 120)
        found = await bench_e2e(
            ep, sstack, prefix, settings.post_rate, settings.post_seconds, 60, bar, [], []
        )
    finally:
        intake.stop()
    return {
        "p50_ms": found["p50_ms"],
        "p99_ms": found["p99_ms"],
        "requests": found["requests"],
        "registered": found["registered"],
        "answered_with_number": found["answered_with_number"],
        "http_statuses": found["http_statuses"],
    }
