"""What intake's use cases depend on, in their own words; the adapters are wired in `main.py`.

Intake keeps no database: what it publishes goes to Kafka or, while Kafka is away, to its spool
(`Publisher`), what it knows of complaints is the status book every replica reads from Kafka
(`StatusBook`), and the answers kept for `Idempotency-Key` are in a file beside the spool
(`IdempotencyStore`).
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from sipuma.intake.domain import ComplaintStatus, Delivery, Entry, Hint
from sipuma.shared import events as ev
from sipuma.shared.idempotency import IdempotencyAnswers


class Publisher(Protocol):
    async def publish(self, event: ev.Event) -> Delivery:
        """Published when Kafka acknowledged it now, queued when it is on this replica's disk
        (it reaches Kafka later, after every event queued before it)."""
        ...


class StatusBook(Protocol):
    """Complaint id → office, status and register number, on every replica."""

    def is_live(self) -> bool:
        """True while the book follows Kafka: only then does a missing complaint mean unknown."""
        ...

    def get(self, complaint_id: str) -> Entry | None: ...

    def by_number(self, register_number: str) -> Entry | None:
        """The entry holding this register number (any case), if the book still has it."""
        ...

    def note(self, complaint_id: str, office_code: str, status: ComplaintStatus) -> None:
        """This replica accepted the complaint (published or queued)."""
        ...

    def expect(self, complaint_id: str) -> asyncio.Future[Entry]:
        """Register interest in the register number *before* publishing, so it is never missed."""
        ...

    def forget(self, complaint_id: str, future: asyncio.Future[Entry]) -> None: ...

    def expect_hints(self, complaint_id: str) -> asyncio.Future[list[Hint]]:
        """Interest in the registry's possible-duplicate hint, registered before publishing."""
        ...

    async def wait_hints(
        self, complaint_id: str, future: asyncio.Future[list[Hint]], timeout_s: float
    ) -> list[Hint] | None:
        """The hints, or None when they did not come in time."""
        ...

    async def wait_registered(
        self, complaint_id: str, future: asyncio.Future[Entry], timeout_s: float
    ) -> Entry | None:
        """The entry with its register number, or None when it did not come in time."""
        ...


class IdempotencyStore(IdempotencyAnswers, Protocol):
    """Answers kept per officer + route + `Idempotency-Key` (the shared semantics); adapters:
    `idempotency.SqliteIdempotencyStore` (this replica's file), or the shared
    `sipuma.shared.mongo_idempotency.MongoIdempotencyStore` (one store for every replica)."""
