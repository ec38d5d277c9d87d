"""Kafka entry point: one subscriber over every topic the registry consumes.

The range assignor gives one replica partition p of every topic, so all events of one complaint
(key = complaint id) reach the same replica, one at a time. The shared `EventConsumer` decides
what happens to each message: decoded and handled → commit; not a valid event (or an office
that is not configured) → dead-letter topic, commit, go on; any other failure → back off and
nack, so the same message comes again and nothing after it is committed first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from sipuma.registry.service import Registry
from sipuma.registry.settings import RegistrySettings
from sipuma.shared import events as ev
from sipuma.shared import topics
from sipuma.shared.consumer import DeadLetter, EventConsumer, raw_body, tolerant_parser
from sipuma.shared.kafka import DEFAULT_ACK_POLICY

CONSUMED = (
    topics.COMPLAINT_RECEIVED,
    topics.COMPLAINT_SUPPLEMENTED,
    topics.CONTACT_PROVIDED,
    topics.REGISTER_NUMBER_COMMUNICATED,
    topics.EVIDENCE_STORED,
    topics.NOTIFICATION_SENT,
    topics.NOTIFICATION_FAILED,
)
ACCEPTED = tuple(cls for spec in CONSUMED for cls in spec.event_types)


def handler_for(registry: Registry) -> Callable[[ev.Event], Awaitable[None]]:
    async def handle(event: ev.Event) -> None:
        if isinstance(event, ev.ComplaintReceived):
            if registry.offices.get(event.office_code) is None:
                raise DeadLetter("unknown_office", "office_code is not a configured office")
            await registry.receive(event)
        else:
            await registry.absorb(event)

    return handle


def register(broker: KafkaBroker, registry: Registry, settings: RegistrySettings) -> None:
    consumer = EventConsumer(
        handler=handler_for(registry),
        group_id=settings.consumer_group,
        accept=ACCEPTED,
        dead_letters=broker.publisher(
            settings.topic(topics.dead_letter_topic(settings.consumer_group)),
            title="registry-dead-letters",
        ),
        retry_initial_seconds=settings.consumer_retry_initial_seconds,
        retry_max_seconds=settings.consumer_retry_max_seconds,
    )

    async def absorb_complaint_events(message: KafkaMessage) -> None:
        await consumer.consume(message)

    broker.subscriber(
        *[settings.topic(spec.name) for spec in CONSUMED],
        group_id=settings.consumer_group,
        auto_offset_reset="earliest",
        ack_policy=DEFAULT_ACK_POLICY,
        partition_assignment_strategy=(RangePartitionAssignor,),
        session_timeout_ms=settings.consumer_session_timeout_ms,
        heartbeat_interval_ms=settings.consumer_heartbeat_interval_ms,
        group_instance_id=settings.consumer_instance_id,
        parser=tolerant_parser,
        decoder=raw_body,
        title="registry-consumer",
        description="Complaint, evidence and notification events into the complaint database",
    )(absorb_complaint_events)
