"""Registry use cases: receive and number a complaint, absorb later events, issue tickets, move
the follow-up status. Every source-of-truth write is one insert with a duplicate-proof key (see
`store.py`); the complaint's listing entry (`view`) is rebuilt from those facts after a change.

A ComplaintReceived, in order: the complaint document (the record, never updated) → the number
→ its ComplaintRegistered and, for a contact given at intake, the ticket and its TicketIssued,
both acknowledged by Kafka → the listing entry with its view → then the facts and status steps
are read, and only if there are any, missing tickets are issued and the view rewritten.

Reads go by `_id` (the only lookup FerretDB 1.24 does not answer by decoding a whole
collection), nothing just written is read again, and the complaint document is never updated
(rewriting it costs FerretDB ~20x an insert)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import structlog

from sipuma.registry import tickets
from sipuma.registry.domain import (
    Status,
    check_transition,
    format_register_number,
    number_key,
)
from sipuma.registry.numbering import Numberer
from sipuma.registry.outbox import OutboxRelay, entry, is_sent
from sipuma.registry.store import Doc, Store, run_key
from sipuma.registry.views import build_view
from sipuma.shared import events as ev
from sipuma.shared.offices import OfficeDirectory
from sipuma.shared.payloads import TrackingContact

SOURCE = "registry"
# What the listing entry copies from the complaint document (the record).
LISTED = (
    "_id",
    "office_code",
    "register_year",
    "received_at",
    "saved_at",
    "channel",
    "received_event_id",
    "correlation_id",
)
log = structlog.get_logger(__name__)


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


async def _all(*steps: Awaitable[Any]) -> list[Any]:
    """Run concurrently and wait for every one (none is left running), then raise the first
    error if any: the caller's failure must not leave work going on behind it."""
    done = await asyncio.gather(*steps, return_exceptions=True)
    for result in done:
        if isinstance(result, BaseException):
            raise result
    return done


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

    # -- complaint received: store, number, ticket, listing -----------------------------------
    async def receive(self, event: ev.ComplaintReceived) -> Doc:
        """Idempotent by complaint id: a redelivery (or a second replica) finds the same number.
        Returns once every event it caused was acknowledged by Kafka (raises otherwise)."""
        complaint_id = str(event.complaint_id)
        office = event.office_code
        year = self.offices.local_year(office, event.occurred_at)
        record: Doc = {
            "_id": complaint_id,
            "office_code": office,
            "register_year": year,
            "number_floor": await self.numberer.floor(office, year),
            "received_at": event.received_at,
            "saved_at": event.occurred_at,
            "channel": event.channel.value,
            "received_event_id": str(event.event_id),
            "correlation_id": event.correlation_id,
            "intake": event.model_dump(mode="json"),
        }
        if await self.store.insert_once(self.store.complaints, record):
            return await self._register(record)
        # A redelivery: registered already (the listing entry exists), or part-way.
        listed = await self.store.listed(complaint_id)
        if listed is not None:
            number = await self.numberer.assign(listed)
            await self._settle(listed)
            return number
        stored = await self.store.complaint(complaint_id)
        assert stored is not None  # complaints are never deleted
        return await self._register(stored)

    async def _register(self, record: Doc) -> Doc:
        """Number the complaint, publish, list it; then catch up with what came before it."""
        number = await self.numberer.assign(record)
        contact = record["intake"].get("tracking_contact")
        steps: list[Awaitable[Any]] = [self.relay.publish(number)]
        if contact:
            given = TrackingContact.model_validate(contact)
            steps.append(self._ticket(record, number["number"], given, record["received_event_id"]))
        # The listing entry is inserted only after Kafka took ComplaintRegistered: it is the
        # number's "sent" mark, so a redelivery that finds it has nothing left to publish.
        done = await _all(*steps)
        listing: Doc = {key: record[key] for key in LISTED}
        listing["tracking_contact"] = contact
        listing["number_id"] = number["_id"]
        listing["view"] = build_view(listing, number, [], [], done[1:])
        if await self.store.insert_once(self.store.listing, listing):
            await self._settle(listing, fresh=True)
        else:  # another replica listed it at the same moment
            found = await self.store.listed(record["_id"])
            assert found is not None
            await self._settle(found)
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
            "outbox": entry(event, self.config.topics.registered, marked=False),
        }

    async def recover(self) -> int:
        """At startup: finish the registrations a crash left part-way (unnumbered, or numbered
        and not listed). The redelivered events would too; this does not wait for them."""
        found = await self.store.unlisted()
        for record in found:
            try:
                await self._register(record)
            except Exception as error:  # its redelivery finishes it; the type only (no PII)
                failed = type(error).__name__
                log.warning("recover_failed", complaint_id=record["_id"], error=failed)
        return len(found)

    # -- later events: one fact each, keyed by complaint/slot, unique by event id -------------
    async def absorb(self, event: ev.Event) -> bool:
        """Record the event as a fact; False when it was already absorbed (redelivery)."""
        complaint_id = str(event.complaint_id)
        fact = {
            "event_id": str(event.event_id),
            "complaint_id": complaint_id,
            "office_code": event.office_code,
            "type": event.event_type,
            "at": event.occurred_at,
            "data": event.model_dump(mode="json"),
        }
        facts = await self.store.run_of(self.store.facts, complaint_id)
        fresh = await self._record(facts, fact)
        # Read after the fact was inserted: a complaint listed later reads the facts after
        # listing, so one of the two handlers sees the other (tickets, view).
        listed = await self.store.listed(complaint_id)
        if listed is not None:
            await self._settle(listed, facts=facts)
        return fresh  # not listed yet: its registration picks the fact up

    async def _record(self, facts: list[Doc], fact: Doc) -> bool:
        """Insert `fact` at the end of the complaint's run (`facts`, appended to in place).

        The slot key and the unique event id are the arbiters: a refused insert either lost the
        slot to another event (take the next one) or met the same event (already absorbed)."""
        if any(f["event_id"] == fact["event_id"] for f in facts):
            return False
        complaint_id = fact["complaint_id"]
        while True:
            slot = len(facts) + 1
            doc = {"_id": run_key(complaint_id, slot), "slot": slot, **fact}
            if await self.store.insert_once(self.store.facts, doc):
                facts.append(doc)
                return True
            holder = await self.store.by_id(self.store.facts, doc["_id"])
            if holder is None or holder["event_id"] == fact["event_id"]:
                # The slot is free, so the event id was refused: absorbed concurrently.
                facts[:] = await self.store.run_of(self.store.facts, complaint_id)
                return False
            facts.append(holder)

    # -- tickets ------------------------------------------------------------------------------
    async def _tickets(self, listed: Doc, facts: list[Doc]) -> list[Doc]:
        """Every tracking contact's ticket, issued if missing, published if not yet (a crash)."""
        found: list[Doc] = []
        register_number = listed["view"]["register_number"]
        for contact, source_id in self._contacts(listed, facts):
            existing = await self.store.by_id(self.store.tickets, f"{listed['_id']}/{source_id}")
            if existing is None or not is_sent(existing):
                existing = await self._ticket(listed, register_number, contact, source_id)
            found.append(existing)
        return found

    async def _ticket(
        self, complaint: Doc, register_number: str, contact: TrackingContact, source_id: str
    ) -> Doc:
        """The contact's ticket, inserted if missing, and its TicketIssued published (raises if
        Kafka did not take it): one ticket per contact, whoever races for it."""
        complaint_id = complaint["_id"]
        key = f"{complaint_id}/{source_id}"
        while True:
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
            digest = tickets.ticket_hash(self.config.ticket_key, canonical)
            # The public lookup entry goes first: a ticket never exists that tracking cannot
            # find. If this ticket then loses a race, the entry names a number nobody is told.
            lookup = {"_id": digest, "complaint_id": complaint_id}
            if not await self.store.insert_once(self.store.ticket_hashes, lookup):
                continue  # the random ticket's hash is taken: redraw
            doc = {
                "_id": key,
                "complaint_id": complaint_id,
                "office_code": complaint["office_code"],
                "hash": digest,
                "channels": [c for c in ("email", "mobile") if getattr(contact, c)],
                "issued_at": self.clock(),
                "outbox": entry(event, self.config.topics.tickets, secret=True),
            }
            if not await self.store.insert_once(self.store.tickets, doc):
                # A concurrent handler (or replica, or a run before a crash) issued it: theirs
                # is the ticket. None holds the key: the random ticket's hash was taken, redraw.
                found = await self.store.by_id(self.store.tickets, key)
                if found is None:
                    continue
                doc = found
            await self.relay.send("tickets", doc)
            doc["outbox"]["payload"] = None  # sent: the plain ticket is not kept, not even here
            return doc

    @staticmethod
    def _contacts(listed: Doc, facts: list[Doc]) -> list[tuple[TrackingContact, str]]:
        """Every tracking contact in the order given, each with the event that brought it."""
        found: list[tuple[TrackingContact, str]] = []
        given = listed.get("tracking_contact")
        if given:
            found.append((TrackingContact.model_validate(given), listed["received_event_id"]))
        for fact in facts:
            if fact["type"] == ev.TrackingContactProvided.TYPE:
                contact = TrackingContact.model_validate(fact["data"]["contact"])
                found.append((contact, fact["event_id"]))
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
        listed = await self.store.listed(complaint_id)
        event = ev.ComplaintStatusChanged(
            source=SOURCE,
            correlation_id=(listed or {}).get("correlation_id") or complaint_id,
            office_code=number["office_code"],
            complaint_id=UUID(complaint_id),
            from_status=current,
            to_status=wanted,
            changed_at=now,
        )
        doc = {
            "_id": run_key(complaint_id, step),
            "complaint_id": complaint_id,
            "step": step,
            "from": current.value,
            "to": wanted.value,
            "note": note,
            "by": officer_id,
            "at": now,
            "outbox": entry(event, self.config.topics.status_changed),
        }
        # No redelivery repeats an HTTP request: the pending marker goes first, so the relay
        # finds the step if this process dies before its event left.
        await self.relay.expect("status_changes", doc["_id"])
        if not await self.store.insert_once(self.store.status_changes, doc):
            raise Conflict(register_number)
        await self.relay.send_soon("status_changes", doc)
        if listed is not None:
            await self._settle(listed)
        return doc

    # -- the listing entry ----------------------------------------------------------------------
    async def _settle(
        self, listed: Doc, facts: list[Doc] | None = None, *, fresh: bool = False
    ) -> Doc:
        """Issue missing tickets and rebuild the view from the facts and status steps. `fresh`:
        the entry was just inserted with the view of a complaint that has neither."""
        complaint_id = listed["_id"]
        if facts is None:
            facts, changes = await _all(
                self.store.run_of(self.store.facts, complaint_id),
                self.store.changes_of(complaint_id),
            )
        else:
            changes = await self.store.changes_of(complaint_id)
        if fresh and not facts and not changes:
            view: Doc = listed["view"]
            return view
        issued = await self._tickets(listed, facts)
        view = listed["view"]
        number = {"number": view["register_number"], "at": view["registered_at"]}
        ordered = sorted(facts, key=lambda fact: fact["at"])
        view = build_view(listed, number, changes, ordered, issued)
        await self.store.listing.update_one({"_id": complaint_id}, {"$set": {"view": view}})
        return view
