"""The SOP's service standard: the whole intake within 30 minutes.

Per complaint, the intake duration runs from when the complaint was received to when the ticket
number went out (NotificationSent), the register number was told to the complainant, or the
complainant could not be reached (SOP step 6: the receiver may then finish the intake), whichever
came first; the outcome is kept (`intake_outcome`). Per office, over a range of local dates:
count, completed, median minutes and the share within the standard (an intake not finished is
not within it). Pure: the listed complaints come from `Queries.service_standard`.
"""

from __future__ import annotations

import statistics
from datetime import date, datetime
from typing import Any

from sipuma.registry.domain import Doc
from sipuma.shared.offices import OfficeDirectory

STANDARD_MINUTES = 30
OFFICE_FIELDS = (
    "office_code",
    "office_name",
    "count",
    "completed",
    "median_minutes",
    "within_standard",
    "share_within_standard",
)
# What the report reads of a listing entry (and `received_at`, always read: the page key).
READ_FIELDS = {
    "office_code": 1,
    "view.register_number": 1,
    "view.intake_done_at": 1,
    "view.intake_outcome": 1,
}
READ_BATCH = 1000  # entries a page (small projected entries; the answer lists them all)
COMPLAINT_FIELDS = (
    "office_code",
    "register_number",
    "received_at",
    "intake_done_at",
    "intake_outcome",
    "minutes",
    "within_standard",
)


def minutes(received: datetime, done: datetime | None) -> float | None:
    return None if done is None else round((done - received).total_seconds() / 60, 2)


def report(
    complaints: list[Doc],
    offices: OfficeDirectory,
    first: date,
    last: date,
    office_codes: list[str] | None = None,
) -> dict[str, Any]:
    """Per office (`office_codes`, None: every configured office) and per complaint, for the
    complaints received on the local dates first..last (`complaints` may hold more)."""
    codes = office_codes if office_codes is not None else offices.codes()
    rows: list[Doc] = []
    for complaint in complaints:
        office = complaint["office_code"]
        received = complaint["received_at"]
        if offices.get(office) is None:  # no longer configured: no local date to place it by
            continue
        if not first <= offices.local_time(office, received).date() <= last:
            continue
        view = complaint.get("view") or {}
        done = view.get("intake_done_at")
        took = minutes(received, done)
        rows.append(
            {
                "office_code": office,
                "register_number": view.get("register_number"),
                "received_at": received,
                "intake_done_at": done,
                # ticket_sent, told or unreachable (SOP step 6: the intake may end there)
                "intake_outcome": view.get("intake_outcome"),
                "minutes": took,
                "within_standard": took is not None and took <= STANDARD_MINUTES,
            }
        )
    by_office: dict[str, list[Doc]] = {code: [] for code in codes}
    for row in rows:  # one pass (every office of a supervisor's report: not one pass each)
        by_office.setdefault(row["office_code"], []).append(row)
    summary = []
    for code in codes:
        mine = by_office[code]
        durations = [r["minutes"] for r in mine if r["minutes"] is not None]
        within = sum(1 for r in mine if r["within_standard"])
        office = offices.get(code)
        summary.append(
            {
                "office_code": code,
                "office_name": office.name if office else code,
                "count": len(mine),
                "completed": len(durations),
                "median_minutes": round(statistics.median(durations), 2) if durations else None,
                "within_standard": within,
                "share_within_standard": round(within / len(mine), 4) if mine else None,
            }
        )
    return {
        "standard_minutes": STANDARD_MINUTES,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "offices": summary,
        "complaints": sorted(rows, key=lambda r: (r["office_code"], r["received_at"])),
    }
