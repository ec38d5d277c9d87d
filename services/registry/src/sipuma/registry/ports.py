"""What the registry's use cases depend on, in the domain's language: the complaint database
(`ComplaintRepository`, implemented by `store.Store`) and the event publisher (`Publish`: Kafka in
`publisher.py`, a recorder in tests).

Facts are inserted once under a key that makes a second one impossible: the `add_*`, `register`
and `record_fact` methods answer False (or a shorter run) when the key exists, and the caller reads
what is there. Views (`set_view`, the outbox marks, the attention mark) are updated atomically.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Literal, Protocol, get_args

from sipuma.registry.domain import ComplaintFilter, Counted, Doc
from sipuma.shared.audit_log import AuditLog
from sipuma.shared.events import Event

# The facts that carry an outbox entry (the event they caused, published from there).
OutboxKind = Literal[
    "register_numbers",
    "tickets",
    "status_changes",
    "deadline_alerts",
    "erasures",
    "identity_audit",
    "duplicate_hints",
    "categorisations",
]
OUTBOX_KINDS: tuple[OutboxKind, ...] = get_args(OutboxKind)


class Publish(Protocol):
    async def __call__(self, event: Event, topic: str, payload: str | None = None) -> None:
        """Publish `event` on the declared `topic`; returns once Kafka acknowledged it.
        `payload`: the event's JSON when the caller holds it already (the outbox entry's), sent
        as it is instead of encoding the event again."""


class ComplaintRepository(Protocol):
    # -- complaints as received, and the needs-attention mark ---------------------------------
    async def add_complaint(self, record: Doc) -> bool: ...
    async def complaint(self, complaint_id: str) -> Doc | None: ...
    async def complaint_match(self, complaint_id: str) -> Doc | None:
        """Blind match keys and received_at only (the duplicate hint)."""

    async def complaint_dates(self, complaint_id: str) -> Doc | None:
        """Only what the public timeline may show: no intake data."""

    async def erase_identity(self, complaint_id: str) -> bool:
        """Delete the complaint's data key; True when there was one."""

    async def same_complainant(
        self, complaint_id: str, keys: list[str], start: datetime, end: datetime
    ) -> list[Doc]:
        """Other complaints sharing a blind key, received in [start, end]: id, office, time."""

    async def add_hint(self, hint: Doc) -> bool:
        """The possible-duplicate hint of a numbered complaint (`_id` = complaint id, with its
        outbox entry); False when it exists."""

    async def hint(self, complaint_id: str) -> Doc | None: ...

    async def add_erasure(self, erasure: Doc) -> bool:
        """The erasure record (one per complaint, with its outbox entry); False if one exists."""

    # -- the identity-read audit chain (insert-only; `_id` = `seq`) ---------------------------
    @property
    def audit_log(self) -> AuditLog: ...

    async def mark_attention(self, complaint_id: str, mark: Doc) -> None:
        """Mark a complaint as waiting for a person (kept if marked already)."""

    async def attended(self, complaint_id: str) -> None:
        """Numbered: the complaint leaves the needs-attention list."""

    async def needing_attention(self, limit: int) -> tuple[int, list[Doc]]:
        """How many wait, and the oldest `limit`, without the intake data."""

    async def count_needing_attention(self) -> int: ...

    # -- register numbers -------------------------------------------------------------------
    async def register(self, numbers: list[Doc]) -> int:
        """Insert the numbers in order, stopping at the first refused key: how many were
        inserted (always the first n)."""

    async def number_at(self, key: str) -> Doc | None:
        """The number holding office/year/seq `key`."""

    async def number_of(self, complaint_id: str) -> Doc | None: ...
    async def numbers_of(self, complaint_ids: list[str]) -> dict[str, Doc]: ...
    async def by_number(self, register_number: str) -> Doc | None: ...
    async def count_numbers(self, office_code: str, year: int) -> int: ...
    async def seqs_above(self, office_code: str, year: int, seq: int) -> list[int]: ...

    # -- later events, tickets, status steps ---------------------------------------------------
    async def record_fact(self, fact: Doc) -> bool: ...
    async def facts_of(self, complaint_id: str) -> list[Doc]:
        """In the order they happened (ties: by event id)."""

    async def add_ticket(self, ticket: Doc) -> bool:
        """False when the contact's key or the ticket's hash exists."""

    async def ticket(self, key: str) -> Doc | None: ...
    async def tickets_of(self, complaint_id: str) -> list[Doc]: ...
    async def ticket_by_hash(self, digest: str) -> Doc | None: ...
    async def add_step(self, step: Doc) -> bool:
        """A status step; its key (complaint, step number) refuses a second step n."""

    async def changes_of(self, complaint_id: str) -> list[Doc]:
        """Status steps in order."""

    async def add_categorisation(self, step: Doc) -> bool:
        """A category step; its key (complaint, step number) refuses a second step n."""

    async def categorisations_of(self, complaint_id: str) -> list[Doc]:
        """Category steps in order."""

    async def set_category(self, complaint_id: str, code: str, step: int) -> None:
        """The listing's current category, unless a later step already set it."""

    # -- the listing (view) ----------------------------------------------------------------
    async def list_complaint(self, entry: Doc) -> bool: ...
    async def listed(self, complaint_id: str) -> Doc | None: ...
    async def set_view(self, complaint_id: str, view: Doc, version: int) -> None:
        """Replace the view unless a rebuild that saw more (a higher version) wrote one."""

    async def page(self, wanted: ComplaintFilter, skip: int, limit: int) -> Counted:
        """How many match, and one page of them, newest first."""

    def stream(self, wanted: ComplaintFilter, batch: int) -> AsyncIterator[list[Doc]]:
        """Every match in the page's order, `batch` at a time (exports)."""

    def listed_stream(
        self,
        office_codes: list[str] | None,
        start: datetime,
        end: datetime,
        fields: Doc | None,
        batch: int = ...,
    ) -> AsyncIterator[Doc]:
        """Listed complaints received in [start, end), only `fields`, read in pages of `batch`:
        each listed once, even when entries change during the read."""

    async def overdue(
        self, office_codes: list[str] | None, now: datetime, limit: int
    ) -> tuple[int, list[Doc]]:
        """How many open complaints of these offices are past their stage deadline, and the
        `limit` longest overdue."""

    # -- deadline reminders (reminders.py) ---------------------------------------------------
    async def alerts_due(self, now: datetime, limit: int) -> list[Doc]:
        """Listed complaints whose next reminder moment is at or before `now` (oldest first)."""

    async def add_alerts(self, alerts: list[Doc]) -> list[bool]:
        """Insert reminder facts; per fact False when its key exists (sent before)."""

    async def next_alert(self, complaint_id: str, since: datetime, at: datetime | None) -> None:
        """Move the complaint's next reminder moment (None: none left) unless it moved to
        another stage meanwhile (`since`)."""

    # -- outbox ------------------------------------------------------------------------------
    async def claim_due(self, kind: OutboxKind, now: datetime, lease: timedelta) -> Doc | None:
        """One entry due at `now`, its due time pushed a lease ahead (one claimer wins)."""

    async def oldest_unsent(self, kind: OutboxKind) -> datetime | None:
        """When the unsent entry due first was created (None: nothing waits)."""

    async def mark_sent(self, kind: OutboxKind, key: str, *, secret: bool) -> None:
        """The entry was published: no longer due; a secret one loses its payload."""
