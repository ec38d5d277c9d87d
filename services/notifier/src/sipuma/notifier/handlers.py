"""Kafka entry point: `TicketIssued` in, the use case called, the offset committed after it.

Uses the shared `EventConsumer` (decode and validate; invalid → dead-letter topic and commit;
an exception → back off, seek back, consume again; return → commit). The handler returns only
once every delivery of the ticket has an outcome in the delivery log: sent, failed, or a retry
scheduled there. Long retries are the dispatcher's, not the consumer's, so one failing provider
never holds a partition, and the offset is committed only after the log holds the work.

Language: the complainant's choice travels in `TicketIssued.contact.language` (Indonesian unless
they asked for English).
"""

from __future__ import annotations

from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.subscriber.usecase import DefaultSubscriber

from sipuma.notifier.service import Notifier
from sipuma.notifier.settings import NotifierSettings
from sipuma.shared import topics
from sipuma.shared.consumer import EventConsumer, raw_body, tolerant_parser
from sipuma.shared.events import Event, TicketIssued
from sipuma.shared.kafka import DEFAULT_ACK_POLICY


def register(
    broker: KafkaBroker, notifier: Notifier, settings: NotifierSettings
) -> DefaultSubscriber:
    async def send_ticket_notification(event: Event) -> None:
        """Send the ticket number by e-mail and/or SMS, once per channel."""
        if isinstance(event, TicketIssued):
            await notifier.ticket_issued(event, event.contact.language.value)

    consumer = EventConsumer(
        handler=send_ticket_notification,
        group_id=settings.consumer_group,
        accept=(TicketIssued,),
        dead_letters=broker.publisher(
            settings.topic(topics.dead_letter_topic(settings.consumer_group)),
            include_in_schema=False,
        ),
        retry_initial_seconds=settings.consumer_retry_initial_seconds,
        retry_max_seconds=settings.consumer_retry_max_seconds,
    )

    async def consume(message: KafkaMessage) -> None:
        await consumer.consume(message)

    subscriber: DefaultSubscriber = broker.subscriber(
        settings.topic(topics.TICKET_ISSUED.name),
        group_id=settings.consumer_group,
        ack_policy=DEFAULT_ACK_POLICY,
        auto_offset_reset="earliest",
        parser=tolerant_parser,
        decoder=raw_body,
        title="notifier:ticket-issued",
        description="Ticket numbers to send by e-mail and SMS",
    )
    subscriber(consume)
    return subscriber
