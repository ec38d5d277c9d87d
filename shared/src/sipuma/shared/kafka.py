"""The broker every service uses, and one-line event subscribers with safe defaults.

Producer: idempotent, `acks="all"` (no duplicate, no loss once `publish_event` returned).

Consumer acknowledgement (FastStream 0.7 on Kafka): `ACK_FIRST` commits before the handler ran
(a crash loses the event) and is never used. `REJECT_ON_ERROR` is no better on Kafka: `reject`
*commits* the offset (Kafka has no per-message reject), so a failed handler would lose the event.
`NACK_ON_ERROR` seeks back to the failed message, so it is consumed again and nothing after it is
committed first: that is the default here. Poison messages do not loop forever because the
subscriber validates first and dead-letters what can never succeed (see `consumer.py`); only
errors that may pass (a database down) are retried, with backoff, holding the partition's order.

Offsets are committed per message with `consumer.commit()`, which commits everything fetched so
far; that is exact only with one message in flight, so `max_workers` stays 1 (scale out with
partitions and replicas instead).

Where one message at a time is too slow, `subscribe_event_batches` takes a whole poll (up to
`max_records`) and handles it with the same `EventConsumer` per record, several at once: records
with the same key (the complaint id) form one lane, handled in offset order; lanes run
concurrently. The batch is committed (again `consumer.commit()`, exact here: it commits what the
poll returned, all of it handled) only after every lane finished; if any record must be
retried, nothing of the batch is committed and each partition is rewound to its first record of
the batch, so the whole batch comes again — handlers dedupe by event id, so what already
succeeded is a no-op.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

import structlog
from aiokafka import ConsumerRecord
from faststream import AckPolicy
from faststream.exceptions import NackMessage
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.subscriber.usecase import BatchSubscriber, DefaultSubscriber
from faststream.message import StreamMessage
from structlog.contextvars import bind_contextvars, reset_contextvars

from sipuma.shared.consumer import (
    INVALID_HEADERS_MARK,
    DeadLetter,
    EventConsumer,
    raw_body,
    tolerant_parser,
)
from sipuma.shared.events import Event
from sipuma.shared.settings import ServiceSettings
from sipuma.shared.topics import TopicSpec, check_topics

DEFAULT_ACK_POLICY = AckPolicy.NACK_ON_ERROR
_settings: WeakKeyDictionary[KafkaBroker, ServiceSettings] = WeakKeyDictionary()

E = TypeVar("E", bound=Event)
Handler = TypeVar("Handler", bound=Callable[..., Awaitable[object]])

log = structlog.get_logger("sipuma.consumer")

__all__ = [
    "DEFAULT_ACK_POLICY",
    "DeadLetter",
    "EventBatchConsumer",
    "build_broker",
    "event_subscriber",
    "subscribe_event_batches",
    "subscribe_events",
    "subscribe_events_batched",
    "tolerant_batch_parser",
]


def build_broker(
    settings: ServiceSettings,
    logger: Any | None = None,
    **options: Any,
) -> KafkaBroker:
    """The service's broker; the same structlog logger as the app (redacted JSON)."""
    broker = KafkaBroker(
        # FastStream takes a single string as one host; "a:9092,b:9092" must be a list of them.
        [host.strip() for host in settings.kafka_bootstrap.split(",") if host.strip()],
        client_id=f"sipuma-{settings.service}",
        acks="all",
        enable_idempotence=True,
        ack_policy=DEFAULT_ACK_POLICY,
        allow_auto_create_topics=False,  # topics come from `ensure_topics`, with our settings
        graceful_timeout=settings.shutdown_grace_seconds,
        logger=logger if logger is not None else structlog.get_logger("sipuma.broker"),
        **options,
    )
    _settings[broker] = settings  # subscribers take their retry defaults from here
    return broker


def subscribe_events(
    broker: KafkaBroker,
    topic: TopicSpec,
    handler: Callable[[E], Awaitable[object]],
    *,
    group_id: str,
    accept: tuple[type[Event], ...] | None = None,
    retry_initial_seconds: float | None = None,
    retry_max_seconds: float | None = None,
    max_attempts: int | None = None,
    **options: Any,
) -> DefaultSubscriber:
    """Subscribe `handler` to the events of `topic` in consumer group `group_id`.

    `group_id` is the group as Kafka knows it (`settings.group_id`: the deployment's prefix,
    then the group name); its dead-letter topic is `<prefix>sipuma.dead-letter.<group name>.v1`
    (`ServiceSettings.dead_letter_topic`), the prefix taken from the broker's settings.

    The handler gets a validated event; it returns (commit), raises `DeadLetter` (dead-letter
    topic, commit) or raises anything else (retried with backoff). It must be idempotent: an
    event may come again after a crash, dedupe by `event_id`.
    """
    check_topics([topic])
    if options.get("max_workers", 1) != 1 or options.get("batch"):
        raise ValueError("one message in flight per subscriber: commits must not skip ahead")
    settings = _settings.get(broker) or ServiceSettings()
    consumer = EventConsumer(
        handler=handler,
        group_id=group_id,
        accept=accept or topic.event_types,
        dead_letters=broker.publisher(
            settings.dead_letter_topic(group_id.removeprefix(settings.topic_prefix)),
            include_in_schema=False,
        ),
        retry_initial_seconds=retry_initial_seconds or settings.consumer_retry_initial_seconds,
        retry_max_seconds=retry_max_seconds or settings.consumer_retry_max_seconds,
        max_attempts=max_attempts,
    )

    async def consume(message: KafkaMessage) -> None:
        await consumer.consume(message)

    consume.__name__ = getattr(handler, "__name__", "consume")
    consume.__doc__ = handler.__doc__
    options.setdefault("auto_offset_reset", "earliest")  # a new group must not skip old events
    subscriber: DefaultSubscriber = broker.subscriber(
        topic.name,
        group_id=group_id,
        ack_policy=DEFAULT_ACK_POLICY,
        parser=tolerant_parser,
        decoder=raw_body,
        title=f"{group_id}:{topic.name}",
        **options,
    )
    subscriber(consume)
    return subscriber


def event_subscriber(
    broker: KafkaBroker,
    topic: TopicSpec,
    *,
    group_id: str,
    **options: Any,
) -> Callable[[Handler], Handler]:
    """Decorator form: `@event_subscriber(broker, topics.COMPLAINT_RECEIVED, group_id="registry")`.
    The function is returned unchanged, so unit tests call it directly."""

    def register(handler: Handler) -> Handler:
        subscribe_events(broker, topic, handler, group_id=group_id, **options)
        return handler

    return register


# ---------------------------------------------------------------- batches


def _clean(record: ConsumerRecord[Any, Any]) -> ConsumerRecord[Any, Any]:
    """The record, or a copy whose header values are UTF-8 and marked for the dead letter:
    FastStream decodes every header of a batch at once, one bad value would sink the batch."""
    try:
        for _, value in record.headers:
            value.decode()
    except (UnicodeDecodeError, AttributeError):
        headers = [(k, (v or b"").decode("utf-8", "replace").encode()) for k, v in record.headers]
        return dataclasses.replace(record, headers=[*headers, (INVALID_HEADERS_MARK, b"1")])
    return record


async def tolerant_batch_parser(
    records: tuple[ConsumerRecord[Any, Any], ...],
    original: Callable[[tuple[ConsumerRecord[Any, Any], ...]], Awaitable[StreamMessage[Any]]],
) -> StreamMessage[Any]:
    """`tolerant_parser` for a batch: undecodable headers are marked per record. FastStream's
    parser decodes every header anyway; only when that fails is each record checked (a decode
    per header per record less on the usual path)."""
    try:
        return await original(records)
    except (UnicodeDecodeError, AttributeError):
        return await original(tuple(_clean(record) for record in records))


def _headers(record: ConsumerRecord[Any, Any]) -> dict[str, str]:
    return {key: value.decode() for key, value in record.headers}


@dataclasses.dataclass
class EventBatchConsumer:
    """One polled batch through `EventConsumer`, one lane per key, `concurrency` lanes at once.

    Returns when every record was handled or dead-lettered (the batch is then committed);
    raises `NackMessage` when any record is to be retried (nothing is committed, the batch
    comes again). A lane stops at its first failed record, so nothing of that key is handled
    out of order; other lanes finish their work, which the retry finds already done.

    Per poll, not per record: the log context's `group`, the lag gauge (each partition after its
    last handled offset) and the records' headers (FastStream's parser already decoded them);
    each record goes to `EventConsumer.handle_record` as it is, no message object built."""

    consumer: EventConsumer
    concurrency: int = 16
    retry_seconds: float = 0.5  # after an error outside the handler (e.g. dead-letter publish)

    async def consume(self, batch: StreamMessage[Any]) -> None:
        raw = batch.raw_message
        records: tuple[ConsumerRecord[Any, Any], ...] = raw if isinstance(raw, tuple) else (raw,)
        decoded: list[dict[str, str]] = getattr(batch, "batch_headers", None) or []
        if len(decoded) != len(records):  # not from the batch parser: decode them here
            records = tuple(_clean(record) for record in records)
            decoded = [_headers(record) for record in records]
        lanes: dict[Hashable, list[tuple[ConsumerRecord[Any, Any], dict[str, str]]]] = {}
        for record, headers in zip(records, decoded, strict=True):
            # Keyless records keep their partition's order.
            lane = record.key if record.key is not None else (record.topic, record.partition)
            lanes.setdefault(lane, []).append((record, headers))
        handled: dict[tuple[str, int], int] = {}  # the last offset handled per partition
        handle = self.consumer.handle_record

        async def run(lane: list[tuple[ConsumerRecord[Any, Any], dict[str, str]]]) -> bool:
            for record, headers in lane:
                try:
                    await handle(record, headers)
                except NackMessage:
                    return False  # EventConsumer logged it and waited its backoff
                except Exception as error:  # e.g. the dead-letter publish: retried
                    # The type only: exception messages may quote personal data.
                    log.warning(
                        "batch_record_failed",
                        topic=record.topic,
                        partition=record.partition,
                        offset=record.offset,
                        error=type(error).__name__,
                    )
                    await asyncio.sleep(self.retry_seconds)
                    return False
                where = (record.topic, record.partition)
                if record.offset > handled.get(where, -1):
                    handled[where] = record.offset
            return True

        gate = asyncio.Semaphore(self.concurrency)

        async def gated(lane: list[tuple[ConsumerRecord[Any, Any], dict[str, str]]]) -> bool:
            async with gate:
                return await run(lane)

        # Fewer lanes than the gate admits (the usual poll): no lane would ever wait at it.
        lane_task = run if len(lanes) <= self.concurrency else gated
        # The lanes' tasks copy the context when gather makes them: `group` is bound once.
        bound = bind_contextvars(group=self.consumer.group_id)
        try:
            results = await asyncio.gather(*(lane_task(lane) for lane in lanes.values()))
        finally:
            reset_contextvars(**bound)
        self.consumer.record_lag(getattr(batch, "consumer", None), handled)
        if not all(results):
            raise NackMessage()


def subscribe_event_batches(
    broker: KafkaBroker,
    topic_names: Sequence[str],
    consumer: EventConsumer,
    *,
    max_records: int = 200,
    concurrency: int = 16,
    batch_timeout_ms: int = 5,
    **options: Any,
) -> BatchSubscriber:
    """Subscribe `consumer` (its group) to `topic_names`, a poll of up to `max_records` at a
    time, committed after the whole poll was handled (see `EventBatchConsumer`).

    `batch_timeout_ms` is short on purpose: a poll returns as soon as records are there, but
    FastStream sleeps that long again after an empty poll, so an event arriving during the sleep
    waited up to 2 × 50 ms before (a fixed wait on every idle hop; bench/pipeline_trace.py).

    `options` go to `broker.subscriber` (title, session timeouts, assignors, ...); `batch`,
    `ack_policy`, `parser` and `decoder` are fixed here, `max_workers` is refused: the batch is
    the unit of concurrency and of commit."""
    if options.get("max_workers", 1) != 1 or "ack_policy" in options:
        raise ValueError("a batch is committed once, after it was handled: no workers, own acks")
    batches = EventBatchConsumer(
        consumer, concurrency=concurrency, retry_seconds=consumer.retry_initial_seconds
    )

    async def consume(batch: KafkaMessage) -> None:
        await batches.consume(batch)

    consume.__name__ = getattr(consumer.handler, "__name__", "consume")
    consume.__doc__ = consumer.handler.__doc__
    options.setdefault("auto_offset_reset", "earliest")  # a new group must not skip old events
    subscriber: BatchSubscriber = broker.subscriber(
        *topic_names,
        group_id=consumer.group_id,
        batch=True,
        max_records=max_records,
        batch_timeout_ms=batch_timeout_ms,
        ack_policy=DEFAULT_ACK_POLICY,
        parser=tolerant_batch_parser,
        decoder=raw_body,
        **options,
    )
    subscriber(consume)
    return subscriber


def subscribe_events_batched(
    broker: KafkaBroker,
    specs: Sequence[TopicSpec],
    handler: Callable[[Any], Awaitable[object]],
    *,
    group_id: str,
    max_records: int = 200,
    concurrency: int = 200,
    batch_timeout_ms: int = 5,
    **options: Any,
) -> BatchSubscriber:
    """`subscribe_events` for a whole poll at a time: `handler` on the events of `specs` (their
    names as this deployment knows them) in consumer group `group_id` (prefixed, as there), the
    same dead-letter topic and retry settings, one lane per key (`subscribe_event_batches`).
    One commit per poll instead of one per event: for a handler whose work is small next to a
    commit round trip (e.g. a grouped upsert)."""
    check_topics(list(specs))
    settings = _settings.get(broker) or ServiceSettings()
    consumer = EventConsumer(
        handler=handler,
        group_id=group_id,
        accept=tuple(cls for spec in specs for cls in spec.event_types),
        dead_letters=broker.publisher(
            settings.dead_letter_topic(group_id.removeprefix(settings.topic_prefix)),
            include_in_schema=False,
        ),
        retry_initial_seconds=settings.consumer_retry_initial_seconds,
        retry_max_seconds=settings.consumer_retry_max_seconds,
    )
    options.setdefault("title", f"{group_id}:{','.join(spec.name for spec in specs)}")
    return subscribe_event_batches(
        broker,
        [spec.name for spec in specs],
        consumer,
        max_records=max_records,
        concurrency=concurrency,
        batch_timeout_ms=batch_timeout_ms,
        **options,
    )
