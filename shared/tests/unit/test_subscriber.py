"""The one-line subscriber's decisions, in memory (TestKafkaBroker): handled, dead-lettered,
retried. The same flows run against the real Kafka in tests/integration."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, TestKafkaBroker
from faststream.kafka.publisher.usecase import DefaultPublisher

from sipuma.shared import cloudevents as ce
from sipuma.shared import events as ev
from sipuma.shared import topics
from sipuma.shared.consumer import EventConsumer
from sipuma.shared.kafka import (
    DeadLetter,
    build_broker,
    event_subscriber,
    subscribe_event_batches,
    subscribe_events,
)
from sipuma.shared.samples import example
from sipuma.shared.settings import ServiceSettings

pytestmark = pytest.mark.unit
DLQ = topics.dead_letter_topic("registry")


def broker_with(
    handler: Callable[[ev.ComplaintRegistered], Awaitable[None]], **options: Any
) -> tuple[KafkaBroker, DefaultPublisher]:
    broker = build_broker(ServiceSettings(service="registry"))
    subscribe_events(broker, topics.COMPLAINT_REGISTERED, handler, group_id="registry", **options)
    dead = broker.publisher(DLQ)
    return broker, dead


def test_broker_defaults() -> None:
    broker = build_broker(ServiceSettings(service="registry"))
    assert broker.config.ack_policy is AckPolicy.NACK_ON_ERROR
    assert broker.config.producer is not None


def test_many_workers_or_batches_are_refused() -> None:
    broker = build_broker(ServiceSettings())

    async def handler(event: ev.Event) -> None: ...

    with pytest.raises(ValueError, match="one message in flight"):
        subscribe_events(broker, topics.COMPLAINT_REGISTERED, handler, group_id="g", max_workers=4)


def test_batches_refuse_workers_and_other_acks() -> None:
    broker = build_broker(ServiceSettings())

    async def handler(event: ev.Event) -> None: ...

    consumer = EventConsumer(handler, "g", (ev.ComplaintRegistered,), broker.publisher(DLQ))
    for options in ({"max_workers": 4}, {"ack_policy": AckPolicy.ACK_FIRST}):
        with pytest.raises(ValueError, match="committed once"):
            subscribe_event_batches(broker, ["t"], consumer, **options)


async def test_valid_event_reaches_the_handler() -> None:
    seen: list[ev.Event] = []

    async def handler(event: ev.ComplaintRegistered) -> None:
        seen.append(event)

    broker, dead = broker_with(handler)
    async with TestKafkaBroker(broker):
        await ce.publish_event(broker, example(ev.ComplaintRegistered))
        assert seen == [example(ev.ComplaintRegistered)]
        dead.mock.assert_not_called()


async def test_invalid_message_is_dead_lettered_not_handled() -> None:
    seen: list[ev.Event] = []

    async def handler(event: ev.ComplaintRegistered) -> None:
        seen.append(event)

    broker, dead = broker_with(handler)
    headers = ce.to_headers(example(ev.ComplaintRegistered))
    async with TestKafkaBroker(broker):
        await broker.publish(b"{}", topics.COMPLAINT_REGISTERED.name, headers=headers)
        assert seen == []
        dead.mock.assert_called_once()  # the mock records the decoded body


async def test_a_prefixed_group_dead_letters_inside_the_prefix() -> None:
    """`<prefix>sipuma.dead-letter.<group>.v1`, as the batch subscribers and sipuma-dlq name it."""
    settings = ServiceSettings(service="evidence", topic_prefix="t1.", consumer_group="ev")
    broker = build_broker(settings)
    spec = topics.COMPLAINT_REGISTERED
    prefixed = replace(spec, name=settings.topic(spec))

    async def handler(event: ev.ComplaintRegistered) -> None: ...

    subscribe_events(broker, prefixed, handler, group_id=settings.group_id)
    dead = broker.publisher("t1.sipuma.dead-letter.ev.v1")
    assert settings.dead_letter_topic() == "t1.sipuma.dead-letter.ev.v1"
    async with TestKafkaBroker(broker):
        await broker.publish(b"{not json", prefixed.name)
        dead.mock.assert_called_once()


async def test_handler_can_refuse_an_event_for_good() -> None:
    broker = build_broker(ServiceSettings(service="registry"))

    @event_subscriber(broker, topics.COMPLAINT_REGISTERED, group_id="registry")
    async def handler(event: ev.ComplaintRegistered) -> None:
        raise DeadLetter("unknown_office", "office_code")

    dead = broker.publisher(DLQ)
    async with TestKafkaBroker(broker):
        await ce.publish_event(broker, example(ev.ComplaintRegistered))
        assert dead.mock.call_count == 1


async def test_failing_handler_is_retried_then_dead_lettered_when_bounded() -> None:
    calls = 0

    async def handler(event: ev.ComplaintRegistered) -> None:
        nonlocal calls
        calls += 1
        raise ConnectionError("store down")

    broker, dead = broker_with(handler, retry_initial_seconds=0.01, max_attempts=1)
    async with TestKafkaBroker(broker):
        await ce.publish_event(broker, example(ev.ComplaintRegistered))
        assert calls == 1
        assert dead.mock.call_count == 1


def test_a_bootstrap_list_reaches_the_client_as_separate_hosts() -> None:
    """FastStream takes one string as one host: "a:1,b:2" would be host "a:1,b" port 2."""
    broker = build_broker(ServiceSettings(kafka_bootstrap="127.0.0.1:19092, 127.0.0.1:19093"))
    assert broker._connection_kwargs["bootstrap_servers"] == ["127.0.0.1:19092", "127.0.0.1:19093"]
