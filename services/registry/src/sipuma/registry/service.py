"""Registry use cases: receive and number a complaint, absorb later events, issue tickets, move
the follow-up status. Every source-of-truth write is one insert with a duplicate-proof key (see
`store.py`); the complaint's `view` is rebuilt from those facts after each change."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sipuma.registry import tickets
from sipuma.registry.domain import (
    RECEIVED,
    Status,
    check_transition,
    format_register_number,
    number_key,
)
from sipuma.registry.numbering import Numberer
from sipuma.registry.outbox import OutboxRelay, entry
from sipuma.registry.store import Doc, Store
from sipuma.registry.views import build_view
from sipuma.shared import events as ev
from sipuma.shared.offices import OfficeDirectory
from sipuma.shared.payloads import TrackingContact

SOURCE = "registry"


@dataclass(frozen=True)
class Topics:
    registered: str
    tickets: str
    status_changed: str


@dataclass(frozen=True)
class Config:
    number_format: str
    ticket_key: bytes
    topics: Topics


class NotFound(LookupError):
    pass


class Conflict(RuntimeError):
    """Someone else changed the status at the same moment; read again and retry."""


class Registry:
    def __init__(
        self,
        store: Store,
        offices: OfficeDirectory,
        config: Config,
        relay: OutboxRelay,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.offices = offices
        self.config = config
        self.relay = relay
        self.clock = clock
        self.numberer = Numberer(store, self._number_doc)

    # -- complaint received: store, number, ticket ------------------------------------------
    async def receive(self, event: ev.ComplaintReceived) -> Doc:
        """Idempotent by complaint id: a redelivery (or a second replica) finds the same number."""
        complaint_id = str(event.complaint_id)
        await self.store.insert_once(
            self.store.complaints,
            {
                "_id": complaint_id,
                "office_code": event.office_code,
                "register_year": self.offices.local_year(event.office_code, event.occurred_at),
                "received_at": event.received_at,
                "saved_at": event.occurred_at,
                "channel": event.channel.value,
                "received_event_id": str(event.event_id),
                "correlation_id": event.correlation_id,
                "intake": event.model_dump(mode="json"),
                "view": {"status": RECEIVED},
            },
        )
        complaint = await self.store.complaint(complaint_id)
        assert complaint is not None
        number = await self.numberer.assign(complaint)
        await self.relay.send_soon("register_numbers", number)
        await self.ensure_ticket(complaint_id)
        await self.refresh_view(complaint_id)
        return number

    def _number_doc(self, complaint: Doc, seq: int) -> Doc:
        office, year = complaint["office_code"], int(complaint["register_year"])
        number = format_register_number(self.config.number_format, office, year, seq)
        now = self.clock()
        event = ev.ComplaintRegistered(
            source=SOURCE,
            correlation_id=complaint.get("correlation_id") or complaint["_id"],
            office_code=office,
            complaint_id=UUID(complaint["_id"]),
            register_number=number,
            sequence=seq,
            register_year=year,
            registered_at=now,
        )
        return {
            "_id": number_key(office, year, seq),
            "office_code": office,
            "year": year,
            "seq": seq,
            "number": number,
            "complaint_id": complaint["_id"],
            "at": now,
            "outbox": entry(event, self.config.topics.registered),
        }

    async def recover(self) -> int:
        """At startup: number what a crash left unnumbered, issue missing tickets."""
        found = await self.numberer.unnumbered()
        for complaint in found:
            await self.numberer.assign(complaint)
            await self.ensure_ticket(complaint["_id"])
            await self.refresh_view(complaint["_id"])
        return len(found)

    # -- later events: one fact each, keyed by event id (the de-duplication) ------------------
    async def absorb(self, event: ev.Event) -> bool:
        """Record the event as a fact; False when it was already absorbed (redelivery)."""
        complaint_id = str(event.complaint_id)
        fact = {
            "_id": str(event.event_id),
            "complaint_id": complaint_id,
            "office_code": event.office_code,
            "type": event.event_type,
            "at": event.occurred_at,
            "data": event.model_dump(mode="json"),
        }
        fresh = await self.store.insert_once(self.store.facts, fact)
        if isinstance(event, ev.TrackingContactProvided):
            await self.ensure_ticket(complaint_id)
        await self.refresh_view(complaint_id)
        return fresh

    # -- tickets ------------------------------------------------------------------------------
    async def ensure_ticket(self, complaint_id: str) -> Doc | None:
        """One ticket per tracking contact, once the complaint has its number.

        Every contact gets its own ticket whatever order the received and contact events were
        handled in (they arrive on different topics), so the outcome never depends on a race."""
        complaint = await self.store.complaint(complaint_id)
        number = await self.store.number_of(complaint_id)
        if complaint is None or number is None:
            return None
        latest: Doc | None = None
        for contact, source_id in await self._contacts(complaint):
            latest = await self._ticket_for(complaint, number["number"], contact, source_id)
        return latest

    async def _ticket_for(
        self, complaint: Doc, register_number: str, contact: TrackingContact, source_id: str
    ) -> Doc:
        complaint_id = complaint["_id"]
        key = f"{complaint_id}/{source_id}"
        existing = await self.store.tickets.find_one({"_id": key}, {"outbox.payload": 0})
        if existing is not None:
            return existing
        plain = tickets.new_ticket()
        canonical = tickets.parse(plain)
        assert canonical is not None
        event = ev.TicketIssued(
            source=SOURCE,
            correlation_id=complaint.get("correlation_id") or complaint_id,
            office_code=complaint["office_code"],
            complaint_id=UUID(complaint_id),
            ticket_number=plain,
            register_number=register_number,
            contact=contact,
        )
        doc = {
            "_id": key,
            "complaint_id": complaint_id,
            "office_code": complaint["office_code"],
            "hash": tickets.ticket_hash(self.config.ticket_key, canonical),
            "channels": [c for c in ("email", "mobile") if getattr(contact, c)],
            "issued_at": self.clock(),
            "outbox": entry(event, self.config.topics.tickets, secret=True),
        }
        if await self.store.insert_once(self.store.tickets, doc):
            await self.relay.send_soon("tickets", doc)
            return doc
        # a concurrent handler (or replica) issued it first: theirs is the ticket
        return await self.store.tickets.find_one({"_id": key}, {"outbox.payload": 0}) or doc

    async def _contacts(self, complaint: Doc) -> list[tuple[TrackingContact, str]]:
        """Every tracking contact in the order given, each with the event that brought it."""
        found: list[tuple[TrackingContact, str]] = []
        given = complaint.get("intake", {}).get("tracking_contact")
        if given:
            found.append((TrackingContact.model_validate(given), complaint["received_event_id"]))
        for fact in await self.store.facts_of(complaint["_id"]):
            if fact["type"] == ev.TrackingContactProvided.TYPE:
                found.append((TrackingContact.model_validate(fact["data"]["contact"]), fact["_id"]))
        return found

    # -- follow-up status ---------------------------------------------------------------------
    async def change_status(
        self, register_number: str, wanted: Status, note: str, officer_id: str
    ) -> Doc:
        number = await self.store.numbers.find_one({"number": register_number})
        if number is None:
            raise NotFound(register_number)
        complaint_id = number["complaint_id"]
        changes = await self.store.changes_of(complaint_id)
        current = Status(changes[-1]["to"]) if changes else Status.REGISTERED
        check_transition(current, wanted)
        step = len(changes) + 1
        now = self.clock()
        complaint = await self.store.complaint(complaint_id) or {}
        event = ev.ComplaintStatusChanged(
            source=SOURCE,
            correlation_id=complaint.get("correlation_id") or complaint_id,
            office_code=number["office_code"],
            complaint_id=UUID(complaint_id),
            from_status=current,
            to_status=wanted,
            changed_at=now,
        )
        doc = {
            "_id": f"{complaint_id}/{step:04d}",
            "complaint_id": complaint_id,
            "step": step,
            "from": current.value,
            "to": wanted.value,
            "note": note,
            "by": officer_id,
            "at": now,
            "outbox": entry(event, self.config.topics.status_changed),
        }
        if not await self.store.insert_once(self.store.status_changes, doc):
            raise Conflict(register_number)
        await self.relay.send_soon("status_changes", doc)
        await self.refresh_view(complaint_id)
        return doc

    # -- the listing cache ----------------------------------------------------------------------
    async def refresh_view(self, complaint_id: str) -> dict[str, Any] | None:
        complaint = await self.store.complaint(complaint_id)
        if complaint is None:
            return None  # facts that arrived before their complaint wait for it
        view = build_view(
            complaint,
            await self.store.number_of(complaint_id),
            await self.store.changes_of(complaint_id),
            await self.store.facts_of(complaint_id),
            await self.store.tickets_of(complaint_id),
        )
        await self.store.complaints.update_one({"_id": complaint_id}, {"$set": {"view": view}})
        return view
