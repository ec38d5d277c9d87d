"""Intake use cases: record a complaint, show its status, amend it after save (SOP steps 2–8).

Each use case validates everything first and publishes only when the whole request is valid, so
no error ever leaves an event behind. Publishing goes straight to Kafka while it answers and the
spool is empty, otherwise to the spool (see `spool.py`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import TypeAdapter, ValidationError

from sipuma.intake import outbound, rules
from sipuma.intake.domain import CompletenessRule, Violation
from sipuma.intake.metrics import COMPLAINTS, REGISTER_WAIT
from sipuma.intake.models import (
    ComplaintIn,
    ComplaintStatus,
    RegisterNumberCommunicationIn,
    ReportedEmployeesIn,
    SupplementIn,
    TrackingContactIn,
)
from sipuma.intake.spool import OutgoingRecord, RecordSender, Spool
from sipuma.intake.waiters import ComplaintBook, Entry
from sipuma.shared.auth import Principal, Role
from sipuma.shared.offices import OfficeDirectory
from sipuma.shared.payloads import Code


class Invalid(Exception):
    def __init__(self, violations: Sequence[Violation]) -> None:
        super().__init__("invalid")
        self.violations = list(violations)


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    id: str
    en: str


class Refused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.code)
        self.refusal = refusal


NOT_RECEIVER = Refusal(
    403,
    "receiver_role_required",
    "Hanya Penerima Pengaduan yang boleh mencatat dan mengubah pengaduan.",
    "Only a complaint receiver may record or amend complaints.",
)
OTHER_OFFICE = Refusal(
    403,
    "other_office",
    "Anda hanya boleh mencatat dan mengubah pengaduan untuk kantor Anda sendiri.",
    "You may record and amend complaints for your own office only.",
)
UNKNOWN_COMPLAINT = Refusal(
    404,
    "complaint_not_found",
    "Pengaduan tidak ditemukan (atau belum tercatat di layanan ini). Coba lagi sebentar.",
    "Complaint not found (or not yet known to this service). Try again shortly.",
)
OFFICER_ID_UNUSABLE = Refusal(
    403,
    "officer_id_invalid",
    "ID petugas pada token tidak dapat dipakai (hanya huruf, angka dan . _ : -, paling banyak "
    "64 karakter). Minta token baru kepada administrator.",
    "The officer id in the token cannot be used (only letters, digits and . _ : -, at most 64 "
    "characters). Ask your administrator for a new token.",
)
BOOK_NOT_READY = Refusal(
    503,
    "not_ready",
    "Layanan belum dapat memeriksa data pengaduan; coba lagi sebentar.",
    "The service cannot check complaint data yet; try again shortly.",
)


def office_not_configured(office_code: str) -> Refusal:
    # The code is configuration, not personal data: naming it tells the administrator what to fix.
    return Refusal(
        403,
        "office_not_configured",
        f"Kantor {office_code} pada token Anda tidak terdaftar di SIPUMA, sehingga pengaduan "
        f"tidak dapat dicatat. Hubungi administrator.",
        f"The office {office_code} in your token is not configured in SIPUMA, so complaints "
        f"cannot be recorded for it. Contact your administrator.",
    )


_OFFICER_ID = TypeAdapter(Code)  # the events' own rule, so no accepted request fails to publish


@dataclass(frozen=True)
class Recorded:
    complaint_id: str
    status: ComplaintStatus
    entry: Entry | None
    contact: rules.ContactCheck | None = None


@dataclass(frozen=True)
class Amended:
    complaint_id: str
    amendment_id: str
    delivery: Literal["published", "queued"]
    contact: rules.ContactCheck | None = None


@dataclass
class Intake:
    rule: CompletenessRule
    register_wait_s: float
    offices: OfficeDirectory
    topics: outbound.Topics
    sender: RecordSender
    spool: Spool
    book: ComplaintBook
    book_ready: Callable[[], bool]
    received_max_age: timedelta = timedelta(days=30)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    # -- plumbing -----------------------------------------------------------------------------
    async def _deliver(self, records: list[OutgoingRecord]) -> Literal["published", "queued"]:
        if not self.spool.pending and self.sender.available:
            acked = await self.sender.send_in_order(records)
            if acked == len(records):
                return "published"
            records = records[acked:]
        await self.spool.append(records)
        return "queued"

    @staticmethod
    def _require_receiver(who: Principal) -> None:
        if not who.has(Role.RECEIVER):
            raise Refused(NOT_RECEIVER)
        try:
            _OFFICER_ID.validate_python(who.officer_id)
        except ValidationError:
            raise Refused(OFFICER_ID_UNUSABLE) from None

    def _require_known_office(self, who: Principal) -> None:
        """Anything intake accepts must be registrable: the registry numbers complaints only
        for configured offices (and dead-letters the rest), so refuse here instead."""
        if self.offices.get(who.office_code) is None:
            raise Refused(office_not_configured(who.office_code))

    def _own_complaint(self, who: Principal, complaint_id: str) -> Entry:
        entry = self.book.get(complaint_id)
        if entry is None:
            raise Refused(UNKNOWN_COMPLAINT if self.book_ready() else BOOK_NOT_READY)
        if entry.office_code != who.office_code:
            raise Refused(OTHER_OFFICE)
        return entry

    # -- SOP steps 3–4 ------------------------------------------------------------------------
    async def record_complaint(
        self, who: Principal, body: ComplaintIn, complaint_id: uuid.UUID, correlation_id: str
    ) -> Recorded:
        self._require_receiver(who)
        office_code = body.office_code or who.office_code
        if office_code != who.office_code:
            raise Refused(OTHER_OFFICE)
        if body.office_code is None:  # a given one is checked with the fields (422 office_code)
            self._require_known_office(who)
        now = self.clock()
        checked = rules.complaint(
            body,
            self.rule,
            now,
            known_office=self.offices.get(office_code) is not None,
            received_max_age=self.received_max_age,
        )
        if checked.found:
            raise Invalid(checked.found)
        cid = str(complaint_id)
        record = outbound.complaint_received(
            self.topics, cid, office_code, who.officer_id, checked.clean, correlation_id, now
        )
        waiting = self.book.expect(cid) if self.book_ready() else None
        delivery = await self._deliver([record])
        if delivery == "queued":
            self.book.note(cid, office_code, ComplaintStatus.QUEUED)
            if waiting is not None:
                self.book.forget(cid, waiting)
            COMPLAINTS.labels("queued").inc()
            return Recorded(cid, ComplaintStatus.QUEUED, None, checked.contact)
        self.book.note(cid, office_code, ComplaintStatus.RECEIVED)
        entry = None
        if waiting is not None:
            with REGISTER_WAIT.time():
                entry = await self.book.wait_registered(cid, waiting, self.register_wait_s)
        status = ComplaintStatus.RECEIVED if entry is None else ComplaintStatus.REGISTERED
        COMPLAINTS.labels(status.value).inc()
        return Recorded(cid, status, entry, checked.contact)

    def status(self, who: Principal, complaint_id: str) -> Entry:
        self._require_receiver(who)
        self._require_known_office(who)
        return self._own_complaint(who, complaint_id)

    # -- SOP steps 5–8 ------------------------------------------------------------------------
    async def _amend(
        self,
        who: Principal,
        complaint_id: str,
        found: list[Violation],
        make: Callable[[], OutgoingRecord],
        amendment_id: str,
        contact: rules.ContactCheck | None = None,
    ) -> Amended:
        self._require_receiver(who)
        self._require_known_office(who)
        self._own_complaint(who, complaint_id)
        if found:
            raise Invalid(found)
        delivery = await self._deliver([make()])
        return Amended(complaint_id, amendment_id, delivery, contact)

    async def add_supplement(
        self,
        who: Principal,
        complaint_id: str,
        body: SupplementIn,
        amendment_id: uuid.UUID,
        cor: str,
    ) -> Amended:
        aid = str(amendment_id)
        return await self._amend(
            who,
            complaint_id,
            rules.supplement(body),
            lambda: outbound.complaint_supplemented(
                self.topics, complaint_id, aid, who, body, cor, self.clock()
            ),
            aid,
        )

    async def add_reported_employees(
        self,
        who: Principal,
        complaint_id: str,
        body: ReportedEmployeesIn,
        amendment_id: uuid.UUID,
        cor: str,
    ) -> Amended:
        aid = str(amendment_id)
        clean, found = rules.reported_employees(body)
        return await self._amend(
            who,
            complaint_id,
            found,
            lambda: outbound.employees_reported(
                self.topics, complaint_id, aid, who, clean, cor, self.clock()
            ),
            aid,
        )

    async def set_tracking_contact(
        self,
        who: Principal,
        complaint_id: str,
        body: TrackingContactIn,
        amendment_id: uuid.UUID,
        cor: str,
    ) -> Amended:
        aid = str(amendment_id)
        found: list[Violation] = []
        checked = rules.tracking_contact("", body, found)
        usable = checked.usable
        if usable is None:  # every channel given was refused: nothing to save, name them all
            found += [r.violation for r in checked.refused]

        def make() -> OutgoingRecord:
            assert usable is not None  # otherwise `found` names the refused channels
            return outbound.tracking_contact_provided(
                self.topics, complaint_id, aid, who, usable, cor, self.clock()
            )

        return await self._amend(who, complaint_id, found, make, aid, checked)

    async def record_communication(
        self,
        who: Principal,
        complaint_id: str,
        body: RegisterNumberCommunicationIn,
        amendment_id: uuid.UUID,
        cor: str,
    ) -> Amended:
        aid = str(amendment_id)
        return await self._amend(
            who,
            complaint_id,
            rules.communication(body),
            lambda: outbound.register_number_communicated(
                self.topics, complaint_id, aid, who, body, cor, self.clock()
            ),
            aid,
        )
