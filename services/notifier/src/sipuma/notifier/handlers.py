"""Kafka entry point: `TicketIssued` in, the ticket's deliveries recorded and handed to the
dispatcher's workers, then the offsets committed.

The shared batch subscriber (`subscribe_event_batches`) takes up to `consumer_batch_size`
records per poll and runs them through the shared `EventConsumer`, one lane per key (the
complaint), `consumer_concurrency` at once: a record that is not a valid `TicketIssued` goes to
the dead-letter topic; a valid one is recorded (one insert for its channels; a duplicate — a
redelivery, a replay, the same ticket twice — is refused per delivery and skipped); the new
deliveries are handed to the workers, which send them while the consumer goes on. If recording
fails (the store down) the consumer backs off and the whole poll comes again (recording it
again is harmless). The poll is committed only once every record was recorded: from then on the
log, not the offset, holds the work, and a crash at any later point leaves the deliveries there
for the dispatcher (of this or any replica). Sending never holds a partition.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from faststream.kafka import KafkaBroker
from faststream.kafka.subscriber.usecase import BatchSubscriber

from sipuma.notifier.dispatcher import Dispatcher
from sipuma.notifier.service import Notifier
from sipuma.notifier.settings import NotifierSettings
from sipuma.notifier.staff_alerts import StaffAlerts
from sipuma.notifier.store import MongoDeliveryLog
from sipuma.shared import topics
from sipuma.shared.consumer import EventConsumer
from sipuma.shared.events import (
    ComplaintDeadlineApproaching,
    ComplaintIdentityErased,
    ComplaintOverdue,
    TicketIssued,
)
from sipuma.shared.kafka import subscribe_event_batches
from sipuma.shared.topics import TopicSpec

STAFF_ALERT_TOPICS = (topics.DEADLINE_APPROACHING, topics.COMPLAINT_OVERDUE)


def _subscribe(
    broker: KafkaBroker,
    settings: NotifierSettings,
    handler: Callable[[Any], Awaitable[None]],
    *,
    group: str,
    specs: Sequence[TopicSpec],
    concurrency: int,
    title: str,
    description: str,
) -> BatchSubscriber:
    """`handler` on `specs`' topics in the consumer group `group` (prefixed), with its own
    dead-letter topic: the shared batch subscriber, with the notifier's consumer settings."""
    consumer = EventConsumer(
        handler=handler,
        group_id=settings.topic_prefix + group,
        accept=tuple(cls for spec in specs for cls in spec.event_types),
        dead_letters=broker.publisher(settings.dead_letter_topic(group), include_in_schema=False),
        retry_initial_seconds=settings.consumer_retry_initial_seconds,
        retry_max_seconds=settings.consumer_retry_max_seconds,
    )
    return subscribe_event_batches(
        broker,
        [settings.topic(spec) for spec in specs],
        consumer,
        max_records=settings.consumer_batch_size,
        concurrency=concurrency,
        batch_timeout_ms=settings.consumer_batch_wait_ms,
        title=title,
        description=description,
    )


def register_staff_alerts(
    broker: KafkaBroker, alerts: StaffAlerts, settings: NotifierSettings
) -> BatchSubscriber:
    """Deadline reminders (registry) → e-mail to the office's compliance staff or supervisors,
    in a group of their own: a slow SMTP server never holds the ticket partitions."""

    async def remind_staff(event: ComplaintDeadlineApproaching | ComplaintOverdue) -> None:
        """E-mail the office's compliance staff (or supervisors) once per reminder."""
        await alerts.receive(event)

    return _subscribe(
        broker,
        settings,
        remind_staff,
        group=settings.staff_consumer_group,
        specs=STAFF_ALERT_TOPICS,
        concurrency=1,
        title="notifier:staff-alerts",
        description="Deadline reminders and escalations to send to staff",
    )


def register(
    broker: KafkaBroker, notifier: Notifier, dispatcher: Dispatcher, settings: NotifierSettings
) -> BatchSubscriber:
    async def send_ticket_notifications(event: TicketIssued) -> None:
        """Send the ticket numbers by e-mail and/or SMS, once per ticket and channel."""
        dispatcher.hand_over(await notifier.receive(event))

    return _subscribe(
        broker,
        settings,
        send_ticket_notifications,
        group=settings.consumer_group,
        specs=(topics.TICKET_ISSUED,),
        concurrency=settings.consumer_concurrency,
        title="notifier:ticket-issued",
        description="Ticket numbers to send by e-mail and SMS",
    )


def register_erasures(
    broker: KafkaBroker, deliveries: MongoDeliveryLog, settings: NotifierSettings
) -> BatchSubscriber:
    """Erasure reaches the notifier's copy (docs/identity.md): the complaint's data key in the
    notifier's vault and every job (contact, ticket) it still holds go; the attempt history,
    which has no personal data, stays for the statistics."""

    async def erase_contacts(event: ComplaintIdentityErased) -> None:
        """Delete the complaint's contact and ticket from the delivery log."""
        await deliveries.erase(str(event.complaint_id))

    return _subscribe(
        broker,
        settings,
        erase_contacts,
        group=settings.erasure_consumer_group,
        specs=(topics.COMPLAINT_IDENTITY_ERASED,),
        concurrency=1,
        title="notifier:identity-erased",
        description="Erase the contacts held for a complaint whose identity was erased",
    )
