"""What the growth phase seeds: 20 offices over WIB/WITA/WIT, its settings, and the Kafka side
(producing ComplaintReceived, following what the stack's registry publishes)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.common import complainant, message, partitions
from sipuma.shared import events as ev
from sipuma.shared import samples
from sipuma.shared.payloads import TrackingContact

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
# The report's cost as the *database* grows, apart from its answer's size: one office's last full
# month holds these complaints at every size (about what a month of one office holds at 10,000),
# while the rest of that office's year and every other office grow as usual.
RESERVED_OFFICE = "KPPBC-TMP-MATARAM"
RESERVED_COUNT = 40
MIDNIGHT = datetime.min.time()


def last_full_month(today: date) -> tuple[date, date]:
    first_this = today.replace(day=1)
    last = first_this - timedelta(days=1)
    return last.replace(day=1), last


@dataclass(frozen=True)
class Reserved:
    """The reserved office-month: local dates first..last, read by the report through the UTC
    window [first - 1 day, last + 2 days) (`Queries.service_standard`)."""

    first: date
    last: date

    @property
    def window(self) -> tuple[datetime, datetime]:
        start = datetime.combine(self.first, MIDNIGHT, UTC) - timedelta(days=1)
        return start, datetime.combine(self.last, MIDNIGHT, UTC) + timedelta(days=2)

    def outside(self, at: datetime) -> datetime:
        """`at`, moved before the report's read window when it falls inside it (so the store
        reads only the fixed set there, at every size)."""
        start, end = self.window
        return at - (end - start) if start <= at < end else at

    def inside(self, k: int, count: int) -> datetime:
        """The k-th of `count` dates spread over the month, a day clear of either end (a local
        date in the month in every Indonesian zone)."""
        start = datetime.combine(self.first, MIDNIGHT, UTC) + timedelta(days=1)
        span = datetime.combine(self.last, MIDNIGHT, UTC) - start
        return start + span * (k + 0.5) / count


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
        self.reserved = Reserved(*last_full_month(datetime.now(UTC).date()))
        self.fixed_sent = False

    def event(self, now: datetime, fixed: int | None = None) -> ev.ComplaintReceived:
        """The next event; `fixed`: the fixed-th complaint of the reserved office-month."""
        self.made += 1
        contact = None
        if self.rng.random() < self.settings.contact_share:
            self.with_contact += 1
            contact = TrackingContact(email=f"growth-{self.made}@example.com", mobile=None)
        received = now - timedelta(seconds=self.rng.uniform(60, YEAR.total_seconds()))
        office = CODES[self.made % len(CODES)]
        if fixed is not None:
            office, received = RESERVED_OFFICE, self.reserved.inside(fixed, RESERVED_COUNT)
        elif office == RESERVED_OFFICE:
            received = self.reserved.outside(received)
        return samples.example(
            ev.ComplaintReceived,
            event_id=uuid.uuid4(),
            complaint_id=uuid.uuid4(),
            correlation_id=uuid.uuid4().hex,
            occurred_at=now,
            received_at=received,
            office_code=office,
            complainant=complainant(self.made),
            tracking_contact=contact,
        )

    async def send(self, count: int) -> tuple[list[str], list[str]]:
        """(complaint ids, ids of those with a contact), once Kafka acknowledged all."""
        ids: list[str] = []
        contacts: list[str] = []
        for start in range(0, count, CHUNK):
            now = datetime.now(UTC)
            futures = []
            size = min(CHUNK, count - start)
            # The reserved office-month's fixed set comes with the very first events (and counts
            # in the size: it is part of the database).
            fixed = [] if self.fixed_sent else list(range(min(RESERVED_COUNT, size)))
            self.fixed_sent = True
            for k in range(size):
                event = self.event(now, fixed[k] if k < len(fixed) else None)
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
