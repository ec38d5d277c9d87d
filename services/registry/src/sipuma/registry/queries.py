"""Registry use cases that only read: the staff list, a complaint's detail, the needs-attention
list, the service-standard report and the public tracking timeline. Each answers in domain terms
or raises a domain error (`NotFound`, `UnknownTicket`); the HTTP edge shapes the answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sipuma.registry import sla, tickets
from sipuma.registry.categories import Categories
from sipuma.registry.domain import ComplaintFilter, Doc, NotFound, OfficeScope, UnknownTicket
from sipuma.registry.ports import ComplaintRepository
from sipuma.registry.search import name_keys
from sipuma.registry.statistics import (
    COMPLAINT_FIELDS,
    FIELDS,
    OfficeStatistics,
    complaint_row,
)
from sipuma.registry.views import detail, revocations, timeline
from sipuma.shared.offices import OfficeDirectory

# Looked up when the input is malformed: the same work as for a well-formed unknown ticket.
NOT_A_TICKET = "0" * (tickets.DATA_SYMBOLS + 1)


@dataclass(frozen=True)
class Page:
    total: int
    items: list[Doc]
    total_exact: bool = True


class Queries:
    def __init__(
        self,
        store: ComplaintRepository,
        offices: OfficeDirectory,
        ticket_key: bytes,
        duplicate_window: timedelta = timedelta(days=30),
        index_key: bytes = b"",
        categories: Categories | None = None,
    ) -> None:
        self._store = store
        self._offices = offices
        self._ticket_key = ticket_key
        self._duplicate_window = duplicate_window
        self._index_key = index_key  # blind index (names: staff search, issue 20)
        self.categories = categories or Categories.load()

    @property
    def offices(self) -> OfficeDirectory:
        return self._offices

    async def page(self, wanted: ComplaintFilter, page: int, page_size: int) -> Page:
        """One page of listed complaints, newest first (`page` counts from 1)."""
        found = await self._store.page(wanted, (page - 1) * page_size, page_size)
        return Page(found.total, found.items, found.exact)

    async def overdue(self, scope: OfficeScope, now: datetime, limit: int) -> Page:
        """Open complaints past their working-day deadline, the longest overdue first."""
        total, found = await self._store.overdue(scope.codes(), now, limit)
        return Page(total, found)

    def stream(self, wanted: ComplaintFilter, batch: int = 500) -> AsyncIterator[list[Doc]]:
        """The whole filtered list, a batch at a time (exports)."""
        return self._store.stream(wanted, batch)

    def name_keys(self, text: str) -> tuple[str, ...]:
        """The blind keys a typed name (or NIP) is searched by (`search.name_keys`)."""
        return tuple(name_keys(self._index_key, text))

    async def ticket_complaint(self, ticket: str) -> str | None:
        """The complaint a ticket was issued for (staff search; a revoked one too)."""
        canonical = tickets.parse(ticket[:64])
        if canonical is None:
            return None
        found = await self._store.ticket_by_hash(tickets.ticket_hash(self._ticket_key, canonical))
        return None if found is None else str(found["complaint_id"])

    async def needing_attention(self, limit: int) -> Page:
        """The complaints waiting for a person, oldest first, without intake data."""
        total, found = await self._store.needing_attention(limit)
        return Page(total, found)

    async def complaint_id_of(self, register_number: str, scope: OfficeScope) -> str:
        number = await self._store.by_number(register_number)
        if number is None or not scope.covers(number["office_code"]):
            raise NotFound(register_number)
        return str(number["complaint_id"])

    async def duplicates_of(self, register_number: str, scope: OfficeScope) -> list[Doc]:
        """The possible-duplicate hint alone (no identity, so no audit entry): intake adds it to
        its answer right after the number is known."""
        complaint_id = await self.complaint_id_of(register_number, scope)
        complaint = await self._store.complaint_match(complaint_id)
        if complaint is None:
            raise NotFound(register_number)
        return await self.possible_duplicates(complaint, scope)

    async def identify(self, register_number: str, scope: OfficeScope) -> dict[str, str]:
        """The complaint id and office behind a register number the caller may see (NotFound
        otherwise): what another service needs to act by number, without any identity."""
        number = await self._store.by_number(register_number)
        if number is None or not scope.covers(number["office_code"]):
            raise NotFound(register_number)
        return {
            "register_number": number["number"],
            "complaint_id": number["complaint_id"],
            "office_code": number["office_code"],
        }

    async def detail(self, register_number: str, scope: OfficeScope) -> dict[str, Any]:
        """Everything staff may see about one complaint; another office's number is not even
        confirmed (NotFound)."""
        number = await self._store.by_number(register_number)
        if number is None or not scope.covers(number["office_code"]):
            raise NotFound(register_number)
        complaint_id = number["complaint_id"]
        complaint = await self._store.complaint(complaint_id)
        if complaint is None:
            raise NotFound(register_number)
        changes, facts, issued, categorised = await asyncio.gather(
            self._store.changes_of(complaint_id),
            self._store.facts_of(complaint_id),
            self._store.tickets_of(complaint_id),
            self._store.categorisations_of(complaint_id),
        )
        shown = detail(complaint, number, changes, facts, issued)
        shown.update(self.category_of(categorised))
        shown["possible_duplicates"] = await self.possible_duplicates(complaint, scope)
        return shown

    def category_of(self, steps: list[Doc]) -> Doc:
        """The current category (None: not categorised yet) and every step, each with the
        previous value (the history is never edited)."""
        label = self.categories.label
        current = steps[-1]["category"] if steps else None
        return {
            "category": current,
            "category_label": label(current),
            "category_history": [
                {
                    "category": s["category"],
                    "label": label(s["category"]),
                    "previous": s.get("previous"),
                    "previous_label": label(s["previous"]) if s.get("previous") else None,
                    "reason": s.get("reason"),
                    "by": s["by"],
                    "at": s["at"],
                }
                for s in steps
            ],
        }

    async def possible_duplicates(self, complaint: Doc, scope: OfficeScope) -> list[Doc]:
        """Earlier or later filings by the same complainant (same blind NIK/phone key) within the
        window around this one, at any office; register numbers only where the caller may see
        them (another office's filing is counted, not named). A hint: it never blocks."""
        keys = complaint.get("match_keys") or []
        if not keys:
            return []
        around = complaint["received_at"]
        found = await self._store.same_complainant(
            complaint["_id"], keys, around - self._duplicate_window, around + self._duplicate_window
        )
        visible_ids = [other["_id"] for other in found if scope.covers(other["office_code"])]
        numbers = await self._store.numbers_of(visible_ids)
        hints = []
        for other in found:
            visible = scope.covers(other["office_code"])
            number = numbers.get(other["_id"]) if visible else None
            hints.append(
                {
                    "office_code": other["office_code"],
                    "received_at": other["received_at"],
                    "register_number": number["number"] if number else None,
                    "visible": visible,
                }
            )
        return hints

    async def service_standard(self, first: date, last: date, scope: OfficeScope) -> Doc:
        """The SOP's 30-minute standard per office over the local dates first..last."""
        codes = scope.codes()
        # The listing's view carries when the intake ended (rebuilt from the facts at each event);
        # only what the report shows is read (whole entries: 40 % of its time at 829 rows,
        # bench/profiles/g-report-before-1.txt), in pages as large as a month of an office: the
        # answer holds them all anyway, and 200 a page took 5 round trips where 1 does.
        window = self._widened(first, last)
        pages = self._store.listed_stream(codes, *window, sla.READ_FIELDS, sla.READ_BATCH)
        listed = [entry async for entry in pages]
        return sla.report(listed, self._offices, first, last, codes)

    def _widened(self, first: date, last: date) -> tuple[datetime, datetime]:
        # UTC window wide enough for every Indonesian zone; the local date decides per office.
        start = datetime.combine(first, time(), UTC) - timedelta(days=1)
        return start, datetime.combine(last, time(), UTC) + timedelta(days=2)

    async def statistics(self, first: date, last: date, scope: OfficeScope, now: datetime) -> Doc:
        """Office statistics over the local dates first..last, read from a cursor."""
        codes = scope.codes()
        found = OfficeStatistics(
            self._offices,
            first,
            last,
            codes if codes is not None else self._offices.codes(),
            now,
            self.categories,
        )
        async for entry in self._store.listed_stream(codes, *self._widened(first, last), FIELDS):
            found.add(entry)
        return found.result()

    async def complaint_rows(
        self, first: date, last: date, scope: OfficeScope, now: datetime
    ) -> AsyncIterator[list[Any]]:
        """The per-complaint export, a row at a time from a cursor (header first)."""
        yield list(COMPLAINT_FIELDS)
        fields = {**FIELDS, "view.register_number": 1}
        async for entry in self._store.listed_stream(
            scope.codes(), *self._widened(first, last), fields
        ):
            row = complaint_row(entry, self._offices, first, last, now)
            if row is not None:
                yield row

    async def track(self, ticket: str) -> list[Doc]:
        """The public timeline of the ticket's complaint: statuses and dates only. An unknown
        and a malformed ticket raise the same UnknownTicket after the same work (an HMAC and a
        lookup)."""
        canonical = tickets.parse(ticket[:64])
        digest = tickets.ticket_hash(self._ticket_key, canonical or NOT_A_TICKET)
        found = await self._store.ticket_by_hash(digest)
        if canonical is None or found is None:
            raise UnknownTicket
        complaint_id = found["complaint_id"]
        complaint, issued = await asyncio.gather(
            self._store.complaint_dates(complaint_id), self._store.tickets_of(complaint_id)
        )
        # A ticket sent to a contact that was corrected since is revoked: the same answer as
        # an unknown one (the old address may have been someone else's).
        if complaint is None or revocations(issued).get(found["_id"]) is not None:
            raise UnknownTicket
        number, changes, facts = await asyncio.gather(
            self._store.number_of(complaint_id),
            self._store.changes_of(complaint_id),
            self._store.facts_of(complaint_id),
        )
        return timeline(complaint, number, changes, facts)
