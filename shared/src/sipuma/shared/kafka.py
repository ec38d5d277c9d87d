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
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

import structlog
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.subscriber.usecase import DefaultSubscriber

from sipuma.shared.consumer import DeadLetter, EventConsumer, raw_body, tolerant_parser
from sipuma.shared.events import Event
from sipuma.shared.settings import ServiceSettings
from sipuma.shared.topics import TopicSpec, check_topics, dead_letter_topic

DEFAULT_ACK_POLICY = AckPolicy.NACK_ON_ERROR
_settings: WeakKeyDictionary[KafkaBroker, ServiceSettings] = WeakKeyDictionary()

E = TypeVar("E", bound=Event)
Handler = TypeVar("Handler", bound=Callable[..., Awaitable[object]])

__all__ = [
    "DEFAULT_ACK_POLICY",
    "DeadLetter",
    "build_broker",
    "event_subscriber",
    "subscribe_events",
]


def build_broker(
    settings: ServiceSettings,
    logger: Any | None = None,
    **options: Any,
) -> KafkaBroker:
    """The service's broker; the same structlog logger as the app (redacted JSON)."""
    broker = KafkaBroker(
        settings.kafka_bootstrap,
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
        dead_letters=broker.publisher(dead_letter_topic(group_id), include_in_schema=False),
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
