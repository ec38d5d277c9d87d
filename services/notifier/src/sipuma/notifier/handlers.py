"""Kafka entry point: `TicketIssued` in (a batch at a time), deliveries recorded, then the
offsets committed.

The subscriber takes up to `consume_batch` records per poll (FastStream batch subscriber, one
batch in flight). For the batch:
1. every record is decoded and validated; one that is not a valid `TicketIssued` is set aside;
2. the deliveries of all valid tickets are recorded in **one** unordered insert (duplicates —
   a redelivery, a replay, the same ticket twice — are refused per document and skipped);
3. the records set aside go to the dead-letter topic (the same headers as the shared
   `EventConsumer` writes);
4. the new deliveries are handed to the dispatcher's workers, which send them while the consumer
   goes on with the next batch; the handler returns and the offsets are committed: the log, not
   the offset, holds the work from then on.

If step 2 or 3 fails (store or Kafka down) the handler backs off and raises `NackMessage`: each
partition of the batch is sought back to its first record and the whole batch comes again
(recording it again is harmless; a dead letter may be written twice). Nothing is committed
before the deliveries are durably in the log, and a crash at any later point leaves them there
for the dispatcher (of this or any replica). Sending never holds a partition.

Language: the complainant's choice travels in `TicketIssued.contact.language` (Indonesian unless
they asked for English).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

import structlog
from aiokafka import ConsumerRecord, TopicPartition
from faststream.exceptions import HandlerException, NackMessage
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.subscriber.usecase import BatchSubscriber
from faststream.message import StreamMessage

from sipuma.notifier.dispatcher import Dispatcher
from sipuma.notifier.service import Notifier
from sipuma.notifier.settings import Language, NotifierSettings
from sipuma.shared import topics
from sipuma.shared.cloudevents import decode_message
from sipuma.shared.consumer import INVALID_HEADERS_MARK, EventConsumer, raw_body
from sipuma.shared.events import InvalidEvent, TicketIssued
from sipuma.shared.kafka import DEFAULT_ACK_POLICY
from sipuma.shared.metrics import CONSUMER_LAG, EVENTS_CONSUMED, HANDLER_SECONDS

log = structlog.get_logger("sipuma.consumer")
Records = tuple[ConsumerRecord[Any, Any], ...]


async def tolerant_batch_parser(
    records: Records,
    original: Callable[[Records], Awaitable[StreamMessage[Any]]],
) -> StreamMessage[Any]:
    """The batch form of the shared `tolerant_parser`: FastStream decodes every header value as
    UTF-8 before any handler runs, and one bad header would fail the whole batch unseen. The
    records with such a header are marked for the dead letter; the others are untouched."""
    try:
        return await original(records)
    except (UnicodeDecodeError, AttributeError):
        return await original(tuple(_mark_invalid_headers(r) for r in records))


def _mark_invalid_headers(record: ConsumerRecord[Any, Any]) -> ConsumerRecord[Any, Any]:
    try:
        for _, value in record.headers:
            value.decode("utf-8")
    except (UnicodeDecodeError, AttributeError):
        headers = [(k, (v or b"").decode("utf-8", "replace").encode()) for k, v in record.headers]
        return dataclasses.replace(record, headers=[*headers, (INVALID_HEADERS_MARK, b"1")])
    return record


@dataclasses.dataclass
class _One:
    """What `EventConsumer.dead_letter` reads of a message, for one record of a batch."""

    raw_message: ConsumerRecord[Any, Any]
    headers: dict[str, str]


@dataclasses.dataclass
class TicketBatchConsumer:
    notifier: Notifier
    dispatcher: Dispatcher
    shared: EventConsumer  # its dead-letter writer and retry settings
    _attempts: dict[tuple[str, int, int], int] = dataclasses.field(default_factory=dict)

    async def consume(self, message: StreamMessage[Any]) -> None:
        records: Records = message.raw_message
        if not records:
            return
        headers: list[dict[str, str]] = list(getattr(message, "batch_headers", None) or [])
        tickets: list[tuple[TicketIssued, Language | None]] = []
        invalid: list[tuple[_One, InvalidEvent]] = []
        for record, record_headers in zip(records, headers, strict=True):
            try:
                if INVALID_HEADERS_MARK in record_headers:
                    raise InvalidEvent("invalid_header_bytes", "header not UTF-8 or null")
                _, event = decode_message(
                    record_headers, bytes(record.value or b""), (TicketIssued,)
                )
            except InvalidEvent as refused:
                invalid.append((_One(record, record_headers), refused))
                continue
            if isinstance(event, TicketIssued):
                tickets.append((event, event.contact.language.value))
        first = records[0]
        position = (first.topic, first.partition, first.offset)
        labels = {"group": self.shared.group_id, "topic": first.topic}
        started = time.perf_counter()
        try:
            new = await self.notifier.record_many(tickets)
            for one, error in invalid:
                await self.shared.dead_letter(
                    cast(StreamMessage[Any], one), error.code, error.detail
                )
        except HandlerException:
            raise
        except Exception as error:
            attempts = self._attempts[position] = self._attempts.get(position, 0) + 1
            delay = min(
                self.shared.retry_max_seconds,
                self.shared.retry_initial_seconds * 2 ** (attempts - 1),
            )
            log.warning(
                "handler_failed_will_retry",
                attempt=attempts,
                retry_in_seconds=delay,
                records=len(records),
                error=type(error).__name__,
            )
            EVENTS_CONSUMED.labels(outcome="retried", **labels).inc(len(tickets))
            await asyncio.sleep(delay)
            raise NackMessage() from None
        self._attempts.pop(position, None)
        HANDLER_SECONDS.labels(**labels).observe(time.perf_counter() - started)
        EVENTS_CONSUMED.labels(outcome="processed", **labels).inc(len(tickets))
        for key, doc in new:
            if not self.notifier.cooling(doc["channel"]):  # else: the dispatcher, when due
                self.dispatcher.offer(key, doc)
        self._record_lag(message, records)

    def _record_lag(self, message: StreamMessage[Any], records: Records) -> None:
        highwater = getattr(getattr(message, "consumer", None), "highwater", None)
        if highwater is None:
            return
        last: dict[tuple[str, int], int] = {}
        for record in records:
            last[(record.topic, record.partition)] = record.offset
        for (topic, partition), offset in last.items():
            end = highwater(TopicPartition(topic, partition))
            if isinstance(end, int):
                CONSUMER_LAG.labels(self.shared.group_id, topic, str(partition)).set(
                    max(0, end - offset - 1)
                )


def register(
    broker: KafkaBroker, notifier: Notifier, dispatcher: Dispatcher, settings: NotifierSettings
) -> BatchSubscriber:
    async def unused(event: Any) -> None:  # the batch consumer calls the notifier itself
        raise AssertionError("not called")

    shared = EventConsumer(
        handler=unused,
        group_id=settings.group_id,
        accept=(TicketIssued,),
        dead_letters=broker.publisher(
            settings.topic(topics.dead_letter_topic(settings.consumer_group)),
            include_in_schema=False,
        ),
        retry_initial_seconds=settings.consumer_retry_initial_seconds,
        retry_max_seconds=settings.consumer_retry_max_seconds,
    )
    consumer = TicketBatchConsumer(notifier, dispatcher, shared)

    async def send_ticket_notifications(message: KafkaMessage) -> None:
        """Send the ticket numbers by e-mail and/or SMS, once per ticket and channel."""
        await consumer.consume(message)

    subscriber: BatchSubscriber = broker.subscriber(
        settings.topic(topics.TICKET_ISSUED.name),
        group_id=settings.group_id,
        ack_policy=DEFAULT_ACK_POLICY,
        auto_offset_reset="earliest",
        batch=True,
        max_records=settings.consume_batch,
        batch_timeout_ms=settings.consume_batch_wait_ms,
        parser=tolerant_batch_parser,
        decoder=raw_body,
        title="notifier:ticket-issued",
        description="Ticket numbers to send by e-mail and SMS",
    )
    subscriber(send_ticket_notifications)
    return subscriber
