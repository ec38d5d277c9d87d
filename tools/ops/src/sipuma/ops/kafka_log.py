"""The dead-letter topics on Kafka: read without a consumer group (nothing is committed, no group
is left behind), publish with the services' producer guarantees, delete with DeleteRecords."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete

from sipuma.ops.ports import Extent, Message


class KafkaDeadLetterLog:
    def __init__(self, bootstrap: str, timeout_s: float = 15.0) -> None:
        self._bootstrap = bootstrap
        self._timeout_ms = int(timeout_s * 1000)
        self._producer: AIOKafkaProducer | None = None

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    def _consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            group_id=None,
            enable_auto_commit=False,
            client_id="sipuma-dlq",
            request_timeout_ms=self._timeout_ms,
        )

    async def topics(self, pattern_prefix: str) -> list[str]:
        consumer = self._consumer()
        await consumer.start()
        try:
            return sorted(t for t in await consumer.topics() if t.startswith(pattern_prefix))
        finally:
            await consumer.stop()

    async def extents(self, topic: str) -> list[Extent]:
        partitions = await self._partitions(topic)
        if not partitions:
            return []
        consumer = self._consumer()
        await consumer.start()
        try:
            tps = [TopicPartition(topic, p) for p in partitions]
            first = await consumer.beginning_offsets(tps)
            end = await consumer.end_offsets(tps)
            return [Extent(tp.partition, first[tp], end[tp]) for tp in tps]
        finally:
            await consumer.stop()

    async def _partitions(self, topic: str) -> list[int]:
        """The topic's partitions; none when it does not exist (never asked for by name
        first: a metadata request for a missing topic may create it on a lenient broker)."""
        admin = self._admin()
        await admin.start()
        try:
            if topic not in set(await admin.list_topics()):
                return []
            (described,) = await admin.describe_topics([topic])
            return sorted(int(p["partition"]) for p in described["partitions"])
        finally:
            await admin.close()

    def _admin(self) -> AIOKafkaAdminClient:
        return AIOKafkaAdminClient(
            bootstrap_servers=self._bootstrap,
            client_id="sipuma-dlq",
            request_timeout_ms=self._timeout_ms,
        )

    async def read(self, topic: str, extents: Sequence[Extent]) -> list[Message]:
        wanted = [e for e in extents if e.count > 0]
        if not wanted:
            return []
        consumer = self._consumer()
        await consumer.start()
        try:
            tps = {e.partition: TopicPartition(topic, e.partition) for e in wanted}
            consumer.assign(list(tps.values()))
            for extent in wanted:
                consumer.seek(tps[extent.partition], extent.first)
            found: list[Message] = []
            remaining = {e.partition: e for e in wanted}
            deadline = asyncio.get_running_loop().time() + 4 * self._timeout_ms / 1000
            while remaining:
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError(f"{topic}: could not read partitions {sorted(remaining)}")
                batch = await consumer.getmany(*tps.values(), timeout_ms=1000)
                for tp, records in batch.items():
                    wanted_range = remaining.get(tp.partition)
                    if wanted_range is not None:
                        found.extend(
                            _message(r)
                            for r in records
                            if wanted_range.first <= r.offset < wanted_range.end
                        )
                # Done with a partition once its position reached the range's end (transaction
                # markers and deleted records leave holes in the offsets).
                for partition in list(remaining):
                    if await consumer.position(tps[partition]) >= remaining[partition].end:
                        remaining.pop(partition)
            return sorted(found, key=lambda m: (m.partition, m.offset))
        finally:
            await consumer.stop()

    async def publish(
        self, topic: str, key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]]
    ) -> None:
        if self._producer is None:
            self._producer = AIOKafkaProducer(
                bootstrap_servers=self._bootstrap,
                acks="all",
                enable_idempotence=True,
                client_id="sipuma-dlq",
                request_timeout_ms=self._timeout_ms,
            )
            await self._producer.start()
        await self._producer.send_and_wait(topic, value=value, key=key, headers=headers)

    async def delete_before(self, topic: str, offsets: dict[int, int]) -> None:
        admin = self._admin()
        await admin.start()
        try:
            await admin.delete_records(
                {TopicPartition(topic, p): RecordsToDelete(o) for p, o in offsets.items()},
                timeout_ms=self._timeout_ms,
            )
        finally:
            await admin.close()


def _message(r: ConsumerRecord[bytes, bytes]) -> Message:
    return Message(
        topic=r.topic,
        partition=r.partition,
        offset=r.offset,
        key=r.key,
        value=r.value,
        headers=tuple(r.headers or ()),
        timestamp_ms=r.timestamp,
    )
