"""Deadline reminders to staff (issue 18): `complaint.deadline-approaching.v1` and the
`compliance` `complaint.overdue.v1` go by e-mail to the office's compliance staff (UKI), the
`supervisor` one to its supervisors.

Once each, with replicas and restarts: every (event, recipient) is inserted once (`_id` from the
event id, which the registry derives from the reminder's own key), then claimed with a lease by
one sender and marked sent. A crash mid-send leaves it `sending` until the lease runs out; it is
then sent again with the same Message-ID (at least once for SMTP, as for tickets: see
`service.py`). Staff addresses come from configuration (`SIPUMA_STAFF_CONTACTS_FILE`), never from
an event, and are not logged.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import structlog

from sipuma.notifier.ports import EmailSender, OutgoingEmail
from sipuma.notifier.store import MongoStaffAlertLog
from sipuma.shared import events as ev
from sipuma.shared.offices import OfficeDirectory
from sipuma.shared.tasks import every

log = structlog.get_logger("sipuma.notifier.staff")
Role = str  # "compliance" | "supervisor"


class StaffDirectory:
    """Office code → role → e-mail addresses (`{"KPPBC-…": {"compliance": [...],
    "supervisor": [...]}}`); a role without addresses of its own uses `"*"`'s (e.g. the
    regional supervisors for every office)."""

    def __init__(self, contacts: dict[str, dict[str, list[str]]]) -> None:
        self._contacts = contacts

    @classmethod
    def load(cls, path: Path | None) -> StaffDirectory:
        return cls(json.loads(path.read_text(encoding="utf-8")) if path else {})

    def addresses(self, office: str, role: Role) -> list[str]:
        own = self._contacts.get(office, {}).get(role)
        return sorted(set(own if own else self._contacts.get("*", {}).get(role, [])))


def role_of(event: ev.ComplaintDeadlineApproaching | ev.ComplaintOverdue) -> Role:
    return event.escalation if isinstance(event, ev.ComplaintOverdue) else "compliance"


def render(
    event: ev.ComplaintDeadlineApproaching | ev.ComplaintOverdue, office_name: str, local: str
) -> tuple[str, str]:
    """Subject and text, Indonesian first, English below."""
    number = event.register_number or str(event.complaint_id)
    if isinstance(event, ev.ComplaintDeadlineApproaching):
        subject = f"[SIPUMA] Tenggat tindak lanjut mendekat / Deadline approaching: {number}"
        head = (
            f"Tenggat tahap '{event.stage}' pengaduan {number} ({office_name}) berakhir {local}.",
            f"The '{event.stage}' stage of complaint {number} ({office_name}) is due {local}.",
        )
    elif event.escalation == "supervisor":
        subject = f"[SIPUMA] Eskalasi: tindak lanjut terlambat / Escalation: overdue: {number}"
        head = (
            f"Tahap '{event.stage}' pengaduan {number} ({office_name}) melewati tenggat {local} "
            "dan belum ditindaklanjuti. Mohon arahan Anda.",
            f"The '{event.stage}' stage of complaint {number} ({office_name}) passed its "
            f"deadline ({local}) and is still open. Please step in.",
        )
    else:
        subject = f"[SIPUMA] Tindak lanjut terlambat / Follow-up overdue: {number}"
        head = (
            f"Tahap '{event.stage}' pengaduan {number} ({office_name}) melewati tenggat {local}.",
            f"The '{event.stage}' stage of complaint {number} ({office_name}) is overdue "
            f"(due {local}).",
        )
    text = (
        f"{head[0]}\nStatus: {event.status}; {event.working_days} hari kerja.\n\n"
        f"{head[1]}\nStatus: {event.status}; {event.working_days} working days.\n"
    )
    return subject, text


class StaffAlerts:
    def __init__(
        self,
        log_: MongoStaffAlertLog,
        email: EmailSender,
        staff: StaffDirectory,
        offices: OfficeDirectory,
        *,
        lease: timedelta = timedelta(seconds=60),
        interval: float = 5.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._log = log_
        self._email = email
        self._staff = staff
        self._offices = offices
        self._lease = lease
        self._interval = interval
        self._clock = clock

    async def receive(self, event: ev.ComplaintDeadlineApproaching | ev.ComplaintOverdue) -> int:
        """Record one reminder per recipient (a repeat records nothing), then send what is due.
        Answers how many were new."""
        office = self._offices.get(event.office_code)
        name = office.name if office else event.office_code
        due_local = event.due_at.astimezone(office.zone) if office else event.due_at
        label = f"{due_local:%d-%m-%Y %H:%M} {office.zone_label if office else 'UTC'}"
        subject, text = render(event, name, label)
        now = self._clock()
        alerts = [
            {
                "_id": f"{event.event_id}-{n}",
                "event_type": event.event_type,
                "office_code": event.office_code,
                "role": role_of(event),
                "to": address,
                "subject": subject,
                "text": text,
                "state": "pending",
                "due": now,
            }
            for n, address in enumerate(self._staff.addresses(event.office_code, role_of(event)))
        ]
        if not alerts:
            log.warning("staff_alert.no_recipient", office=event.office_code, role=role_of(event))
            return 0
        fresh = sum(await self._log.record(alerts))
        await self.send_due()
        return fresh

    async def send_due(self, limit: int = 100) -> int:
        sent = 0
        for _ in range(limit):
            alert = await self._log.claim_due(self._clock(), self._lease)
            if alert is None:
                break
            await self._email.send(
                OutgoingEmail(
                    to=alert["to"],
                    subject=alert["subject"],
                    text=alert["text"],
                    html=None,
                    language="id",
                    reference=alert["_id"],
                )
            )
            await self._log.sent(alert["_id"], self._clock())
            sent += 1
        return sent

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop`: send what is due (a sender that died leaves it to the next pass)."""
        await every(
            self._interval, stop, self.send_due, failed="staff_alert.send_failed", logger=log
        )
