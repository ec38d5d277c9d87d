"""Working days and deadlines: weekends, national holidays, cuti bersama, the office's zone."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest

from sipuma.registry.deadlines import (
    APPROACHING,
    DEFAULT_STAGES,
    ESCALATED,
    OVERDUE,
    DeadlinePolicy,
    Stage,
)
from sipuma.registry.reminders import due_kinds
from sipuma.registry.settings import RegistrySettings
from sipuma.registry.workdays import WorkCalendar, load_collective_leave

pytestmark = pytest.mark.unit
WIB, WITA, WIT = ZoneInfo("Asia/Jakarta"), ZoneInfo("Asia/Makassar"), ZoneInfo("Asia/Jayapura")


@pytest.fixture(scope="module")
def policy() -> DeadlinePolicy:
    return DeadlinePolicy(DEFAULT_STAGES, WorkCalendar(load_collective_leave()))


def test_collective_leave_file_matches_the_decrees_in_the_holidays_package() -> None:
    # The reviewed file and the package's record of the same SKBs agree day for day.
    leave = load_collective_leave()
    for year in sorted({day.year for day in leave}):
        government = holidays.country_holidays("ID", years=year, categories=holidays.GOVERNMENT)
        assert {d for d in leave if d.year == year} == set(government), year


def test_calendar_days_off() -> None:
    cal = WorkCalendar(load_collective_leave())
    assert cal.day_off(date(2026, 12, 24)) == "collective_leave"
    assert cal.day_off(date(2026, 12, 25)) == "national_holiday"
    assert cal.day_off(date(2026, 12, 26)) == "weekend"
    assert cal.is_working_day(date(2026, 12, 28))
    # Tue 22 Dec + 3 working days: 23, (24 leave, 25 Christmas, 26-27 weekend) 28, 29.
    assert cal.add_working_days(date(2026, 12, 22), 3) == date(2026, 12, 29)
    assert cal.add_working_days(date(2026, 12, 29), -3) == date(2026, 12, 22)
    assert cal.working_days_between(date(2026, 12, 22), date(2026, 12, 29)) == 3


def test_one_moment_three_zones_three_deadlines(policy: DeadlinePolicy) -> None:
    # 16:30 UTC on Tue 22 Dec 2026 is Tuesday evening in Jakarta (WIB) but already Wednesday in
    # Makassar (WITA) and Jayapura (WIT): the count starts a day later there.
    moment = datetime(2026, 12, 22, 16, 30, tzinfo=UTC)
    due = {
        name: policy.deadline("registered", moment, zone)
        for name, zone in (("WIB", WIB), ("WITA", WITA), ("WIT", WIT))
    }
    assert due["WIB"] is not None and due["WITA"] is not None and due["WIT"] is not None
    # Deadline = the end of the 3rd working day, local midnight.
    assert due["WIB"].due_at == datetime(2026, 12, 30, 0, 0, tzinfo=WIB)  # 23, 28, 29
    assert due["WITA"].due_at == datetime(2026, 12, 31, 0, 0, tzinfo=WITA)  # 28, 29, 30
    assert due["WIT"].due_at == datetime(2026, 12, 31, 0, 0, tzinfo=WIT)
    assert due["WIT"].due_at.astimezone(UTC) == datetime(2026, 12, 30, 15, 0, tzinfo=UTC)
    wita = due["WITA"].alerts
    assert wita[APPROACHING] == datetime(2026, 12, 30, 0, 0, tzinfo=WITA)  # the last day begins
    assert wita[OVERDUE] == due["WITA"].due_at
    # Escalation 2 working days after the last one: 31 Dec, (1 Jan holiday, weekend) 4 Jan.
    assert wita[ESCALATED] == datetime(2027, 1, 5, 0, 0, tzinfo=WITA)


def test_the_same_local_day_shares_its_dates_not_its_deadline() -> None:
    """Kept per stage, local date and zone (issue 15): complaints of one office-day get the same
    dates, each its own `since` and alerts (a caller changing one changes no other), and the
    next local day (still the same UTC day in Jayapura) its own."""
    policy = DeadlinePolicy(DEFAULT_STAGES, WorkCalendar(load_collective_leave()))
    morning, evening = (datetime(2026, 12, 22, h, 0, tzinfo=UTC) for h in (1, 14))
    first, second = (policy.deadline("registered", m, WIB) for m in (morning, evening))
    assert first is not None and second is not None
    assert (first.since, second.since) == (morning, evening)
    assert first.due_at == second.due_at and first.alerts == second.alerts
    first.alerts[OVERDUE] = morning
    assert second.alerts[OVERDUE] == second.due_at
    again = policy.deadline("registered", evening, WIB)
    assert again is not None and again.alerts[OVERDUE] == again.due_at
    wit = policy.deadline("registered", evening, WIT)  # 23:00 WIT: the 22nd still
    late = policy.deadline("registered", evening + timedelta(hours=2), WIT)  # the 23rd
    assert wit is not None and late is not None and late.due_at > wit.due_at


def test_no_deadline_when_closed(policy: DeadlinePolicy) -> None:
    assert policy.deadline("closed", datetime(2026, 12, 1, tzinfo=UTC), WIB) is None
    assert policy.deadline("received", datetime(2026, 12, 1, tzinfo=UTC), WIB) is None


def test_due_kinds_drop_a_stale_approaching() -> None:
    at = datetime(2026, 12, 30, tzinfo=UTC)
    alerts = {APPROACHING: at - timedelta(days=1), OVERDUE: at, ESCALATED: at + timedelta(days=2)}
    assert due_kinds(alerts, at - timedelta(hours=1)) == [APPROACHING]
    assert due_kinds(alerts, at) == [OVERDUE]
    assert sorted(due_kinds(alerts, at + timedelta(days=3))) == [ESCALATED, OVERDUE]


def test_stages_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    stages = [{"name": "verification", "status": "registered", "working_days": 2}]
    monkeypatch.setenv("SIPUMA_DEADLINE_STAGES", json.dumps(stages))
    assert RegistrySettings().deadline_stages == (
        Stage(name="verification", status="registered", working_days=2),
    )
    with pytest.raises(ValueError, match="one deadline stage per status"):
        DeadlinePolicy((*DEFAULT_STAGES, DEFAULT_STAGES[0]), WorkCalendar({}))
