"""Kafka entry point: one subscriber over every topic the registry consumes.

The range assignor gives one replica partition p of every topic, so all events of one complaint
(key = complaint id) reach the same replica. Each poll (up to `consumer_batch_size` records) is
handled as one batch (`subscribe_event_batches`): one lane per complaint id, in offset order,
`consumer_concurrency` lanes at once, and the poll is committed only when all are done. The
shared `EventConsumer` decides what happens to each record: decoded and handled → done; not a
valid event → dead-letter topic, done, go on; any failure → back off, and the batch is not
committed but comes again (handled records dedupe). A valid ComplaintReceived is never
dead-lettered: one that cannot be numbered waits in the store for a person (`Registry.receive`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from faststream.kafka import KafkaBroker

from sipuma.registry.service import Registry
from sipuma.registry.settings import RegistrySettings
from sipuma.shared import events as ev
from sipuma.shared import topics
from sipuma.shared.consumer import EventConsumer
from sipuma.shared.kafka import subscribe_event_batches

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
            await registry.receive(event)
        else:
            await registry.absorb(event)

    return handle


def register(broker: KafkaBroker, registry: Registry, settings: RegistrySettings) -> None:
    consumer = EventConsumer(
        handler=handler_for(registry),
        group_id=settings.group_id,
        accept=ACCEPTED,
        dead_letters=broker.publisher(
            settings.dead_letter_topic(),
            title="registry-dead-letters",
        ),
        retry_initial_seconds=settings.consumer_retry_initial_seconds,
        retry_max_seconds=settings.consumer_retry_max_seconds,
    )

    subscribe_event_batches(
        broker,
        [settings.topic(spec.name) for spec in CONSUMED],
        consumer,
        max_records=settings.consumer_batch_size,
        concurrency=settings.consumer_concurrency,
        partition_assignment_strategy=(RangePartitionAssignor,),
        session_timeout_ms=settings.consumer_session_timeout_ms,
        heartbeat_interval_ms=settings.consumer_heartbeat_interval_ms,
        group_instance_id=settings.consumer_instance_id,
        title="registry-consumer",
        description="Complaint, evidence and notification events into the complaint database",
    )
