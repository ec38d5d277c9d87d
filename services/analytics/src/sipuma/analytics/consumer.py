"""Reading the analytics topics from the beginning into the warehouse.

No consumer group: the partitions of the analytics topics are assigned by hand and each is read
from the position the warehouse holds (offset 0 for a new one), so the warehouse — not Kafka —
is the one record of how far it got, written in the same transaction as the rows. A record that
is not a valid analytics event (wrong type, invalid payload) is counted, never stored: the
warehouse must hold nothing the contracts do not allow on an analytics topic.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC
from pathlib import Path

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from sipuma.analytics.subscription import accepted_events, check_subscription
from sipuma.analytics.warehouse import Row, Warehouse
from sipuma.shared.cloudevents import decode_message
from sipuma.shared.events import Event, InvalidEvent
from sipuma.shared.offices import OfficeDirectory

log = structlog.get_logger(__name__)


def to_row(event: Event, offices: OfficeDirectory, raw: bytes) -> Row:
    office = offices.get(event.office_code)
    local = event.occurred_at.astimezone(office.zone if office else UTC)
    return Row(
        event_id=str(event.event_id),
        event_type=event.event_type,
        office_code=event.office_code,
        day=local.date(),
        complaint_id=str(event.complaint_id),
        occurred_at=event.occurred_at,
        payload=raw.decode(),
    )


class AnalyticsConsumer:
    def __init__(
        self,
        bootstrap: str,
        topics: Sequence[str],
        warehouse: Warehouse,
        offices: OfficeDirectory,
        *,
        prefix: str = "",
        parquet_dir: Path | None = None,
        max_records: int = 1000,
        timeout_ms: int = 1000,
    ) -> None:
        self._topics = check_subscription(topics, prefix)
        self._bootstrap = bootstrap
        self._warehouse = warehouse
        self._offices = offices
        self._parquet = parquet_dir
        self._max_records = max_records
        self._timeout_ms = timeout_ms
        self._accept = accepted_events()
        self.assigned: list[TopicPartition] = []

    def _decode(self, record: ConsumerRecord[bytes, bytes]) -> Row | None:
        headers = {k: v.decode() for k, v in record.headers}
        try:
            _, event = decode_message(headers, record.value or b"", self._accept)
        except (InvalidEvent, UnicodeDecodeError):
            return None
        return to_row(event, self._offices, record.value or b"")

    async def _partitions(self) -> list[TopicPartition]:
        admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap)
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            present = [topic for topic in self._topics if topic in existing]
            if len(present) < len(self._topics):  # not created yet: nothing to read there
                log.warning("analytics.topics_missing", count=len(self._topics) - len(present))
            described = await admin.describe_topics(present) if present else []
        finally:
            await admin.close()
        return [
            TopicPartition(topic["topic"], part["partition"])
            for topic in sorted(described, key=lambda topic: topic["topic"])
            for part in sorted(topic["partitions"], key=lambda part: part["partition"])
        ]

    async def run(self, stop: asyncio.Event | None = None, *, until_caught_up: bool = False) -> int:
        """Read and store until `stop` (or, with `until_caught_up`, until every partition is at
        the end it had when the pass began). Answers how many new rows were stored."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap, group_id=None, enable_auto_commit=False
        )
        await consumer.start()
        stored = 0
        try:
            parts = await self._partitions()
            consumer.assign(parts)
            self.assigned = parts
            known = self._warehouse.positions()
            for tp in parts:
                if (tp.topic, tp.partition) in known:
                    consumer.seek(tp, known[(tp.topic, tp.partition)])
                else:
                    await consumer.seek_to_beginning(tp)
            ends = await consumer.end_offsets(parts) if parts else {}
            while not (stop and stop.is_set()):
                if until_caught_up:
                    at = [await consumer.position(tp) for tp in parts]
                    if all(pos >= ends[tp] for pos, tp in zip(at, parts, strict=True)):
                        break
                batch = await consumer.getmany(
                    timeout_ms=self._timeout_ms, max_records=self._max_records
                )
                if not batch:
                    continue
                stored += self._store(batch)
        finally:
            await consumer.stop()
        return stored

    def _store(self, batch: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]) -> int:
        rows: list[Row] = []
        positions: dict[tuple[str, int], int] = {}
        rejected = 0
        for tp, records in batch.items():
            for record in records:
                row = self._decode(record)
                if row is None:
                    rejected += 1
                else:
                    rows.append(row)
            positions[(tp.topic, tp.partition)] = records[-1].offset + 1
        before = self._count()
        touched = self._warehouse.ingest(rows, positions, rejected)
        if rejected:
            log.warning("analytics.rejected", count=rejected)
        if self._parquet is not None:
            self._warehouse.export(self._parquet, touched)
        return self._count() - before

    def _count(self) -> int:
        return int(self._warehouse.query("SELECT count(*) FROM events")[0][0])
