"""Office statistics over a range of local dates (issue 18 part 2), pure: the listed complaints
are fed one at a time (`add`), from a cursor, so a long range is never held in memory — only
the per-office counters and one float per complaint for the duration percentiles (a C array of
doubles: 8 bytes each, 0.8 MB for 100,000 complaints, where a list of floats took 3.2 MB).

Per office (local dates of receipt, in the office's zone): complaints; counts by channel and by
status; minutes from receipt to register number (median, p90); the SOP's 30-minute intake
standard (share within); notifications sent / failed per channel; overdue follow-up stages (open
complaints whose working-day deadline passed at `now`); counts by category (kategori pengaduan,
set by compliance staff after registration; "uncategorised" for those not categorised yet).
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sipuma.registry.categories import UNCATEGORISED, Categories
from sipuma.registry.domain import Doc
from sipuma.registry.sla import STANDARD_MINUTES
from sipuma.shared.offices import OfficeDirectory

# What the statistics read of a listing entry (the store's projection).
FIELDS: dict[str, int] = {
    "office_code": 1,
    "received_at": 1,
    "channel": 1,
    "view.status": 1,
    "view.registered_at": 1,
    "view.intake_done_at": 1,
    "view.notifications": 1,
    "view.deadline.due_at": 1,
    "category": 1,
}
FLAT_FIELDS = (
    "office_code",
    "office_name",
    "timezone",
    "complaints",
    "median_minutes_to_number",
    "p90_minutes_to_number",
    "within_30_minutes",
    "share_within_30_minutes",
    "notifications_sent",
    "notifications_failed",
    "overdue",
)


def _ranked(ordered: Sequence[float], share: float) -> float:
    """Linear interpolation between the closest ranks (as DuckDB's `quantile_cont`)."""
    at = (len(ordered) - 1) * share
    low = int(at)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (at - low), 2)


def _median_p90(values: Sequence[float]) -> tuple[float | None, float | None]:
    """Both from one sorted copy (a long range: one list of its durations at a time, not two)."""
    if not values:
        return None, None
    ordered = sorted(values)
    return _ranked(ordered, 0.5), _ranked(ordered, 0.9)


@dataclass
class _Office:
    complaints: int = 0
    by_channel: Counter[str] = field(default_factory=Counter)
    by_status: Counter[str] = field(default_factory=Counter)
    by_category: Counter[str] = field(default_factory=Counter)
    to_number: array[float] = field(default_factory=lambda: array("d"))
    within_standard: int = 0
    sent: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    overdue: int = 0


class OfficeStatistics:
    def __init__(
        self,
        offices: OfficeDirectory,
        first: date,
        last: date,
        codes: list[str],
        now: datetime,
        categories: Categories | None = None,
    ) -> None:
        self._offices = offices
        self._categories = categories or Categories.load()
        self.first, self.last, self.now = first, last, now
        self._by_office = {code: _Office() for code in codes}

    def add(self, entry: Doc) -> None:
        office = self._by_office.get(entry["office_code"])
        if office is None or self._offices.get(entry["office_code"]) is None:
            return
        received: datetime = entry["received_at"]
        local = self._offices.local_time(entry["office_code"], received).date()
        if not self.first <= local <= self.last:
            return
        view = entry.get("view") or {}
        office.complaints += 1
        office.by_channel[entry.get("channel") or "-"] += 1
        office.by_status[view.get("status") or "-"] += 1
        office.by_category[entry.get("category") or UNCATEGORISED] += 1
        if view.get("registered_at"):
            office.to_number.append((view["registered_at"] - received).total_seconds() / 60)
        done = view.get("intake_done_at")
        if done is not None and (done - received).total_seconds() <= STANDARD_MINUTES * 60:
            office.within_standard += 1
        for channel, outcome in (view.get("notifications") or {}).items():
            if outcome.get("status") == "sent":
                office.sent[channel] += 1
            elif outcome.get("final", True):
                office.failed[channel] += 1
        due = (view.get("deadline") or {}).get("due_at")
        if due is not None and due <= self.now:
            office.overdue += 1

    def add_all(self, entries: Iterable[Doc]) -> OfficeStatistics:
        for entry in entries:
            self.add(entry)
        return self

    def result(self) -> dict[str, Any]:
        rows = []
        for code, office in self._by_office.items():
            known = self._offices.get(code)
            median, p90 = _median_p90(office.to_number)
            rows.append(
                {
                    "office_code": code,
                    "office_name": known.name if known else code,
                    "timezone": known.zone_label if known else None,
                    "complaints": office.complaints,
                    "by_channel": dict(sorted(office.by_channel.items())),
                    "by_status": dict(sorted(office.by_status.items())),
                    # Every category of the vocabulary (zero too) and "uncategorised".
                    "by_category": {
                        code: office.by_category[code]
                        for code in [*self._category_codes(), *sorted(office.by_category)]
                    },
                    "median_minutes_to_number": median,
                    "p90_minutes_to_number": p90,
                    "within_30_minutes": office.within_standard,
                    "share_within_30_minutes": (
                        round(office.within_standard / office.complaints, 4)
                        if office.complaints
                        else None
                    ),
                    "notifications_sent": sum(office.sent.values()),
                    "notifications_failed": sum(office.failed.values()),
                    "notifications": {
                        channel: {"sent": office.sent[channel], "failed": office.failed[channel]}
                        for channel in sorted(set(office.sent) | set(office.failed))
                    },
                    "overdue": office.overdue,
                }
            )
        return {
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            "as_of": self.now.isoformat(),
            "standard_minutes": STANDARD_MINUTES,
            "category_labels": self._categories.labels(),
            "offices": rows,
        }

    def _category_codes(self) -> list[str]:
        return [*self._categories.codes(), UNCATEGORISED]


COMPLAINT_FIELDS = (
    "office_code",
    "register_number",
    "channel",
    "received_at_local",
    "status",
    "minutes_to_number",
    "intake_minutes",
    "within_30_minutes",
    "due_at_local",
    "overdue",
    "category",
)


def complaint_row(
    entry: Doc, offices: OfficeDirectory, first: date, last: date, now: datetime
) -> list[Any] | None:
    """One complaint of the export (no personal data: numbers, times, statuses), or None when
    it is outside the local dates or its office is no longer configured."""
    code = entry["office_code"]
    if offices.get(code) is None:
        return None
    received = offices.local_time(code, entry["received_at"])
    if not first <= received.date() <= last:
        return None
    view = entry.get("view") or {}
    registered, done = view.get("registered_at"), view.get("intake_done_at")
    due = (view.get("deadline") or {}).get("due_at")
    intake = round((done - entry["received_at"]).total_seconds() / 60, 2) if done else None
    return [
        code,
        view.get("register_number"),
        entry.get("channel"),
        received.replace(tzinfo=None).isoformat(timespec="seconds"),
        view.get("status"),
        round((registered - entry["received_at"]).total_seconds() / 60, 2) if registered else None,
        intake,
        intake is not None and intake <= STANDARD_MINUTES,
        offices.local_time(code, due).replace(tzinfo=None).isoformat() if due else None,
        due is not None and due <= now,
        entry.get("category") or UNCATEGORISED,
    ]


def flat_rows(found: dict[str, Any]) -> Iterator[list[Any]]:
    """Header, then one row per office: the counts by channel, status and category as columns
    (every category of the vocabulary, in its order, then "uncategorised")."""
    offices = found["offices"]
    channels = sorted({c for o in offices for c in o["by_channel"]})
    statuses = sorted({s for o in offices for s in o["by_status"]})
    categories = list(dict.fromkeys(c for o in offices for c in o["by_category"]))
    yield [
        *FLAT_FIELDS,
        *(f"channel_{c}" for c in channels),
        *(f"status_{s}" for s in statuses),
        *(f"category_{c}" for c in categories),
    ]
    for office in offices:
        yield [
            *(office[name] for name in FLAT_FIELDS),
            *(office["by_channel"].get(c, 0) for c in channels),
            *(office["by_status"].get(s, 0) for s in statuses),
            *(office["by_category"].get(c, 0) for c in categories),
        ]
