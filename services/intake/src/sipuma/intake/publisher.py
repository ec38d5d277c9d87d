"""How intake publishes (the `Publisher` port): straight to Kafka while it answers and the spool
is empty, otherwise to the spool, so a later event never overtakes a spooled one.

`KafkaSender` is the producer: idempotent, acks=all, and honest about being unreachable.
`available` is False while no broker answers; events then go to the spool at once instead of
waiting. A background loop keeps reconnecting, so intake starts and serves (202 "queued") with
Kafka down, and the relay (`spool.py`) drains the spool as soon as a broker answers again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer

from sipuma.intake.domain import Delivery
from sipuma.intake.spool import OutgoingRecord, RecordSender, Spool
from sipuma.shared import events as ev
from sipuma.shared.cloudevents import encode, to_headers
from sipuma.shared.metrics import EVENTS_PUBLISHED
from sipuma.shared.tasks import bounded, cancel_and_wait
from sipuma.shared.topics import check_publishable

log = structlog.get_logger("sipuma.intake.publisher")


# (event class, topic) pairs already found publishable: the check reads only class-level facts
# (type, personal data) and the topic, so once per pair is enough (not once per complaint).
_PUBLISHABLE: set[tuple[type[ev.Event], str]] = set()


def record_of(topic: str, event: ev.Event) -> OutgoingRecord:
    """The Kafka record of an event: CloudEvents headers, keyed by complaint id (its order)."""
    # Right event type for the topic, restricted enough for personal data (prefixes included).
    if (type(event), topic) not in _PUBLISHABLE:
        check_publishable(event, topic)
        _PUBLISHABLE.add((type(event), topic))
    headers = tuple((k, v.encode()) for k, v in to_headers(event).items())
    return OutgoingRecord(topic, str(event.complaint_id).encode(), encode(event), headers)


class StoreAndForward:
    """The `Publisher` port: Kafka when it takes the event now, else the spool (on disk before
    the answer); either way the event reaches Kafka, in order per complaint."""

    def __init__(
        self, topics: Mapping[type[ev.Event], str], sender: RecordSender, spool: Spool
    ) -> None:
        self._topics = topics
        self._sender = sender
        self._spool = spool

    async def publish(self, event: ev.Event) -> Delivery:
        records = [record_of(self._topics[type(event)], event)]
        if not self._spool.pending and self._sender.available:
            acked = await self._sender.send_in_order(records)
            if acked == len(records):
                return Delivery.PUBLISHED
            records = records[acked:]
        await self._spool.append(records)
        return Delivery.QUEUED


def _event_type(record: OutgoingRecord) -> str:
    return next((v.decode() for k, v in record.headers if k == "ce_type"), "unknown")


class KafkaSender:
    def __init__(
        self,
        bootstrap: str,
        *,
        client_id: str = "sipuma-intake",
        send_timeout_s: float = 5.0,
        reconnect_s: float = 1.0,
        prepare_topics: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self._prepare_topics = prepare_topics
        self._bootstrap = bootstrap
        self._client_id = client_id
        self._send_timeout_s = send_timeout_s
        self._reconnect_s = reconnect_s
        self._producer: AIOKafkaProducer | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._retired: set[asyncio.Task[None]] = set()
        self._wanted = asyncio.Event()
        self.became_available = asyncio.Event()

    @property
    def available(self) -> bool:
        return self._producer is not None

    async def start(self, wait_s: float = 5.0) -> None:
        """Try to connect for up to `wait_s`; keep trying in the background after that."""
        self._loop_task = asyncio.create_task(self._connect_loop(), name="kafka-connect")
        self._wanted.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.became_available.wait(), timeout=wait_s)

    async def _connect_loop(self) -> None:
        failures = 0
        while True:
            await self._wanted.wait()
            if self._producer is not None:
                self._wanted.clear()
                continue
            producer = AIOKafkaProducer(
                bootstrap_servers=self._bootstrap,
                client_id=self._client_id,
                acks="all",
                enable_idempotence=True,
                linger_ms=0,  # batches form anyway while a request is in flight
                request_timeout_ms=int(self._send_timeout_s * 1000),
                retry_backoff_ms=100,
            )
            try:
                await producer.start()
            except Exception as exc:
                failures += 1
                if failures == 1 or failures % 30 == 0:  # say it, then now and then
                    log.warning("kafka_unreachable", error=type(exc).__name__, attempts=failures)
                await bounded(producer.stop(), timeout_s=2)
                await asyncio.sleep(min(self._reconnect_s * failures, 5.0))
                continue
            failures = 0
            if self._prepare_topics is not None:
                try:
                    await asyncio.wait_for(self._prepare_topics(), timeout=10)
                except Exception as exc:  # they may exist already; sends will tell
                    log.warning("topics_not_prepared", error=type(exc).__name__)
            log.info("kafka_connected")
            self._producer = producer
            self._wanted.clear()
            self.became_available.set()

    def _retire(self, producer: AIOKafkaProducer) -> None:
        """Drop a producer that failed; stop it in the background and connect a fresh one."""
        if self._producer is producer:
            self._producer = None
            self.became_available.clear()
            self._wanted.set()

        async def stop() -> None:
            await bounded(producer.stop(), timeout_s=self._send_timeout_s)

        task = asyncio.create_task(stop())
        self._retired.add(task)
        task.add_done_callback(self._retired.discard)

    async def send_in_order(self, records: Sequence[OutgoingRecord]) -> int:
        """Send, then wait for every ack; answer how many leading records were acknowledged.

        The idempotent producer keeps the order within each partition (key = complaint id)."""
        producer = self._producer
        if producer is None:
            return 0
        futures: list[asyncio.Future[Any]] = []
        try:
            for r in records:
                futures.append(
                    await producer.send(r.topic, r.value, key=r.key, headers=list(r.headers))
                )
        except Exception as exc:
            log.warning("kafka_send_failed", error=type(exc).__name__)
            self._retire(producer)
            for f in futures:
                f.cancel()
            return 0
        acked = 0
        for future in futures:
            try:
                # asyncio.timeout: no waiter future and task per ack as in wait_for (issue 15);
                # the shield keeps the producer's own future alive when the wait ends.
                async with asyncio.timeout(self._send_timeout_s):
                    await asyncio.shield(future)
            except Exception as exc:
                log.warning("kafka_ack_failed", error=type(exc).__name__, acked=acked)
                self._retire(producer)
                return acked
            acked += 1
            EVENTS_PUBLISHED.labels(records[acked - 1].topic, _event_type(records[acked - 1])).inc()
        return acked

    async def stop(self) -> None:
        if self._loop_task is not None:
            await cancel_and_wait(self._loop_task)
        producer, self._producer = self._producer, None
        if producer is not None:
            await bounded(producer.stop(), timeout_s=self._send_timeout_s)
        if self._retired:
            await bounded(asyncio.gather(*self._retired), timeout_s=self._send_timeout_s)
