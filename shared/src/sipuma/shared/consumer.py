"""What happens to one consumed message: decode, hand to the service, then commit, retry or
dead-letter it.

- not a valid event (headers, body, or they disagree)  → dead-letter topic, commit, go on;
- the handler raises `DeadLetter`                      → dead-letter topic, commit, go on;
- the handler raises anything else                     → back off, `nack` (seek back): the same
  message comes again, nothing after it is committed before it (no loss, order kept);
- the handler returns                                  → commit.
"""

from __future__ import annotations

import asyncio
import dataclasses
import traceback
from collections.abc import Awaitable, Callable, Collection, Mapping
from datetime import UTC, datetime
from time import perf_counter
from typing import Any

import structlog
from aiokafka import ConsumerRecord, TopicPartition
from faststream.exceptions import HandlerException, NackMessage
from faststream.kafka.publisher.usecase import DefaultPublisher
from faststream.message import StreamMessage
from structlog.contextvars import bind_contextvars, reset_contextvars

from sipuma.shared.cloudevents import decode_message
from sipuma.shared.correlation import correlation_scope
from sipuma.shared.events import Event, InvalidEvent
from sipuma.shared.metrics import CONSUMER_LAG, EVENTS_CONSUMED, HANDLER_SECONDS
from sipuma.shared.tracing import consumer_span

INVALID_HEADERS_MARK = "x-sipuma-invalid-header-bytes"
DEAD_LETTER_HEADER = "x-sipuma-dead-letter-"  # prefix of the headers added on dead-lettering
log = structlog.get_logger("sipuma.consumer")


class DeadLetter(Exception):
    """Raise from a handler for a valid event that can never be processed (retrying cannot help).
    `detail` goes into logs and headers: name fields, never values."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail


async def tolerant_parser(
    record: ConsumerRecord[Any, Any],
    original: Callable[[ConsumerRecord[Any, Any]], Awaitable[StreamMessage[Any]]],
) -> StreamMessage[Any]:
    """FastStream decodes header values as UTF-8 before any handler runs; a header that is not
    (or is null) would crash the parser and skip the message unseen. Mark it for the dead letter."""
    try:
        return await original(record)
    except (UnicodeDecodeError, AttributeError):
        headers = [(k, (v or b"").decode("utf-8", "replace").encode()) for k, v in record.headers]
        clean = dataclasses.replace(record, headers=[*headers, (INVALID_HEADERS_MARK, b"1")])
        if hasattr(record, "consumer"):
            clean.consumer = record.consumer
        return await original(clean)


async def raw_body(message: StreamMessage[Any]) -> Any:
    """Leave the body as bytes: decoding and validation are ours, so they can dead-letter."""
    return message.body


def _where(error: BaseException) -> str:
    """Error type and innermost frame only: exception messages may quote personal data."""
    frames = traceback.extract_tb(error.__traceback__)
    place = f" at {frames[-1].filename}:{frames[-1].lineno} in {frames[-1].name}" if frames else ""
    return f"{type(error).__name__}{place}"


@dataclasses.dataclass
class _Meters:
    """One consumer's metric children for one topic, resolved once: `labels(...)` per record
    was a lock and a dict lookup each time (bench/consumer_counts.py)."""

    seconds: Any
    processed: Any
    retried: Any
    dead_lettered: Any


@dataclasses.dataclass
class EventConsumer:
    handler: Callable[[Any], Awaitable[object]]
    group_id: str
    accept: Collection[type[Event]]
    dead_letters: DefaultPublisher
    retry_initial_seconds: float = 0.5
    retry_max_seconds: float = 30.0
    max_attempts: int | None = None  # None: retry until it works (the partition waits)
    _attempts: dict[tuple[str, int, int], int] = dataclasses.field(default_factory=dict)
    _meters: dict[str, _Meters] = dataclasses.field(default_factory=dict)

    async def consume(self, message: StreamMessage[Any]) -> None:
        """One message as FastStream parses a single record (`subscribe_events`)."""
        record: ConsumerRecord[Any, Any] = message.raw_message
        bound = bind_contextvars(group=self.group_id)
        try:
            await self.handle_record(record, message.headers)
        finally:
            reset_contextvars(**bound)
        self.record_lag(
            getattr(message, "consumer", None), {(record.topic, record.partition): record.offset}
        )

    async def handle_record(
        self, record: ConsumerRecord[Any, Any], headers: Mapping[str, str]
    ) -> None:
        """Decode, handle, dead-letter or raise `NackMessage` for one record; `headers` are its
        headers decoded (as FastStream decodes them). The caller binds `group` to the log
        context (once per poll in `kafka.EventBatchConsumer`); this binds where the record is
        from (and, for a valid event, its ids in the same bind) and restores it after (tokens,
        not `bound_contextvars`, which copies the whole context twice per record)."""
        try:
            if INVALID_HEADERS_MARK in headers:
                raise InvalidEvent("invalid_header_bytes", "header not UTF-8 or null")
            meta, event = decode_message(headers, bytes(record.value or b""), self.accept)
        except InvalidEvent as invalid:
            bound = bind_contextvars(
                topic=record.topic, partition=record.partition, offset=record.offset
            )
            try:
                await self.dead_letter(record, headers, invalid.code, invalid.detail)
            finally:
                reset_contextvars(**bound)
        else:
            await self._handle(record, headers, event, meta.id)

    def _meters_for(self, topic: str) -> _Meters:
        meters = self._meters.get(topic)
        if meters is None:
            labels = {"group": self.group_id, "topic": topic}
            meters = self._meters[topic] = _Meters(
                seconds=HANDLER_SECONDS.labels(**labels),
                processed=EVENTS_CONSUMED.labels(outcome="processed", **labels),
                retried=EVENTS_CONSUMED.labels(outcome="retried", **labels),
                dead_lettered=EVENTS_CONSUMED.labels(outcome="dead_lettered", **labels),
            )
        return meters

    async def _handle(
        self,
        record: ConsumerRecord[Any, Any],
        headers: Mapping[str, str],
        event: Event,
        event_id: str,  # `ce_id`, which `decode_message` found equal to str(event.event_id)
    ) -> None:
        position = (record.topic, record.partition, record.offset)
        meters = self._meters_for(record.topic)
        with (
            correlation_scope(
                event.correlation_id,
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                event_id=event_id,
                event_type=event.event_type,
            ),
            consumer_span(headers, record.topic, record.partition, record.offset, event.event_type),
        ):
            try:
                started = perf_counter()  # what prometheus_client's `time()` measures with
                try:
                    await self.handler(event)
                finally:
                    meters.seconds.observe(perf_counter() - started)
            except HandlerException:
                raise  # FastStream's own AckMessage / NackMessage: its documented meaning
            except DeadLetter as refused:
                self._attempts.pop(position, None)
                await self.dead_letter(record, headers, refused.code, refused.detail)
                return
            except Exception as error:
                attempts = self._attempts[position] = self._attempts.get(position, 0) + 1
                if self.max_attempts is not None and attempts >= self.max_attempts:
                    self._attempts.pop(position, None)
                    await self.dead_letter(record, headers, "handler_failed", _where(error))
                    return
                delay = min(
                    self.retry_max_seconds, self.retry_initial_seconds * 2 ** (attempts - 1)
                )
                log.warning(
                    "handler_failed_will_retry",
                    attempt=attempts,
                    retry_in_seconds=delay,
                    error=_where(error),
                )
                meters.retried.inc()
                await asyncio.sleep(delay)
                raise NackMessage() from None
            if self._attempts:
                self._attempts.pop(position, None)
            meters.processed.inc()

    async def dead_letter(
        self, record: ConsumerRecord[Any, Any], headers: Mapping[str, str], code: str, detail: str
    ) -> None:
        """Original value, key and headers plus why, where from and when; then the offset is
        committed. If this publish fails the exception nacks the message: it is retried."""
        out = dict(headers)
        out.update(
            {
                f"{DEAD_LETTER_HEADER}reason": code,
                f"{DEAD_LETTER_HEADER}detail": detail[:1000],
                f"{DEAD_LETTER_HEADER}topic": record.topic,
                f"{DEAD_LETTER_HEADER}partition": str(record.partition),
                f"{DEAD_LETTER_HEADER}offset": str(record.offset),
                f"{DEAD_LETTER_HEADER}group": self.group_id,
                f"{DEAD_LETTER_HEADER}at": datetime.now(UTC).isoformat(),
            }
        )
        await self.dead_letters.publish(
            bytes(record.value or b""),
            key=record.key,
            headers=out,
            correlation_id=out.get("correlation_id"),
        )
        log.warning(
            "message_dead_lettered",
            reason=code,
            detail=detail,
            dead_letter_topic=self.dead_letters.topic,
        )
        self._meters_for(record.topic).dead_lettered.inc()

    def record_lag(self, source: Any, last: Mapping[tuple[str, int], int]) -> None:
        """The lag gauge of each partition after its last handled offset in `last`: once per
        partition per poll, not per record (the high watermark only moves with a fetch)."""
        highwater = getattr(source, "highwater", None)
        if highwater is None:
            return
        for (topic, partition), offset in last.items():
            end = highwater(TopicPartition(topic, partition))
            if isinstance(end, int):
                lag = max(0, end - offset - 1)
                CONSUMER_LAG.labels(self.group_id, topic, str(partition)).set(lag)
