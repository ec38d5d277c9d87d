"""The registry as `sipuma-registry` builds it (`main.build`), on the test's own database, with a
recording publisher standing in for Kafka (the Kafka path itself is covered by the process
tests)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sipuma.registry.domain import Doc
from sipuma.registry.main import Runtime
from sipuma.registry.service import Registry
from sipuma.registry.settings import RegistrySettings
from sipuma.registry.store import Store
from sipuma.shared.events import ComplaintReceived, Event

TICKET_KEY = b"test-ticket-key"
TOKEN_SECRET = "test-token-secret-registry-0123456789"
E = TypeVar("E", bound=Event)


def settings_for(mongo_uri: str, database: str, **extra: Any) -> RegistrySettings:
    values: dict[str, Any] = {
        "mongo_uri": mongo_uri,
        "mongo_database": database,
        "token_secret": TOKEN_SECRET,
        "ticket_hash_key": TICKET_KEY.decode(),
        "outbox_interval_seconds": 0.1,
        "track_requests_per_minute": 1000,
        "track_min_seconds": 0.05,
    }
    return RegistrySettings(**(values | extra))


@dataclass
class Recorder:
    """Publishes nowhere; records what was published, and checks the change that emits an event
    was stored before the event left."""

    store: Store
    published: list[tuple[str, Event]] = field(default_factory=list)
    fail: int = 0  # fail the next n publishes, as an unreachable Kafka would
    stored_before_publish: list[bool] = field(default_factory=list)

    async def __call__(self, event: Event, topic: str, payload: str | None = None) -> None:
        if self.fail:
            self.fail -= 1
            raise ConnectionError("kafka unreachable")
        found = 0
        for name in (
            "register_numbers",
            "tickets",
            "status_changes",
            "deadline_alerts",
            "duplicate_hints",
            "categorisations",
        ):
            found += await self.store.db[name].count_documents(
                {"outbox.event_id": str(event.event_id)}
            )
        self.stored_before_publish.append(found == 1)
        self.published.append((topic, event))

    def of(self, kind: type[E]) -> list[E]:
        return [e for _, e in self.published if isinstance(e, kind)]


# `build_registry(**settings)` (the conftest fixture): a built registry on the test's database
# (its own client: a replica) and its recorder; closed when the test ends.
BuildRegistry = Callable[..., tuple[Runtime, Recorder]]


async def register(registry: Registry, event: ComplaintReceived) -> Doc:
    """Receive a complaint that must be numbered (its office is configured)."""
    number = await registry.receive(event)
    assert number is not None
    return number
