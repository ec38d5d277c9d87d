"""The reference analytics consumer on the real Kafka: it reads only the analytics topics (PII
planted in every restricted topic, and an invalid record with PII on an analytics topic, is found
nowhere in its tables or Parquet files), stores each event once (a duplicate publish, a second
run), a replay from offset 0 into an empty warehouse gives identical tables, an event with an
added optional field is read like any other, and the documented SQL runs."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaProducer

from sipuma.analytics.consumer import AnalyticsConsumer
from sipuma.analytics.subscription import analytics_topics
from sipuma.analytics.warehouse import Warehouse
from sipuma.shared import events as ev
from sipuma.shared import payloads as p
from sipuma.shared import topics
from sipuma.shared.cloudevents import encode, to_headers
from sipuma.shared.offices import OfficeDirectory
from sipuma.shared.samples import example
from sipuma.shared.settings import ServiceSettings
from sipuma.shared.topic_admin import ensure_topics
from tests.harness.endpoints import Endpoints

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
DOCS = Path(__file__).parents[4] / "docs" / "analytics.md"
OFFICES = ["KPUBC-TPK-TJPRIOK", "KPPBC-TMP-NGURAHRAI", "KPPBC-TMP-JAYAPURA"]  # WIB, WITA, WIT
PII = ["Siti Nur'aini", "pengadu@contoh.id", "+6281234567890", "Jl. Pattimura"]


async def _send(producer: AIOKafkaProducer, prefix: str, event: ev.Event, value: bytes) -> None:
    await producer.send_and_wait(
        prefix + topics.topic_for(event).name,
        value,
        key=str(event.complaint_id).encode(),
        headers=[(k, v.encode()) for k, v in to_headers(event).items()],
    )


def _stream(start: datetime) -> list[ev.Event]:
    """A small month of analytics events across three offices in three time zones."""
    out: list[ev.Event] = []
    for n in range(12):
        office = OFFICES[n % 3]
        cid = uuid4()
        received = start + timedelta(days=n, hours=n)
        common = {"office_code": office, "complaint_id": cid, "event_id": uuid4()}
        out.append(
            example(
                ev.ComplaintRegistered,
                **common,
                occurred_at=received + timedelta(minutes=2),
                registered_at=received + timedelta(minutes=2),
                received_at=received,
                channel=p.Channel.IN_PERSON if n % 2 else p.Channel.EMAIL,
                register_number=f"PGD/{office}/2026/{n + 1:06d}",
                sequence=n + 1,
            )
        )
        out.append(
            example(
                ev.NotificationSent if n % 4 else ev.NotificationFailed,
                **{**common, "event_id": uuid4()},
                occurred_at=received + timedelta(minutes=5 + 10 * (n % 4)),
            )
        )
        out.append(
            example(
                ev.EvidenceStored,
                **{**common, "event_id": uuid4()},
                occurred_at=received + timedelta(minutes=3),
                size_bytes=1000 * (n + 1),
            )
        )
        out.append(example(ev.ComplaintStatusChanged, **{**common, "event_id": uuid4()}))
        out.append(example(ev.ComplaintOverdue, **{**common, "event_id": uuid4()}))
        # Categories (issue 18): n = 0, 3, 6, 9 set once; n = 9 changed later; others none.
        if n % 3 == 0:
            at = received + timedelta(days=1)
            first = "pelayanan" if n < 6 else "pungutan-liar"
            out.append(
                example(
                    ev.ComplaintCategorised,
                    **{**common, "event_id": uuid4()},
                    category=first,
                    previous_category=None,
                    categorised_at=at,
                    occurred_at=at,
                )
            )
            if n == 9:
                later = at + timedelta(hours=3)
                out.append(
                    example(
                        ev.ComplaintCategorised,
                        **{**common, "event_id": uuid4()},
                        category="gratifikasi-suap",
                        previous_category=first,
                        categorised_at=later,
                        occurred_at=later,
                    )
                )
    return out


def _everything(warehouse: Warehouse, parquet: Path) -> str:
    text = json.dumps(warehouse.dump(), default=str)
    for file in sorted(parquet.rglob("*.parquet")):
        rows = warehouse.query(f"SELECT * FROM read_parquet('{file}') ORDER BY ALL")
        text += file.relative_to(parquet).as_posix() + json.dumps(rows, default=str)
    return text


async def test_analytics_only_once_replayable_and_evolvable(
    endpoints: Endpoints, unique_name, tmp_path: Path
) -> None:
    prefix = unique_name("an") + "."
    settings = ServiceSettings(kafka_bootstrap=endpoints.kafka_bootstrap, topic_prefix=prefix)
    await ensure_topics(
        endpoints.kafka_bootstrap, [settings.topic(s) for s in topics.ALL_TOPICS], partitions=3
    )
    stream = _stream(datetime(2026, 11, 1, 16, 30, tzinfo=UTC))
    producer = AIOKafkaProducer(
        bootstrap_servers=endpoints.kafka_bootstrap, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        for event in stream:
            await _send(producer, prefix, event, encode(event))
        await _send(producer, prefix, stream[0], encode(stream[0]))  # published twice
        # Personal data in every restricted topic...
        for cls in (ev.ComplaintReceived, ev.TicketIssued, ev.TrackingContactProvided):
            planted = example(cls, event_id=uuid4(), office_code=OFFICES[0])
            assert any(s.encode() in encode(planted) for s in PII)
            await _send(producer, prefix, planted, encode(planted))
        # ...and an invalid record carrying it on an analytics topic (refused, never stored).
        smuggled = json.loads(encode(stream[0]))
        smuggled |= {"event_id": str(uuid4()), "sequence": "Siti Nur'aini"}
        await _send(producer, prefix, stream[0], json.dumps(smuggled).encode())
        # Schema evolution: a producer already sends a new optional field.
        evolved = example(ev.ComplaintRegistered, event_id=uuid4(), office_code=OFFICES[1])
        body = json.loads(encode(evolved)) | {"priority_hint": "normal"}
        await _send(producer, prefix, evolved, json.dumps(body).encode())
    finally:
        await producer.stop()

    offices = OfficeDirectory.default()

    async def load(name: str) -> tuple[Warehouse, Path, AnalyticsConsumer, int]:
        warehouse = Warehouse(tmp_path / f"{name}.duckdb")
        consumer = AnalyticsConsumer(
            endpoints.kafka_bootstrap,
            analytics_topics(settings),
            warehouse,
            offices,
            prefix=prefix,
            parquet_dir=tmp_path / name,
            max_records=7,  # many small transactions
            timeout_ms=200,
        )
        stored = await consumer.run(until_caught_up=True)
        return warehouse, tmp_path / name, consumer, stored

    first, first_dir, consumer, stored = await load("first")
    try:
        assert stored == len(stream) + 1  # each event once, plus the evolved one
        assert {tp.topic for tp in consumer.assigned} == {
            prefix + s.name for s in topics.ANALYTICS_TOPICS
        }
        assert first.query("SELECT rejected FROM counters") == [(1,)]
        seen = _everything(first, first_dir)
        assert not [s for s in PII if s in seen]
        assert "priority_hint" in seen  # kept in the payload, not lost
        registered = first.query(
            "SELECT minutes_to_number FROM registered WHERE register_number = ?",
            [f"PGD/{OFFICES[0]}/2026/000001"],
        )
        assert registered == [(2.0,)]
        # Complaints per category: the current one (n=9's change counts once, as changed to),
        # the rest uncategorised. n = 0, 3, 6, 9 are all office OFFICES[0].
        per_category = first.query(
            "SELECT coalesce(c.category, 'uncategorised') AS category, count(*) "
            "FROM registered r LEFT JOIN complaint_categories c USING (complaint_id) "
            "GROUP BY ALL ORDER BY ALL"
        )
        assert per_category == [
            ("gratifikasi-suap", 1),
            ("pelayanan", 2),
            ("pungutan-liar", 1),
            ("uncategorised", 9),  # 8 of the month and the evolved one
        ]
        # Partitioned by office and the office's local day: 16:30 UTC on 1 Nov is still
        # 1 Nov in Jakarta (23:30 WIB) but 2 Nov in Makassar and Jayapura.
        folders = {f.parent.relative_to(first_dir).as_posix() for f in first_dir.rglob("*.parquet")}
        assert f"office_code={OFFICES[0]}/day=2026-11-01" in folders
        assert f"office_code={OFFICES[1]}/day=2026-11-03" in folders  # n=1: +1 day 1 h
        # A second run over the same warehouse adds nothing.
        assert await consumer.run(until_caught_up=True) == 0
        assert _everything(first, first_dir) == seen

        # Replay from offset 0 into an empty warehouse: identical tables and files.
        second, second_dir, _, _ = await load("second")
        try:
            assert second.dump() == first.dump()
            assert _everything(second, second_dir) == seen
        finally:
            second.close()

        # The documented SQL runs on the warehouse and answers something.
        blocks = re.findall(r"```sql\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
        assert len(blocks) >= 5
        for sql in blocks:
            assert first.query(sql), sql
    finally:
        first.close()
