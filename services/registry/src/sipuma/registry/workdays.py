"""The office calendar: which local dates are working days (hari kerja).

Not working: Saturday and Sunday, Indonesian national holidays (the `holidays` package, public
category) and the year's collective leave days (cuti bersama), which are set by decree each year
and so are a reviewed data file (`data/collective_leave.json`, or `SIPUMA_COLLECTIVE_LEAVE_FILE`).
Dates are the office's local dates (WIB/WITA/WIT); converting a moment to one is the caller's.
Pure: no clock, no I/O after loading.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path

# A run of non-working days longer than this is a configuration error, not a calendar.
_MAX_RUN = 60


def load_collective_leave(path: Path | None = None) -> dict[date, str]:
    text = (
        path.read_text(encoding="utf-8")
        if path
        else resources.files("sipuma.registry").joinpath("data/collective_leave.json").read_text()
    )
    return {date.fromisoformat(day): name for day, name in json.loads(text)["days"].items()}


@lru_cache(maxsize=64)
def national_holidays(year: int) -> frozenset[date]:
    # Imported here, not at the top: `holidays` loads every country's module (~12 MiB, ~20 MiB
    # with a year computed), and the `reports` role, which computes no deadline, must not.
    import holidays

    return frozenset(holidays.country_holidays("ID", years=year, categories=holidays.PUBLIC))


class WorkCalendar:
    """Working days of Indonesian government offices (one calendar for every office: national
    holidays and cuti bersama are national; only the time zone differs per office)."""

    def __init__(self, collective_leave: dict[date, str]) -> None:
        self._leave = dict(collective_leave)

    def day_off(self, day: date) -> str | None:
        """Why `day` is not a working day, or None when it is one."""
        if day.weekday() >= 5:
            return "weekend"
        if day in national_holidays(day.year):
            return "national_holiday"
        if day in self._leave:
            return "collective_leave"
        return None

    def warm(self, years: range) -> None:
        """Compute the national holidays of `years` now (the `holidays` package takes ~0.3 s a
        year, lunar calendars included), not in the first complaints' deadlines."""
        for year in years:
            national_holidays(year)

    def is_working_day(self, day: date) -> bool:
        return self.day_off(day) is None

    def add_working_days(self, start: date, days: int) -> date:
        """The `days`-th working day after `start` (the start day itself does not count: a
        complaint registered on Friday with 1 working day is due on Monday, holidays aside).
        Negative `days` count backwards; 0 is `start`."""
        step = 1 if days >= 0 else -1
        day, left, off_run = start, abs(days), 0
        while left:
            day += timedelta(days=step)
            if self.is_working_day(day):
                left -= 1
                off_run = 0
            else:
                off_run += 1
                if off_run > _MAX_RUN:
                    raise ValueError(f"no working day within {_MAX_RUN} days of {day}")
        return day

    def working_days_between(self, first: date, last: date) -> int:
        """Working days in (first, last]: how many of a deadline's days have gone by."""
        count, day = 0, first
        while day < last:
            day += timedelta(days=1)
            count += self.is_working_day(day)
        return count
