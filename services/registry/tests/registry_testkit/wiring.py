"""A Registry on the real store with a recording publisher standing in for Kafka (the Kafka path
itself is covered by the subprocess tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

from sipuma.registry.domain import DEFAULT_NUMBER_FORMAT
from sipuma.registry.main import PRODUCED
from sipuma.registry.outbox import OutboxRelay
from sipuma.registry.service import Config, Registry, Topics
from sipuma.registry.store import Doc, Store
from sipuma.shared.events import ComplaintReceived, Event
from sipuma.shared.offices import OfficeDirectory

TICKET_KEY = b"test-ticket-key"
E = TypeVar("E", bound=Event)


@dataclass
class Recorder:
    store: Store
    published: list[tuple[str, Event]] = field(default_factory=list)
    fail: int = 0  # fail the next n publishes, as an unreachable Kafka would
    stored_before_publish: list[bool] = field(default_factory=list)

    async def __call__(self, event: Event, topic: str) -> None:
        if self.fail:
            self.fail -= 1
            raise ConnectionError("kafka unreachable")
        # The change that emits the event is stored before the event leaves.
        found = 0
        for name in ("register_numbers", "tickets", "status_changes"):
            found += await self.store.db[name].count_documents(
                {"outbox.event_id": str(event.event_id)}
            )
        self.stored_before_publish.append(found == 1)
        self.published.append((topic, event))

    def of(self, kind: type[E]) -> list[E]:
        return [e for _, e in self.published if isinstance(e, kind)]


def make_registry(
    store: Store, offices: OfficeDirectory | None = None
) -> tuple[Registry, Recorder]:
    recorder = Recorder(store)
    relay = OutboxRelay(store, recorder, interval=0.1)
    config = Config(DEFAULT_NUMBER_FORMAT, TICKET_KEY, Topics(*(s.name for s in PRODUCED)))
    return Registry(store, offices or OfficeDirectory.default(), config, relay), recorder


async def register(registry: Registry, event: ComplaintReceived) -> Doc:
    """Receive a complaint that must be numbered (its office is configured)."""
    number = await registry.receive(event)
    assert number is not None
    return number
