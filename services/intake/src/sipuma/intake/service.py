"""Intake use cases: record a complaint, show its status, amend it after save (SOP steps 2–8).

Each use case checks everything first and publishes only when the whole request is valid, so
no error ever leaves an event behind. They raise the domain's refusals (`domain.py`); the HTTP
edge chooses the status.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import TypeAdapter, ValidationError

from sipuma.intake import checks, outbound
from sipuma.intake.domain import (
    Amendment,
    ComplaintStatus,
    CompletenessRule,
    Delivery,
    Entry,
    Hint,
    Invalid,
    Violation,
    book_not_ready,
    complaint_unknown,
    not_receiver,
    office_not_configured,
    officer_id_unusable,
    other_office,
)
from sipuma.intake.metrics import COMPLAINTS, REGISTER_WAIT
from sipuma.intake.models import (
    ComplaintIn,
    RegisterNumberCommunicationIn,
    ReportedEmployeesIn,
    SupplementIn,
    TrackingContactIn,
)
from sipuma.intake.ports import Publisher, StatusBook
from sipuma.shared import events as ev
from sipuma.shared.auth import Principal, Role
from sipuma.shared.offices import OfficeDirectory
from sipuma.shared.payloads import Code

_OFFICER_ID = TypeAdapter(Code)  # the events' own rule, so no accepted request fails to publish


@dataclass(frozen=True)
class Recorded:
    complaint_id: str
    status: ComplaintStatus
    entry: Entry | None
    contact: checks.ContactCheck | None = None
    duplicates: list[Hint] | None = None  # None: not known (no number yet, or no hint in time)


@dataclass(frozen=True)
class Amended:
    complaint_id: str
    amendment_id: str
    delivery: Delivery
    contact: checks.ContactCheck | None = None


@dataclass
class Intake:
    rule: CompletenessRule
    register_wait_s: float
    offices: OfficeDirectory
    publisher: Publisher
    book: StatusBook
    received_max_age: timedelta = timedelta(days=30)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    # -- who may ------------------------------------------------------------------------------
    @staticmethod
    def _require_receiver(who: Principal) -> None:
        if not who.has(Role.RECEIVER):
            raise not_receiver()
        try:
            _OFFICER_ID.validate_python(who.officer_id)
        except ValidationError:
            raise officer_id_unusable() from None

    def _require_known_office(self, who: Principal) -> None:
        """Anything intake accepts must be registrable: the registry numbers complaints only
        for configured offices (and dead-letters the rest), so refuse here instead."""
        if self.offices.get(who.office_code) is None:
            raise office_not_configured(who.office_code)

    def _own_complaint(self, who: Principal, complaint_id: str) -> Entry:
        entry = self.book.get(complaint_id)
        if entry is None:
            raise complaint_unknown() if self.book.is_live() else book_not_ready()
        if entry.office_code != who.office_code:
            raise other_office()
        return entry

    def by_number(self, who: Principal, register_number: str) -> Entry:
        """The officer's own-office complaint with this register number (any case)."""
        self._require_receiver(who)
        entry = self.book.by_number(register_number)
        if entry is None:
            raise complaint_unknown() if self.book.is_live() else book_not_ready()
        return self._own_complaint(who, entry.complaint_id)

    # -- SOP steps 3–4 ------------------------------------------------------------------------
    async def record_complaint(
        self, who: Principal, body: ComplaintIn, complaint_id: uuid.UUID, correlation_id: str
    ) -> Recorded:
        self._require_receiver(who)
        office_code = body.office_code or who.office_code
        if office_code != who.office_code:
            raise other_office()
        if body.office_code is None:  # a given one is checked with the fields (422 office_code)
            self._require_known_office(who)
        now = self.clock()
        checked = checks.complaint(
            body,
            self.rule,
            now,
            known_office=self.offices.get(office_code) is not None,
            received_max_age=self.received_max_age,
        )
        if checked.found:
            raise Invalid(checked.found)
        cid = str(complaint_id)
        event = outbound.complaint_received(
            cid, office_code, who.officer_id, checked.clean, correlation_id, now
        )
        waiting = self.book.expect(cid) if self.book.is_live() else None
        hinting = self.book.expect_hints(cid) if waiting is not None else None
        started = time.monotonic()
        if await self.publisher.publish(event) is Delivery.QUEUED:
            self.book.note(cid, office_code, ComplaintStatus.QUEUED)
            if waiting is not None and hinting is not None:
                self.book.forget(cid, waiting)
                await self.book.wait_hints(cid, hinting, 0)
            COMPLAINTS.labels("queued").inc()
            return Recorded(cid, ComplaintStatus.QUEUED, None, checked.contact)
        self.book.note(cid, office_code, ComplaintStatus.RECEIVED)
        entry, hints = None, None
        if waiting is not None and hinting is not None:
            with REGISTER_WAIT.time():
                entry = await self.book.wait_registered(cid, waiting, self.register_wait_s)
            # The registry sends the hint right after the number; within the same budget.
            left = self.register_wait_s - (time.monotonic() - started) if entry else 0
            hints = await self.book.wait_hints(cid, hinting, left)
        status = ComplaintStatus.RECEIVED if entry is None else ComplaintStatus.REGISTERED
        COMPLAINTS.labels(status.value).inc()
        return Recorded(cid, status, entry, checked.contact, hints)

    def status(self, who: Principal, complaint_id: str) -> Entry:
        self._require_receiver(who)
        self._require_known_office(who)
        return self._own_complaint(who, complaint_id)

    # -- SOP steps 5–8 ------------------------------------------------------------------------
    async def _amend(
        self,
        change: Amendment,
        found: list[Violation],
        event: Callable[[datetime], ev.Event],
        contact: checks.ContactCheck | None = None,
    ) -> Amended:
        self._require_receiver(change.who)
        self._require_known_office(change.who)
        self._own_complaint(change.who, change.complaint_id)
        if found:
            raise Invalid(found)
        delivery = await self.publisher.publish(event(self.clock()))
        return Amended(change.complaint_id, change.amendment_id, delivery, contact)

    async def add_supplement(self, change: Amendment, body: SupplementIn) -> Amended:
        return await self._amend(
            change,
            checks.supplement(body),
            lambda at: outbound.complaint_supplemented(change, at, body),
        )

    async def add_reported_employees(self, change: Amendment, body: ReportedEmployeesIn) -> Amended:
        clean, found = checks.reported_employees(body)
        return await self._amend(
            change, found, lambda at: outbound.employees_reported(change, at, clean)
        )

    async def set_tracking_contact(self, change: Amendment, body: TrackingContactIn) -> Amended:
        found: list[Violation] = []
        checked = checks.tracking_contact("", body, found)
        usable = checked.usable
        if usable is None:  # every channel given was refused: nothing to save, name them all
            found += [r.violation for r in checked.refused]

        def event(at: datetime) -> ev.Event:
            assert usable is not None  # otherwise `found` names the refused channels
            return outbound.tracking_contact_provided(change, at, usable)

        return await self._amend(change, found, event, checked)

    async def record_communication(
        self, change: Amendment, body: RegisterNumberCommunicationIn
    ) -> Amended:
        return await self._amend(
            change,
            checks.communication(body),
            lambda at: outbound.register_number_communicated(change, at, body),
        )
