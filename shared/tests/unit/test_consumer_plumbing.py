"""What the shared consumer puts around each record, in memory (no Kafka): the log context a
handler and a dead-letter see, the correlation id and trace passed on, the metrics and the lag
gauge after a poll. These hold whatever makes the per-record path cheap (bench/consumer_counts)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
import structlog
from aiokafka import ConsumerRecord, TopicPartition
from faststream.kafka.message import KafkaMessage
from faststream.kafka.parser import AioKafkaBatchParser, AioKafkaParser
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from sipuma.shared import cloudevents as ce
from sipuma.shared import events as ev
from sipuma.shared.consumer import DeadLetter, EventConsumer
from sipuma.shared.correlation import current_correlation_id
from sipuma.shared.kafka import EventBatchConsumer, tolerant_batch_parser
from sipuma.shared.metrics import CONSUMER_LAG, EVENTS_CONSUMED, HANDLER_SECONDS
from sipuma.shared.samples import example
from sipuma.shared.tracing import trace_headers

pytestmark = pytest.mark.unit
TOPIC = "plumbing.complaint.received.v1"
PLACE = ("group", "topic", "partition", "offset")
EVENT = ("correlation_id", "event_id", "event_type")


class Source:
    """The aiokafka consumer as the subscriber sees it: only `highwater` is read."""

    def __init__(self, end: dict[int, int]) -> None:
        self.end = end
        self.calls: list[int] = []

    def highwater(self, partition: TopicPartition) -> int:
        self.calls.append(partition.partition)
        return self.end[partition.partition]


class DeadLetters:
    topic = "plumbing.dead-letter.v1"

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    async def publish(self, body: bytes, **kwargs: Any) -> None:
        self.seen.append(
            {"headers": kwargs["headers"], "log": structlog.contextvars.get_contextvars()}
        )


def record(
    e: ev.Event | None, partition: int, offset: int, *, key: bytes, headers: Any = None
) -> ConsumerRecord[bytes, bytes]:
    value = ce.encode(e) if e is not None else b"{not json"
    if headers is None:
        headers = [(k, v.encode()) for k, v in ce.to_headers(e).items()] if e is not None else []
    return ConsumerRecord(
        topic=TOPIC,
        partition=partition,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=key,
        value=value,
        checksum=None,
        serialized_key_size=len(key),
        serialized_value_size=len(value),
        headers=headers,
    )


def received() -> ev.ComplaintReceived:
    return example(
        ev.ComplaintReceived,
        event_id=uuid.uuid4(),
        complaint_id=uuid.uuid4(),
        correlation_id=uuid.uuid4().hex,
    )


async def run_batch(consumer: EventConsumer, records: list[Any], source: Source) -> None:
    parser = AioKafkaBatchParser(KafkaMessage, None)  # FastStream's, as the subscriber has it
    parser._setup(source)  # type: ignore[arg-type]
    batch = await tolerant_batch_parser(tuple(records), parser.parse_batch)
    await EventBatchConsumer(consumer).consume(batch)


def metric(name: str, labels: dict[str, str]) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_handler_and_dead_letter_see_their_own_record_in_the_log_context() -> None:
    group = f"g-{uuid.uuid4().hex[:8]}"
    seen: list[tuple[dict[str, Any], str]] = []

    async def handler(event: ev.Event) -> None:
        seen.append((structlog.contextvars.get_contextvars(), current_correlation_id()))

    dead = DeadLetters()
    consumer = EventConsumer(handler, group, (ev.ComplaintReceived,), dead)  # type: ignore[arg-type]
    first, second = received(), received()
    key = str(first.complaint_id).encode()
    # One lane (one key): a valid record, then poison, then another valid one.
    records = [
        record(first, 1, 10, key=key),
        record(None, 1, 11, key=key),
        record(second, 1, 12, key=key),
    ]
    before = structlog.contextvars.get_contextvars()
    await run_batch(consumer, records, Source({1: 13}))

    assert [(ctx["offset"], correlation) for ctx, correlation in seen] == [
        (10, first.correlation_id),
        (12, second.correlation_id),
    ]
    for (ctx, _), e, offset in zip(seen, (first, second), (10, 12), strict=True):
        assert {k: ctx[k] for k in PLACE + EVENT} == {
            "group": group,
            "topic": TOPIC,
            "partition": 1,
            "offset": offset,
            "correlation_id": e.correlation_id,
            "event_id": str(e.event_id),
            "event_type": e.event_type,
        }
    [poison] = dead.seen
    assert {k: poison["log"].get(k) for k in PLACE} == {
        "group": group,
        "topic": TOPIC,
        "partition": 1,
        "offset": 11,
    }
    assert not set(EVENT) & set(poison["log"])  # nothing left over from the record before
    assert poison["headers"]["x-sipuma-dead-letter-offset"] == "11"
    assert structlog.contextvars.get_contextvars() == before  # the caller's context is restored


async def test_a_single_message_keeps_its_log_context_too() -> None:
    """`subscribe_events`' path: `consume(message)` with a message as FastStream parses it."""
    group = f"g-{uuid.uuid4().hex[:8]}"
    seen: list[dict[str, Any]] = []

    async def handler(event: ev.Event) -> None:
        seen.append(structlog.contextvars.get_contextvars())

    consumer = EventConsumer(handler, group, (ev.ComplaintReceived,), DeadLetters())  # type: ignore[arg-type]
    e = received()
    source = Source({0: 8})
    parser = AioKafkaParser(KafkaMessage, None)
    parser._setup(source)  # type: ignore[arg-type]
    await consumer.consume(await parser.parse_message(record(e, 0, 5, key=b"k")))
    assert {k: seen[0][k] for k in PLACE + EVENT} == {
        "group": group,
        "topic": TOPIC,
        "partition": 0,
        "offset": 5,
        "correlation_id": e.correlation_id,
        "event_id": str(e.event_id),
        "event_type": e.event_type,
    }
    assert CONSUMER_LAG.labels(group, TOPIC, "0")._value.get() == 2
    assert structlog.contextvars.get_contextvars() == {}


async def test_metrics_and_lag_after_a_poll() -> None:
    group = f"g-{uuid.uuid4().hex[:8]}"

    async def handler(event: ev.Event) -> None: ...

    consumer = EventConsumer(handler, group, (ev.ComplaintReceived,), DeadLetters())  # type: ignore[arg-type]
    records = [
        record(e, partition, offset, key=str(e.complaint_id).encode())
        for partition, offset, e in [(p, o, received()) for p in (0, 2) for o in range(5)]
    ]
    records.append(record(None, 2, 5, key=b"poison"))
    source = Source({0: 9, 2: 6})
    await run_batch(consumer, records, source)

    labels = {"group": group, "topic": TOPIC}
    assert metric("sipuma_events_consumed_total", {**labels, "outcome": "processed"}) == 10
    assert metric("sipuma_events_consumed_total", {**labels, "outcome": "dead_lettered"}) == 1
    assert metric("sipuma_event_handler_seconds_count", labels) == 10
    # Behind the partition's end after the last record of the poll: 9 - 4 - 1, 6 - 5 - 1.
    assert CONSUMER_LAG.labels(group, TOPIC, "0")._value.get() == 4
    assert CONSUMER_LAG.labels(group, TOPIC, "2")._value.get() == 0
    assert sorted(set(source.calls)) == [0, 2]
    assert EVENTS_CONSUMED is not None and HANDLER_SECONDS is not None


async def test_an_incoming_trace_passes_on_with_tracing_off() -> None:
    """No tracer provider (the default): nothing recorded, but the handler's publishes continue
    the publisher's trace (`tracing.py`)."""
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)
    trace_id, span_id = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    e = received()
    headers = [(k, v.encode()) for k, v in ce.to_headers(e).items()]
    headers.append(("ce_traceparent", f"00-{trace_id}-{span_id}-01".encode()))
    passed: list[dict[str, str]] = []

    async def handler(event: ev.Event) -> None:
        passed.append(trace_headers())

    consumer = EventConsumer(handler, "g-trace", (ev.ComplaintReceived,), DeadLetters())  # type: ignore[arg-type]
    await run_batch(consumer, [record(e, 0, 0, key=b"k", headers=headers)], Source({0: 1}))
    assert passed[0]["ce_traceparent"].split("-")[1] == trace_id
    assert trace_headers() == {}  # and the trace ends with the record


async def test_with_a_tracer_provider_each_record_gets_a_consumer_span(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Tracing on (a provider set, as `configure_tracing` does): one CONSUMER span per handled
    record, child of the publisher's span. The provider is patched in, not set: OTel allows
    setting it once per process."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)
    trace_id, span_id = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    e = received()
    headers = [(k, v.encode()) for k, v in ce.to_headers(e).items()]
    headers.append(("ce_traceparent", f"00-{trace_id}-{span_id}-01".encode()))

    async def handler(event: ev.Event) -> None: ...

    consumer = EventConsumer(handler, "g-spans", (ev.ComplaintReceived,), DeadLetters())  # type: ignore[arg-type]
    await run_batch(consumer, [record(e, 0, 3, key=b"k", headers=headers)], Source({0: 4}))
    [span] = exporter.get_finished_spans()
    assert span.kind is trace.SpanKind.CONSUMER
    assert span.context is not None and f"{span.context.trace_id:032x}" == trace_id
    assert span.parent is not None and f"{span.parent.span_id:016x}" == span_id
    assert span.attributes is not None and span.attributes["messaging.kafka.offset"] == 3


async def test_undecodable_headers_in_a_poll_dead_letter_only_their_records() -> None:
    """FastStream's parser decodes the whole poll's headers at once; one bad value must not sink
    the others (`tolerant_batch_parser` marks it and parses again)."""
    seen: list[ev.Event] = []

    async def handler(event: ev.Event) -> None:
        seen.append(event)

    dead = DeadLetters()
    consumer = EventConsumer(handler, "g-headers", (ev.ComplaintReceived,), dead)  # type: ignore[arg-type]
    good, latin, null = received(), received(), received()

    def with_header(e: ev.Event, value: bytes | None) -> Any:
        return [*((k, v.encode()) for k, v in ce.to_headers(e).items()), ("x-extra", value)]

    records = [
        record(good, 0, 0, key=b"a"),
        record(latin, 0, 1, key=b"b", headers=with_header(latin, b"caf\xe9")),
        record(null, 0, 2, key=b"c", headers=with_header(null, None)),
    ]
    await run_batch(consumer, records, Source({0: 3}))
    assert seen == [good]
    assert [d["headers"]["x-sipuma-dead-letter-reason"] for d in dead.seen] == [
        "invalid_header_bytes",
        "invalid_header_bytes",
    ]


@pytest.mark.parametrize("concurrency", [2, 16])
async def test_lanes_at_once_stay_within_the_gate(concurrency: int) -> None:
    """More lanes than `concurrency`: at most that many at once; fewer: all at once."""
    running = peak = 0

    async def handler(event: ev.Event) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        for _ in range(3):  # every started lane gets in before any leaves
            await asyncio.sleep(0)
        running -= 1

    consumer = EventConsumer(handler, "g-gate", (ev.ComplaintReceived,), DeadLetters())  # type: ignore[arg-type]
    events = [received() for _ in range(5)]
    records = [record(e, 0, i, key=str(e.complaint_id).encode()) for i, e in enumerate(events)]
    parser = AioKafkaBatchParser(KafkaMessage, None)
    parser._setup(Source({0: 5}))  # type: ignore[arg-type]
    batch = await tolerant_batch_parser(tuple(records), parser.parse_batch)
    await EventBatchConsumer(consumer, concurrency=concurrency).consume(batch)
    assert peak == min(concurrency, 5)


async def test_a_refused_event_is_dead_lettered_with_its_place_and_ids_in_the_log_context() -> None:
    async def handler(event: ev.Event) -> None:
        raise DeadLetter("unknown_office", "office_code")

    dead = DeadLetters()
    consumer = EventConsumer(handler, "g-refused", (ev.ComplaintReceived,), dead)  # type: ignore[arg-type]
    e = received()
    await run_batch(consumer, [record(e, 2, 7, key=b"k")], Source({2: 8}))
    [refused] = dead.seen
    assert {k: refused["log"].get(k) for k in PLACE + EVENT} == {
        "group": "g-refused",
        "topic": TOPIC,
        "partition": 2,
        "offset": 7,
        "correlation_id": e.correlation_id,
        "event_id": str(e.event_id),
        "event_type": e.event_type,
    }
    assert refused["headers"]["x-sipuma-dead-letter-reason"] == "unknown_office"
