"""CloudEvents Kafka protocol binding, binary mode: the event JSON is the value, its attributes
travel as `ce_*` headers, and the complaint id is the key (one complaint, one partition, in order).

`publish_event` is the only way services put events on Kafka, so every message has the same
headers; `decode_message` is the reverse for consumers, and refuses a message whose headers and
body disagree.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from aiokafka.structs import RecordMetadata
from faststream.kafka import KafkaBroker
from faststream.kafka.publisher.usecase import DefaultPublisher

from sipuma.shared.events import Event, InvalidEvent, parse_event
from sipuma.shared.metrics import EVENTS_PUBLISHED
from sipuma.shared.topics import TopicSpec, check_publishable, topic_for
from sipuma.shared.tracing import trace_headers

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
SOURCE_PREFIX = "/sipuma/"
REQUIRED = ("ce_specversion", "ce_id", "ce_type", "ce_source", "ce_time", "ce_subject")


@dataclass(frozen=True)
class EventMeta:
    """The CloudEvents attributes of one Kafka message."""

    id: str
    type: str
    source: str  # URI reference, e.g. /sipuma/intake
    time: datetime
    subject: str
    specversion: str = SPECVERSION
    content_type: str = CONTENT_TYPE
    correlation_id: str | None = None

    @property
    def service(self) -> str:
        return self.source.removeprefix(SOURCE_PREFIX)


def _time(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def to_headers(event: Event) -> dict[str, str]:
    return {
        "ce_specversion": SPECVERSION,
        "ce_id": str(event.event_id),
        "ce_type": event.event_type,
        "ce_source": SOURCE_PREFIX + event.source,
        "ce_time": _time(event.occurred_at),
        "ce_subject": str(event.complaint_id),
        "content-type": CONTENT_TYPE,
        "correlation_id": event.correlation_id,
        **trace_headers(),  # ce_traceparent / ce_tracestate when a trace is current
    }


def from_headers(headers: Mapping[str, str]) -> EventMeta:
    missing = [name for name in REQUIRED if not headers.get(name)]
    if missing:
        raise InvalidEvent("missing_headers", ", ".join(missing))
    if headers["ce_specversion"] != SPECVERSION:
        raise InvalidEvent("unsupported_specversion", headers["ce_specversion"][:20])
    content_type = headers.get("content-type", "")
    if content_type.split(";")[0].strip() != CONTENT_TYPE:
        raise InvalidEvent("unsupported_content_type", content_type[:100])
    try:
        time = datetime.fromisoformat(headers["ce_time"])
    except ValueError:
        raise InvalidEvent("invalid_headers", "ce_time is not RFC 3339") from None
    return EventMeta(
        id=headers["ce_id"],
        type=headers["ce_type"],
        source=headers["ce_source"],
        time=time,
        subject=headers["ce_subject"],
        content_type=content_type,
        correlation_id=headers.get("correlation_id"),
    )


def decode_message(
    headers: Mapping[str, str],
    body: bytes,
    accept: Collection[type[Event]] | None = None,
) -> tuple[EventMeta, Event]:
    """Headers → metadata, body → event; `InvalidEvent` when either is wrong or they disagree."""
    meta = from_headers(headers)
    if accept is not None and meta.type not in {cls.TYPE for cls in accept}:
        raise InvalidEvent("unexpected_event_type", f"{meta.type[:200]} not accepted here")
    event = parse_event(meta.type, body)
    disagree = [
        name
        for name, header, field in (
            ("ce_id", meta.id, str(event.event_id)),
            ("ce_source", meta.source, SOURCE_PREFIX + event.source),
            ("ce_subject", meta.subject, str(event.complaint_id)),
        )
        if header != field
    ]
    if disagree:
        raise InvalidEvent("headers_disagree_with_body", ", ".join(disagree))
    return meta, event


def encode(event: Event) -> bytes:
    return event.model_dump_json().encode()


async def publish_event(
    target: KafkaBroker | DefaultPublisher,
    event: Event,
    *,
    topic: TopicSpec | str | None = None,
) -> RecordMetadata:
    """Publish one event (idempotent producer, acks=all come from the broker factory) and wait
    for the broker's acknowledgement. The topic defaults to the event's own topic, or to the
    publisher's when a named publisher is given; a `TopicSpec` is checked as declared."""
    if topic is None:
        topic = target.topic if isinstance(target, DefaultPublisher) else topic_for(event)
    check_publishable(event, topic)
    name = topic if isinstance(topic, str) else topic.name
    result = await target.publish(
        encode(event),
        name,
        key=str(event.complaint_id).encode(),
        headers=to_headers(event),
        correlation_id=event.correlation_id,
    )
    EVENTS_PUBLISHED.labels(topic=name, event_type=event.event_type).inc()
    return cast(RecordMetadata, result)
