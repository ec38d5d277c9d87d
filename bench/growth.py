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
  office for one month;
- POST → register number through intake at a fixed low rate (`bench.run.bench_e2e`);
- registry events/s: a fixed batch produced at once, time until the last ComplaintRegistered.

Each figure is also given as its ratio to the first size (time per operation, or per event for
the rate: ≤ 1.5 is the goal). Not a test: nothing asserts a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from tqdm import tqdm

from bench.run import PARTITIONS, bench_e2e, message, ms, partitions, pct
from sipuma.shared import events as ev
from sipuma.shared import samples, topics
from sipuma.shared.auth import Role
from sipuma.shared.payloads import TrackingContact
from sipuma.shared.topic_admin import ensure_topics
from tests.e2e.stack import Stack, start_stack
from tests.harness.endpoints import Endpoints

# 20 DJBC offices in the three Indonesian zones: the 8 shipped ones (the e2e stack's receiver
# token is for KPUBC-TPK-TJPRIOK) and 12 more, so no office is a hot spot of the numbering.
WIB, WITA, WIT = "Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"
OFFICES: list[tuple[str, str, str, str]] = [
    ("KPUBC-TPK-TJPRIOK", "KPU Bea dan Cukai Tipe A Tanjung Priok", "DKI Jakarta", WIB),
    ("KPPBC-TMP-SOETTA", "KPU Bea dan Cukai Tipe C Soekarno-Hatta", "Banten", WIB),
    ("KPPBC-TMP-TJPERAK", "KPPBC Tipe Madya Pabean Tanjung Perak", "Jawa Timur", WIB),
    ("KPPBC-TMP-BATAM", "KPU Bea dan Cukai Tipe B Batam", "Kepulauan Riau", WIB),
    ("KPPBC-TMP-BELAWAN", "KPPBC Tipe Madya Pabean Belawan", "Sumatera Utara", WIB),
    ("KPPBC-TMP-TJEMAS", "KPPBC Tipe Madya Pabean Tanjung Emas", "Jawa Tengah", WIB),
    ("KPPBC-TMP-PALEMBANG", "KPPBC Tipe Madya Pabean B Palembang", "Sumatera Selatan", WIB),
    ("KPPBC-TMP-PONTIANAK", "KPPBC Tipe Madya Pabean B Pontianak", "Kalimantan Barat", WIB),
    ("KPPBC-TMP-NGURAHRAI", "KPPBC Tipe Madya Pabean A Denpasar", "Bali", WITA),
    ("KPPBC-TMP-MAKASSAR", "KPPBC Tipe Madya Pabean Makassar", "Sulawesi Selatan", WITA),
    ("KPPBC-TMP-BALIKPAPAN", "KPPBC Tipe Madya Pabean B Balikpapan", "Kalimantan Timur", WITA),
    ("KPPBC-TMP-BANJARMASIN", "KPPBC Tipe Madya Pabean B Banjarmasin", "Kalimantan Selatan", WITA),
    ("KPPBC-TMP-MATARAM", "KPPBC Tipe Madya Pabean C Mataram", "Nusa Tenggara Barat", WITA),
    ("KPPBC-TMP-KUPANG", "KPPBC Tipe Madya Pabean C Kupang", "Nusa Tenggara Timur", WITA),
    ("KPPBC-TMP-BITUNG", "KPPBC Tipe Madya Pabean B Bitung", "Sulawesi Utara", WITA),
    ("KPPBC-TMP-AMBON", "KPPBC Tipe Madya Pabean C Ambon", "Maluku", WIT),
    ("KPPBC-TMP-JAYAPURA", "KPPBC Tipe Madya Pabean C Jayapura", "Papua", WIT),
    ("KPPBC-TMP-SORONG", "KPPBC Tipe Madya Pabean C Sorong", "Papua Barat Daya", WIT),
    ("KPPBC-TMP-TERNATE", "KPPBC Tipe Madya Pabean C Ternate", "Maluku Utara", WIT),
    ("KPPBC-TMP-MERAUKE", "KPPBC Tipe Madya Pabean C Merauke", "Papua Selatan", WIT),
]
CODES = [code for code, *_ in OFFICES]
YEAR = timedelta(days=365)
CHUNK = 5000  # events built and produced at a time while seeding
WARM_UP = 20  # requests of each kind before the measured ones (connections, caches)
MEASURES = ("list_31d", "list_year", "detail", "tracking", "report", "post_to_number")
LABELS = {
    "list_31d": "staff list, 50 of one office, last 31 days (console default)",
    "list_year": "staff list, 50 of one office, a whole year",
    "detail": "detail by register number",
    "tracking": "public tracking by ticket",
    "report": "service-standard report, one office-month",
    "post_to_number": "POST → register number via intake",
    "events": "registry events/s",
}

SHORT = {
    "list_31d": "list (31 days)",
    "list_year": "list (a year)",
    "detail": "detail",
    "tracking": "tracking",
    "report": "report",
    "post_to_number": "POST → number",
    "events": "registry",
}


@dataclass
class Settings:
    sizes: list[int]
    requests: int = 200  # of each kind, per size
    batch: int = 5000  # extra events for the rate, per size
    contact_share: float = 0.01
    post_rate: float = 5.0
    post_seconds: float = 20.0
    seed: int = 15


@dataclass
class Seen:
    """What the stack's registry published: register numbers and tickets by complaint id."""

    numbers: dict[str, str] = field(default_factory=dict)
    tickets: dict[str, str] = field(default_factory=dict)


def offices_file(folder: Path) -> Path:
    path = folder / "offices-growth.json"
    rows = [{"code": c, "name": n, "region": r, "timezone": z} for c, n, r, z in OFFICES]
    path.write_text(json.dumps(rows, indent=1))
    return path


# ---------------------------------------------------------------- Kafka


@asynccontextmanager
async def tail(
    bootstrap: str, topic: str, keep: Callable[[dict[str, Any]], None]
) -> AsyncIterator[None]:
    """Reads `topic` from its current end and hands each event body to `keep` (which keeps only
    the fields it needs: 200k full bodies would not fit a small machine)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    task: asyncio.Task[None] | None = None
    try:
        parts = [TopicPartition(topic, p) for p in await partitions(bootstrap, topic)]
        consumer.assign(parts)
        await consumer.seek_to_end(*parts)
        for tp in parts:
            await consumer.position(tp)  # pin "the end" before anything is produced

        async def read() -> None:
            while True:
                batches = await consumer.getmany(timeout_ms=200, max_records=5000)
                for records in batches.values():
                    for record in records:
                        keep(json.loads(record.value))

        task = asyncio.create_task(read())
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await consumer.stop()


class Feeder:
    """Builds valid ComplaintReceived events (over the offices and a year of dates, a share with
    a tracking contact) and produces them to the stack's topic, keyed by complaint id."""

    def __init__(self, producer: AIOKafkaProducer, topic: str, settings: Settings) -> None:
        self.producer, self.topic, self.settings = producer, topic, settings
        self.rng = random.Random(settings.seed)
        self.made = 0
        self.with_contact = 0

    def event(self, now: datetime) -> ev.ComplaintReceived:
        self.made += 1
        contact = None
        if self.rng.random() < self.settings.contact_share:
            self.with_contact += 1
            contact = TrackingContact(email=f"growth-{self.made}@example.com", mobile=None)
        received = now - timedelta(seconds=self.rng.uniform(60, YEAR.total_seconds()))
        return samples.example(
            ev.ComplaintReceived,
            event_id=uuid.uuid4(),
            complaint_id=uuid.uuid4(),
            correlation_id=uuid.uuid4().hex,
            occurred_at=now,
            received_at=received,
            office_code=CODES[self.made % len(CODES)],
            tracking_contact=contact,
        )

    async def send(self, count: int) -> tuple[list[str], list[str]]:
        """(complaint ids, ids of those with a contact), once Kafka acknowledged all."""
        ids: list[str] = []
        contacts: list[str] = []
        for start in range(0, count, CHUNK):
            now = datetime.now(UTC)
            futures = []
            for _ in range(min(CHUNK, count - start)):
                event = self.event(now)
                cid = str(event.complaint_id)
                ids.append(cid)
                if event.tracking_contact is not None:
                    contacts.append(cid)
                key, value, headers = message(event)
                futures.append(
                    await self.producer.send(self.topic, value, key=key, headers=headers)
                )
            await asyncio.gather(*futures)
        return ids, contacts


async def until_done(
    ids: Iterable[str],
    seen: dict[str, str],
    deadline_s: float,
    tick: Callable[[int], None],
) -> float | None:
    """perf_counter time when all `ids` were seen, None when the time ran out."""
    remaining = list(ids)
    total = len(remaining)
    deadline = time.perf_counter() + deadline_s
    while time.perf_counter() < deadline:
        remaining = [i for i in remaining if i not in seen]
        tick(total - len(remaining))
        if not remaining:
            return time.perf_counter()
        await asyncio.sleep(0.25)
    return None


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
    """`count` requests one after another (after a warm-up): p50/p99 of the answer time, the
    statuses, and the mean of what `check` counts in each answer (e.g. items on the page)."""
    for i in range(WARM_UP):
        await request(i)
    times: list[float] = []
    statuses: dict[str, int] = {}
    counted = 0
    for i in range(count):
        began = time.perf_counter()
        answer = await request(i)
        times.append(time.perf_counter() - began)
        statuses[str(answer.status_code)] = statuses.get(str(answer.status_code), 0) + 1
        if answer.status_code == 200:
            counted += check(answer)
    return {
        **quantiles(times),
        "requests": count,
        "statuses": statuses,
        "per_answer": round(counted / count, 1) if count else None,
    }


def last_full_month(today: date) -> tuple[date, date]:
    first_this = today.replace(day=1)
    last = first_this - timedelta(days=1)
    return last.replace(day=1), last


async def reads(
    sstack: Stack, seen: Seen, settings: Settings, rng: random.Random, bar: tqdm
) -> dict[str, Any]:
    n = settings.requests
    compliance = {c: sstack.token((Role.COMPLIANCE,), office=c) for c in CODES}
    supervisor = {"Authorization": f"Bearer {sstack.token((Role.SUPERVISOR,))}"}
    numbers = rng.sample(list(seen.numbers.values()), min(n, len(seen.numbers)))
    tickets = list(seen.tickets.values())
    now = datetime.now(UTC)
    year_ago = (now - timedelta(days=366) + timedelta(minutes=1)).isoformat()
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
            params: dict[str, str | int] = {"office": code, "page_size": 50, "from": year_ago}
            return await client.get("/v1/complaints", params=params, headers=headers)

        async def detail(i: int) -> httpx.Response:
            number = numbers[i % len(numbers)]
            return await client.get(f"/v1/complaints/{quote(number, safe='/')}", headers=supervisor)

        async def tracking(i: int) -> httpx.Response:
            return await client.post("/v1/track", json={"ticket": tickets[i % len(tickets)]})

        async def report(i: int) -> httpx.Response:
            code, headers = office_headers(i)
            params = {"from": first.isoformat(), "to": last.isoformat(), "office": code}
            return await client.get("/v1/reports/service-standard", params=params, headers=headers)

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


# ---------------------------------------------------------------- ratios and report


def _number(value: Any) -> float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def ratios(points: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Each size's figure ÷ the first size's: time per request (p50, p99), and for the rate the
    time per event (first rate ÷ this rate), so ≤ 1.5 reads the same way everywhere."""
    if not points:
        return {}
    base = points[0]
    out: dict[str, dict[str, float | None]] = {}
    for point in points:
        row: dict[str, float | None] = {}
        for key in MEASURES:
            for q in ("p50_ms", "p99_ms"):
                now, then = (_number((p.get(key) or {}).get(q)) for p in (point, base))
                row[f"{key}_{q[:3]}"] = round(now / then, 2) if now and then else None
        rate, rate0 = (_number((p.get("events") or {}).get("per_second")) for p in (point, base))
        row["events"] = round(rate0 / rate, 2) if rate and rate0 else None
        out[str(point["size"])] = row
    return out


def summary_line(point: dict[str, Any], base: dict[str, Any]) -> str:
    ratio = ratios([base, point])[str(point["size"])]
    parts = [f"growth {point['stored']:,} stored:"]
    for key in MEASURES:
        p99 = (point.get(key) or {}).get("p99_ms")
        if p99 is not None:
            parts.append(f"{key} p99 {p99} ms (×{ratio.get(key + '_p99')})")
    rate = (point.get("events") or {}).get("per_second")
    parts.append(f"{rate} events/s (time/event ×{ratio.get('events')})")
    return " | ".join(parts)


def _cell(entry: dict[str, Any] | None) -> str:
    if not entry or entry.get("p99_ms") is None:
        return "–"
    return f"{entry['p50_ms']} / {entry['p99_ms']}"


def markdown(growth: dict[str, Any]) -> list[str]:
    points = growth.get("points") or []
    if not points:
        return []
    sizes = [p["size"] for p in points]
    last = str(sizes[-1])
    ratio = growth["ratios"].get(last, {})
    head = " | ".join(f"{s:,}" for s in sizes)
    lines = [
        "## Growth: cost as the database grows (g)",
        "",
        f"A private registry grown to {', '.join(f'{s:,}' for s in sizes)} complaints through "
        f"its own write path, {growth['offices']} offices, `received_at` over a year, "
        f"{growth['contact_share']:.0%} with a tracking contact (a ticket). p50 / p99 in ms "
        f"over {growth['requests']} requests one after another; the last column is the figure "
        f"at {sizes[-1]:,} ÷ the one at {sizes[0]:,} (goal ≤ 1.5).",
        "",
        f"| measure | {head} | p50 ratio | p99 ratio |",
        "|---|" + "---|" * (len(sizes) + 2),
    ]
    for key in MEASURES:
        cells = " | ".join(_cell(p.get(key)) for p in points)
        extra = ""
        per = [(p.get(key) or {}).get("per_answer") for p in points]
        if key.startswith("list") or key == "report":
            what = "items per page" if key.startswith("list") else "complaints in the month"
            extra = f" ({what}: {' → '.join(str(x) for x in per)})"
        lines.append(
            f"| {LABELS[key]}{extra} | {cells} | {_flag(ratio.get(key + '_p50'))} | "
            f"{_flag(ratio.get(key + '_p99'))} |"
        )
    rates = " | ".join(str((p.get("events") or {}).get("per_second", "–")) for p in points)
    lines.append(
        f"| {LABELS['events']} ({growth['batch']:,} more at once; ratio: time per event) | "
        f"{rates} | {_flag(ratio.get('events'))} | |"
    )
    seeds = ", ".join(
        f"{p['seed']['events']:,} at {p['seed']['per_second']}/s" for p in points if p.get("seed")
    )
    over = [
        f"{SHORT[k]} time per event ×{v}" if k == "events" else f"{SHORT[k[:-4]]} {k[-3:]} ×{v}"
        for k, v in ratio.items()
        if v is not None and v > 1.5
    ]
    loads = ", ".join(f"{p['size']:,}: {p.get('loadavg', ['?'])[0]}" for p in points)
    lines += [
        "",
        f"Above the goal at {sizes[-1]:,} (ratio > 1.5): "
        + ("; ".join(over) if over else "none")
        + ".",
        "",
        f"Seeding (the same write path, events produced in chunks of {CHUNK:,}): {seeds}. "
        f"Load average (1 min) when each size's reads began: {loads}.",
        "",
        "![growth](benchmarks-growth.png)",
        "",
    ]
    return lines


def _flag(value: float | None) -> str:
    if value is None:
        return "–"
    return f"**{value}**" if value > 1.5 else str(value)


def plot(growth: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = growth.get("points") or []
    if not points:
        return
    sizes = [p["size"] for p in points]
    fig, (lat, rate, ratio) = plt.subplots(1, 3, figsize=(18, 5.5))
    for key in MEASURES:
        p99 = [(p.get(key) or {}).get("p99_ms") for p in points]
        p50 = [(p.get(key) or {}).get("p50_ms") for p in points]
        if not any(v is not None for v in p99):
            continue
        (line,) = lat.plot(sizes, p99, marker="o", label=f"{LABELS[key]} p99")
        lat.plot(sizes, p50, marker=".", linestyle="--", color=line.get_color(), alpha=0.6)
        ratios_ = [growth["ratios"][str(s)].get(f"{key}_p99") for s in sizes]
        ratio.plot(sizes, ratios_, marker="o", color=line.get_color(), label=LABELS[key])
    lat.set_title("answer time, p99 (solid) and p50 (dashed); colours as on the right")
    lat.set_ylabel("ms (log)")
    lat.set_yscale("log")
    rates = [(p.get("events") or {}).get("per_second") for p in points]
    rate.plot(sizes, rates, marker="o", color="black")
    rate.set_title(f"registry events/s ({growth['batch']:,} more at once)")
    rate.set_ylabel("events/s")
    rate.set_ylim(bottom=0)
    ratio.plot(
        sizes,
        [growth["ratios"][str(s)].get("events") for s in sizes],
        marker="s",
        color="black",
        label="registry: time per event",
    )
    ratio.axhline(1.5, color="tab:red", linestyle=":", label="goal ≤ 1.5")
    ratio.set_title(f"p99 ÷ p99 at {sizes[0]:,}")
    ratio.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1))
    for axis in (lat, rate, ratio):
        axis.set_xscale("log")
        axis.set_xticks(sizes, [f"{s:,}" for s in sizes])
        axis.minorticks_off()
        axis.set_xlabel("complaints stored (log)")
        axis.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
