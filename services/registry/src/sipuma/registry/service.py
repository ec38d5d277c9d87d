"""Registry use cases that change something: receive and number a complaint, absorb later events,
issue tickets, move the follow-up status, number what waited at start (`recover`). Every
source-of-truth write is one insert with a duplicate-proof key (`ports.ComplaintRepository`); the
complaint's listing entry (`view`) is rebuilt from those facts after a change. The reads are in
`queries.py`.

A ComplaintReceived, in order: the complaint record → its number → its ComplaintRegistered and,
for a contact given at intake, the ticket and its TicketIssued, both acknowledged by Kafka → the
listing entry → the facts and status steps that came before it (tickets for their contacts, the
view). Each step is idempotent, so the redelivery after a crash (the offset is committed only
once all of it is done) runs the same steps and adds nothing twice.

A complaint that cannot be numbered (its office is not configured here) is never dropped: it is
stored with an `attention` mark (reason, since), listed for supervisors, counted in a metric, and
numbered as soon as the reason is gone (a redelivery, or `recover` at the next start).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from uuid import UUID, uuid4

import structlog

from sipuma.registry import metrics, tickets
from sipuma.registry.deadlines import DeadlinePolicy
from sipuma.registry.disclosure import masked_name
from sipuma.registry.domain import (
    REOPENED_TO,
    UNKNOWN_OFFICE,
    CategoryConflict,
    Conflict,
    Doc,
    NotFound,
    OfficeScope,
    ReasonRequired,
    Status,
    check_reopen,
    check_transition,
    format_register_number,
    number_key,
    undo_target,
)
from sipuma.registry.numbering import Numberer
from sipuma.registry.outbox import OutboxRelay, is_sent
from sipuma.registry.ports import ComplaintRepository
from sipuma.registry.search import name_keys
from sipuma.registry.views import COMPLAINANT_CORRECTED, build_view
from sipuma.shared import events as ev
from sipuma.shared.blind_index import complainant_keys
from sipuma.shared.offices import OfficeDirectory
from sipuma.shared.payloads import TrackingContact

SOURCE = "registry"
# What the listing entry copies from the complaint record.
LISTED = (
    "_id",
    "office_code",
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
    identity_erased: str
    identity_read: str
    duplicates_hinted: str
    categorised: str


@dataclass(frozen=True)
class Config:
    number_format: str
    ticket_key: bytes
    topics: Topics
    deadlines: DeadlinePolicy | None = None  # None: no working-day deadlines kept
    index_key: bytes = b""  # blind index of NIK/phone (the possible-duplicate hint)
    duplicate_window: timedelta = timedelta(days=30)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _all(*steps: Awaitable[Any]) -> list[Any]:
    """Run concurrently and wait for every one (none is left running), then raise the first
    error if any: the caller's failure must not leave work going on behind it."""
    done = await asyncio.gather(*steps, return_exceptions=True)
    for result in done:
        if isinstance(result, BaseException):
            raise result
    return done


def _employee_keys(key: bytes, found: list[Doc] | None) -> list[str]:
    keys: set[str] = set()
    for employee in found or []:
        keys.update(name_keys(key, employee.get("name")))
        keys.update(name_keys(key, employee.get("nip")))
    return sorted(keys)


class Registry:
    def __init__(
        self,
        store: ComplaintRepository,
        offices: OfficeDirectory,
        config: Config,
        relay: OutboxRelay,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._offices = offices
        self._config = config
        self._relay = relay
        self._clock = clock
        self._numberer = Numberer(store, self._number_doc)

    # -- complaint received: store, number, ticket, listing -----------------------------------
    async def receive(self, event: ev.ComplaintReceived) -> Doc | None:
        """The complaint's number document, or None when it waits for a person. Idempotent by
        complaint id; returns once every event it caused was acknowledged by Kafka."""
        record: Doc = {
            "_id": str(event.complaint_id),
            "office_code": event.office_code,
            "received_at": event.received_at,
            "saved_at": event.occurred_at,
            "channel": event.channel.value,
            "received_event_id": str(event.event_id),
            "correlation_id": event.correlation_id,
            "intake": event.model_dump(mode="json"),
            # Keyed blind index (never the values): finds earlier filings by the same person.
            "match_keys": complainant_keys(
                self._config.index_key,
                nik=event.complainant.nik if event.complainant else None,
                phones=[
                    event.complainant.phone if event.complainant else None,
                    event.tracking_contact.mobile if event.tracking_contact else None,
                ],
            ),
        }
        fresh = await self._store.add_complaint(record)
        if not fresh:  # a redelivery, or a replica at the same moment: the stored record
            stored = await self._store.complaint(record["_id"])
            assert stored is not None  # complaints are never deleted
            record = stored
        return await self._register(record, fresh=fresh)

    async def _register(self, record: Doc, *, fresh: bool = False) -> Doc | None:
        """Number the complaint, publish, list it; then catch up with what came before it."""
        complaint_id, office = record["_id"], record["office_code"]
        number = None if fresh else await self._store.number_of(complaint_id)
        if number is None and self._offices.get(office) is None:
            await self._needs_attention(record, UNKNOWN_OFFICE)
            return None
        # The duplicate hint is found and sent while the number is assigned and published, not
        # after: intake's answer waits for both within its budget, and one after the other cost
        # it the hint's store reads, insert and publish on top (bench/pipeline_trace.py). The
        # number's publication failing still fails the handler; the hint is only a hint.
        announced, _ = await _all(
            self._number_and_announce(record, number), self._hint_duplicates(record)
        )
        number, done = cast(tuple[Doc, list[Any]], announced)
        contact = record["intake"].get("tracking_contact")
        listing: Doc = {key: record[key] for key in LISTED}
        listing["register_year"] = number["year"]
        listing["tracking_contact"] = contact
        # Masked in clear (initials, last 4 digits) so lists need no decryption; erasure drops it.
        listing["complainant_masked"] = masked_name(record["intake"].get("complainant"))
        listing["number_id"] = number["_id"]
        # Staff search (issue 20) on blind keys only (identity is sealed, issue 16): the
        # complainant's name and the employees named at intake (later ones: `_settle`).
        intake = record["intake"]
        key = self._config.index_key
        listing["name_keys"] = name_keys(key, (intake.get("complainant") or {}).get("name"))
        listing["employee_keys"] = _employee_keys(key, (intake.get("elements") or {}).get("who"))
        listing["view"] = self._dated(listing, build_view(listing, number, [], [], done[1:]), [])
        listing["version"] = len(done[1:])
        if "deadline" in listing["view"]:
            listing["next_alert_at"] = listing["view"]["deadline"]["next_alert_at"]
            listing["due_at"] = listing["view"]["deadline"]["due_at"]
        if await self._store.list_complaint(listing):
            await self._settle(listing, fresh=True)
        else:  # listed before (a redelivery) or by another replica at the same moment
            found = await self._store.listed(complaint_id)
            assert found is not None
            await self._settle(found)
        if "attention" in record:
            await self._store.attended(complaint_id)
            reason = record["attention"]["reason"]
            metrics.ATTENTION_RESOLVED.labels(reason=reason).inc()
            log.info("complaint_attention_resolved", complaint_id=complaint_id, reason=reason)
            await self._count_waiting()
        return number

    async def _number_and_announce(self, record: Doc, number: Doc | None) -> tuple[Doc, list[Any]]:
        """The complaint's number (assigned now unless given) once it and the ticket, if a
        contact was given, are published; with the ticket step's result."""
        if number is None:
            year = self._offices.local_year(record["office_code"], record["saved_at"])
            number = await self._numberer.assign({**record, "register_year": year}, fresh=True)
        contact = record["intake"].get("tracking_contact")
        steps: list[Awaitable[Any]] = [self._relay.send("register_numbers", number)]
        if contact:
            given = TrackingContact.model_validate(contact)
            source = record["received_event_id"]
            steps.append(self._ticket(record, number["number"], given, source, record["saved_at"]))
        return number, await _all(*steps)

    async def _needs_attention(self, record: Doc, reason: str) -> None:
        """Keep the complaint where supervisors see it; never drop it. The office code is
        configuration, not personal data."""
        if "attention" not in record:
            mark = {"reason": reason, "since": self._clock()}
            await self._store.mark_attention(record["_id"], mark)
            record["attention"] = mark
            metrics.NEEDS_ATTENTION.labels(reason=reason).inc()
            await self._count_waiting()
        log.warning(
            "complaint_needs_attention",
            complaint_id=record["_id"],
            office_code=record["office_code"],
            reason=reason,
        )

    async def _count_waiting(self) -> None:
        metrics.ATTENTION_WAITING.set(await self._store.count_needing_attention())

    def _number_doc(self, complaint: Doc, seq: int) -> Doc:
        office, year = complaint["office_code"], int(complaint["register_year"])
        number = format_register_number(self._config.number_format, office, year, seq)
        now = self._clock()
        event = ev.ComplaintRegistered(
            source=SOURCE,
            correlation_id=complaint.get("correlation_id") or complaint["_id"],
            office_code=office,
            complaint_id=UUID(complaint["_id"]),
            register_number=number,
            sequence=seq,
            register_year=year,
            registered_at=now,
            received_at=complaint["received_at"],
            channel=complaint["channel"],
        )
        return {
            "_id": number_key(office, year, seq),
            "office_code": office,
            "year": year,
            "seq": seq,
            "number": number,
            "complaint_id": complaint["_id"],
            "at": now,
            "outbox": self._relay.entry(event, self._config.topics.registered, now=now),
        }

    async def recover(self, limit: int = 1000) -> int:
        """At start: number the complaints whose reason for attention is gone (their office is
        configured now); no redelivery would bring them back. Returns how many were numbered.
        (A registration a crash left part-way needs nothing here: its offset was not committed,
        so the event comes again.)"""
        _, waiting = await self._store.needing_attention(limit)
        found = [c for c in waiting if self._offices.get(c["office_code"]) is not None]
        numbered = 0
        for summary in found:
            record = await self._store.complaint(summary["_id"])  # with the intake data
            try:
                if record is not None and await self._register(record) is not None:
                    numbered += 1
            except Exception as error:  # its redelivery finishes it; the type only (no PII)
                failed = type(error).__name__
                log.warning("recover_failed", complaint_id=summary["_id"], error=failed)
        await self._count_waiting()
        return numbered

    # -- erasure (retention, a lawful request) ------------------------------------------------
    async def _hint_duplicates(self, record: Doc) -> None:
        """The possible-duplicate hint for intake's answer (docs/identity.md), on a restricted
        topic: every filing with a shared blind key within the window, at any office, each with
        its number (intake shows only what its caller may see). Sent even when empty, so intake
        need not wait; a hint only: a failure to publish is left to the relay."""
        keys = record.get("match_keys") or []
        found: list[ev.DuplicateHint] = []
        if keys:
            around, window = _aware(record["received_at"]), self._config.duplicate_window
            others = await self._store.same_complainant(
                record["_id"], keys, around - window, around + window
            )
            numbers = await self._store.numbers_of([other["_id"] for other in others])
            for other in others:
                number = numbers.get(other["_id"])
                found.append(
                    ev.DuplicateHint(
                        office_code=other["office_code"],
                        received_at=_aware(other["received_at"]),
                        register_number=number["number"] if number else None,
                    )
                )
        event = ev.ComplaintDuplicatesHinted(
            source=SOURCE,
            correlation_id=record.get("correlation_id") or record["_id"],
            office_code=record["office_code"],
            complaint_id=UUID(record["_id"]),
            duplicates=found,
        )
        doc: Doc = {
            "_id": record["_id"],
            "outbox": self._relay.entry(
                event, self._config.topics.duplicates_hinted, now=self._clock()
            ),
        }
        if not await self._store.add_hint(doc):
            doc = await self._store.hint(record["_id"]) or doc
        await self._relay.send_soon("duplicate_hints", doc)

    async def erase_identity(self, register_number: str, officer_id: str) -> bool:
        """Make the complaint's identity and texts unreadable for good by deleting its data key;
        its number, office, dates and status (the statistics) stay. The erasure record (with
        `complaint.identity-erased.v1` in its outbox) is stored first, so a crash between the
        two still ends erased and announced when the request is repeated. False when the
        complaint was erased before."""
        number = await self._store.by_number(register_number)
        if number is None:
            raise NotFound(register_number)
        complaint_id = number["complaint_id"]
        now = self._clock()
        event = ev.ComplaintIdentityErased(
            source=SOURCE,
            correlation_id=complaint_id,
            office_code=number["office_code"],
            complaint_id=UUID(complaint_id),
            erased_at=now,
        )
        doc = {
            "_id": complaint_id,
            "by": officer_id,
            "at": now,
            "outbox": self._relay.entry(event, self._config.topics.identity_erased, now=now),
        }
        recorded = await self._store.add_erasure(doc)
        deleted = await self._store.erase_identity(complaint_id)
        if recorded:
            await self._relay.send_soon("erasures", doc)
            log.info("identity_erased", complaint_id=complaint_id)
        return recorded or deleted

    # -- later events: one fact each, `_id` = event id ----------------------------------------
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
        fresh = await self._store.record_fact(fact)
        # Read after the fact was inserted: a complaint listed later reads the facts after
        # listing, so one of the two handlers sees the other (tickets, view).
        listed = await self._store.listed(complaint_id)
        if listed is not None:
            await self._settle(listed)
        return fresh  # not listed yet: its registration picks the fact up

    # -- tickets ------------------------------------------------------------------------------
    async def _tickets(self, listed: Doc, facts: list[Doc]) -> list[Doc]:
        """Every tracking contact's ticket, issued if missing, published if not yet (a crash)."""
        complaint_id = listed["_id"]
        existing = {t["_id"]: t for t in await self._store.tickets_of(complaint_id)}
        register_number = listed["view"]["register_number"]
        found: list[Doc] = []
        for contact, source_id, given_at in self._contacts(listed, facts):
            ticket = existing.get(f"{complaint_id}/{source_id}")
            if ticket is None or not is_sent(ticket):
                ticket = await self._ticket(listed, register_number, contact, source_id, given_at)
            found.append(ticket)
        return found

    async def _ticket(
        self,
        complaint: Doc,
        register_number: str,
        contact: TrackingContact,
        source_id: str,
        given_at: datetime,
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
            doc = {
                "_id": key,
                "complaint_id": complaint_id,
                "office_code": complaint["office_code"],
                "hash": tickets.ticket_hash(self._config.ticket_key, canonical),
                "channels": [c for c in ("email", "mobile") if getattr(contact, c)],
                "issued_at": self._clock(),
                # Orders the contacts: a later contact's ticket revokes the earlier ones.
                "contact_at": given_at,
                "outbox": self._relay.entry(event, self._config.topics.tickets, secret=True),
            }
            if not await self._store.add_ticket(doc):
                # A concurrent handler (or replica, or a run before a crash) issued it: theirs
                # is the ticket. None holds the key: the random ticket's hash was taken, redraw.
                found = await self._store.ticket(key)
                if found is None:
                    continue
                doc = found
            await self._relay.send("tickets", doc)  # a sent secret entry loses its payload
            return doc

    @staticmethod
    def _contacts(listed: Doc, facts: list[Doc]) -> list[tuple[TrackingContact, str, datetime]]:
        """Every tracking contact in the order given, each with the event that brought it and
        when it was given."""
        found: list[tuple[TrackingContact, str, datetime]] = []
        given = listed.get("tracking_contact")
        if given:
            contact = TrackingContact.model_validate(given)
            found.append((contact, listed["received_event_id"], listed["saved_at"]))
        for fact in facts:
            if fact["type"] == ev.TrackingContactProvided.TYPE:
                contact = TrackingContact.model_validate(fact["data"]["contact"])
                found.append((contact, fact["_id"], fact["at"]))
        return found

    # -- follow-up status ---------------------------------------------------------------------
    async def change_status(
        self,
        register_number: str,
        wanted: Status,
        note: str,
        officer_id: str,
        scope: OfficeScope,
        extra: Doc | None = None,
    ) -> Doc:
        """The officer's status step (its event published, or by the relay if Kafka is away).
        NotFound also when the number belongs to an office outside `scope`. `extra`: what the
        step carries besides (a forwarding's destination and reference)."""
        number, changes, current = await self._current(register_number, scope)
        check_transition(current, wanted)
        return await self._step(number, changes, current, wanted, officer_id, note, extra or {})

    async def reopen(
        self, register_number: str, reason: str, officer_id: str, scope: OfficeScope
    ) -> Doc:
        """A closed complaint followed up again: a new step with the reason, never an edit."""
        number, changes, current = await self._current(register_number, scope)
        check_reopen(current)
        extra = {"kind": "reopen", "reason": reason}
        return await self._step(number, changes, current, REOPENED_TO, officer_id, reason, extra)

    async def undo(
        self, register_number: str, reason: str, officer_id: str, scope: OfficeScope
    ) -> Doc:
        """A mistaken step taken back: a new step to the status before it, with the reason and
        the step it undoes (the mistaken one stays in the history)."""
        number, changes, current = await self._current(register_number, scope)
        back = undo_target(changes)
        extra = {"kind": "undo", "reason": reason, "undoes": changes[-1]["step"]}
        return await self._step(number, changes, current, back, officer_id, reason, extra)

    async def _current(
        self, register_number: str, scope: OfficeScope
    ) -> tuple[Doc, list[Doc], Status]:
        number = await self._store.by_number(register_number)
        if number is None or not scope.covers(number["office_code"]):
            raise NotFound(register_number)
        changes = await self._store.changes_of(number["complaint_id"])
        current = Status(changes[-1]["to"]) if changes else Status.REGISTERED
        return number, changes, current

    async def _step(
        self,
        number: Doc,
        changes: list[Doc],
        current: Status,
        wanted: Status,
        officer_id: str,
        note: str,
        extra: Doc,
    ) -> Doc:
        complaint_id = number["complaint_id"]
        step = len(changes) + 1
        now = self._clock()
        listed = await self._store.listed(complaint_id)
        if listed is None:
            # Numbered a moment ago, not listed yet (or its registration crashed before the
            # listing and awaits its redelivery): staff cannot have seen it, and a step never
            # precedes the listing, so a fresh listing's `_settle` need not read the steps.
            raise NotFound(number["number"])
        event = ev.ComplaintStatusChanged(
            source=SOURCE,
            correlation_id=listed.get("correlation_id") or complaint_id,
            office_code=number["office_code"],
            complaint_id=UUID(complaint_id),
            from_status=current,
            to_status=wanted,
            changed_at=now,
        )
        fields = {"kind": "change", "from": current.value, "to": wanted.value, "note": note}
        doc = await self._record_step(
            self._store.add_step,
            Conflict(number["number"]),
            number,
            step,
            {**fields, **extra},
            officer_id,
            (event, self._config.topics.status_changed, now),
        )
        # No redelivery repeats an HTTP request: if Kafka is away, the relay publishes it.
        await self._relay.send_soon("status_changes", doc)
        await self._settle(listed)
        return doc

    async def _record_step(
        self,
        add: Callable[[Doc], Awaitable[bool]],
        refused: Exception,
        number: Doc,
        step: int,
        fields: Doc,
        officer_id: str,
        announce: tuple[ev.Event, str, datetime],
    ) -> Doc:
        """Insert step `step` of a complaint's history (a status step, a categorisation) with
        who, when, the number and its event (the outbox entry, same insert); `refused` is
        raised when that step exists: its key `<complaint>/<step>` is the compare-and-set, so a
        second officer's step n is refused. The caller sends the event."""
        event, topic, now = announce
        complaint_id = number["complaint_id"]
        doc = {
            "_id": f"{complaint_id}/{step:04d}",
            "complaint_id": complaint_id,
            "step": step,
            **fields,
            "by": officer_id,
            "at": now,
            "register_number": number["number"],
            "outbox": self._relay.entry(event, topic, now=now),
        }
        if not await add(doc):
            raise refused
        return doc

    def _dated(self, listed: Doc, view: Doc, changes: list[Doc]) -> Doc:
        """The view with the deadline of the stage the complaint is in (deadlines.py)."""
        office = self._offices.get(listed["office_code"])
        since = changes[-1]["at"] if changes else view.get("registered_at")
        if self._config.deadlines is None or office is None or since is None:
            return view
        deadline = self._config.deadlines.deadline(view["status"], since, office.zone)
        if deadline is not None:
            view["deadline"] = deadline.doc()
        return view

    # -- the complaint's category (kategori pengaduan), set by UKI after registration ------------
    async def categorise(
        self,
        register_number: str,
        category: str,
        reason: str | None,
        officer_id: str,
        scope: OfficeScope,
    ) -> tuple[Doc, bool]:
        """Set or change the category (a code the caller checked against the vocabulary): a new
        step with officer, time and reason (required for a change), its
        `complaint.categorised.v1` in the same insert (the outbox); the earlier steps stay as
        the history. The same category again adds nothing: (last step, False)."""
        number = await self._store.by_number(register_number)
        if number is None or not scope.covers(number["office_code"]):
            raise NotFound(register_number)
        complaint_id = number["complaint_id"]
        listed = await self._store.listed(complaint_id)
        if listed is None:  # numbered a moment ago, not listed yet: staff cannot have seen it
            raise NotFound(register_number)
        steps = await self._store.categorisations_of(complaint_id)
        previous = steps[-1]["category"] if steps else None
        if steps and (listed.get("category_step") or 0) < steps[-1]["step"]:
            # A crash between a step's insert and the listing's mark: the mark catches up here
            # (repeating the choice is enough; the step and its event were never at risk).
            await self._store.set_category(complaint_id, steps[-1]["category"], steps[-1]["step"])
        if previous == category:
            return steps[-1], False
        if previous is not None and not reason:
            raise ReasonRequired(register_number)
        now = self._clock()
        event = ev.ComplaintCategorised(
            source=SOURCE,
            correlation_id=listed.get("correlation_id") or complaint_id,
            office_code=number["office_code"],
            complaint_id=UUID(complaint_id),
            category=category,
            previous_category=previous,
            categorised_at=now,
            register_number=number["number"],
        )
        step = len(steps) + 1
        doc = await self._record_step(
            self._store.add_categorisation,
            CategoryConflict(number["number"]),
            number,
            step,
            {
                "office_code": number["office_code"],
                "category": category,
                "previous": previous,
                "reason": reason,
            },
            officer_id,
            (event, self._config.topics.categorised, now),
        )
        await self._store.set_category(complaint_id, category, step)
        # No redelivery repeats an HTTP request: if Kafka is away, the relay publishes it.
        await self._relay.send_soon("categorisations", doc)
        return doc, True

    # -- structured corrections of the complainant's details -------------------------------------
    async def correct_complainant(
        self,
        register_number: str,
        changes: Doc,
        reason: str,
        officer_id: str,
        scope: OfficeScope,
    ) -> Doc:
        """One correction (phone, address and/or e-mail) as a new fact with officer, time and
        reason; the record as received is never edited, and the previous value is the one
        before it in the history (`views.complainant_details`)."""
        number, _, _ = await self._current(register_number, scope)
        complaint_id = number["complaint_id"]
        now = self._clock()
        fact = {
            "_id": str(uuid4()),
            "complaint_id": complaint_id,
            "office_code": number["office_code"],
            "type": COMPLAINANT_CORRECTED,
            "at": now,
            "data": {"changes": changes, "reason": reason, "officer_id": officer_id},
        }
        await self._store.record_fact(fact)
        listed = await self._store.listed(complaint_id)
        if listed is not None:
            await self._settle(listed)
        return fact

    # -- the listing entry ----------------------------------------------------------------------
    async def _settle(self, listed: Doc, *, fresh: bool = False) -> Doc:
        """Issue missing tickets and rebuild the view from the facts and status steps. `fresh`:
        the entry was just inserted with the view of a complaint that has neither. Its facts
        may precede it (evidence before the number), its steps cannot: `_step` refuses a
        complaint not listed, and one that saw the listing settles after its insert, counting
        its step, so its view's version beats this one's (issue 15: one read less per
        complaint)."""
        complaint_id = listed["_id"]
        if fresh:
            facts, changes = await self._store.facts_of(complaint_id), []
        else:
            facts, changes = await _all(
                self._store.facts_of(complaint_id), self._store.changes_of(complaint_id)
            )
        if fresh and not facts:
            view: Doc = listed["view"]
            return view
        issued = await self._tickets(listed, facts)
        shown = listed["view"]
        number = {"number": shown["register_number"], "at": shown["registered_at"]}
        view = self._dated(listed, build_view(listed, number, changes, facts, issued), changes)
        added = [
            e
            for f in facts
            if f["type"] == ev.ComplaintSupplemented.TYPE
            for e in f["data"].get("reported_employees") or []
        ]
        view["employee_keys"] = _employee_keys(self._config.index_key, added)
        # Facts, steps and tickets are only ever added: a rebuild that saw more is newer.
        await self._store.set_view(complaint_id, view, len(facts) + len(changes) + len(issued))
        return view
