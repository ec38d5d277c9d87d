"""Working-day deadlines of the follow-up stages (pure: no clock, no I/O).

A stage is the time a complaint spends in one status; its deadline is the end (local midnight)
of the `working_days`-th working day after the local date it entered the status, in the office's
time zone. Around it three moments, each a reminder sent once (`reminders.py`):

- `approaching`: the start of the deadline's last `remind_before_days` working days, to the
  office's compliance staff (`complaint.deadline-approaching.v1`);
- `overdue`: the deadline itself, to the compliance staff (`complaint.overdue.v1`, compliance);
- `escalated`: `escalate_after_days` working days later, to a supervisor (`complaint.overdue.v1`,
  supervisor).

Stages and durations are settings (`SIPUMA_DEADLINE_STAGES`, JSON); the defaults and where they
come from are in the registry README ("Working-day deadlines").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from sipuma.registry.workdays import WorkCalendar
from sipuma.shared.payloads import ComplaintStatus

APPROACHING, OVERDUE, ESCALATED = "approaching", "overdue", "escalated"
ALERT_KINDS = (APPROACHING, OVERDUE, ESCALATED)


class Stage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,40}$")
    status: ComplaintStatus = Field(description="The status the stage is the time spent in")
    working_days: int = Field(ge=1, le=250)
    remind_before_days: int = Field(1, ge=0, le=30, description="0: no approaching reminder")
    escalate_after_days: int = Field(2, ge=0, le=30, description="0: escalate when overdue")


# SP4N-LAPOR!'s 3/5/10 working days (README): the SOP gives none; PER-13/BC/2025 unread.
DEFAULT_STAGES: tuple[Stage, ...] = (
    Stage(name="verification", status=ComplaintStatus.REGISTERED, working_days=3),
    Stage(name="follow_up_start", status=ComplaintStatus.VERIFIED, working_days=5),
    Stage(name="follow_up", status=ComplaintStatus.IN_FOLLOW_UP, working_days=10),
)


@dataclass(frozen=True)
class Deadline:
    stage: Stage
    since: datetime  # when the complaint entered the stage's status (UTC)
    due_at: datetime  # UTC
    alerts: dict[str, datetime]  # kind → the moment its reminder is due (UTC)

    def doc(self) -> dict[str, object]:
        """As kept in the listing view (the staff list sorts and the reminder pass reads it)."""
        return {
            "stage": self.stage.name,
            "working_days": self.stage.working_days,
            "since": self.since,
            "due_at": self.due_at,
            "alerts": dict(self.alerts),
            "next_alert_at": min(self.alerts.values()),
        }


class DeadlinePolicy:
    def __init__(self, stages: tuple[Stage, ...], calendar: WorkCalendar) -> None:
        by_status = {stage.status: stage for stage in stages}
        if len(by_status) != len(stages):
            raise ValueError("one deadline stage per status")
        self._stages = by_status
        self.calendar = calendar
        # Per stage, local date and time zone (issue 15: computed per complaint, the working-day
        # walk was 7 % of bench (b)); a few thousand days are a few years of every zone.
        self._dates = lru_cache(maxsize=4096)(self._compute)

    @staticmethod
    def _start_of(day: date, zone: ZoneInfo) -> datetime:
        return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)

    def deadline(self, status: str, since: datetime, zone: ZoneInfo) -> Deadline | None:
        """The deadline of the stage a complaint in `status` since `since` is in (None: the
        status has no deadline, e.g. closed)."""
        stage = self._stages.get(status)  # type: ignore[call-overload]  # StrEnum keys
        if stage is None:
            return None
        due_at, alerts = self._dates(stage, since.astimezone(zone).date(), zone)
        return Deadline(stage, since, due_at, dict(alerts))

    def _compute(
        self, stage: Stage, start: date, zone: ZoneInfo
    ) -> tuple[datetime, tuple[tuple[str, datetime], ...]]:
        """The due moment and the reminders' moments of a stage entered on the local date
        `start`: the same for every complaint of that day and time zone, so kept (`_dates`)."""
        cal = self.calendar
        last_day = cal.add_working_days(start, stage.working_days)
        due_at = self._start_of(last_day + timedelta(days=1), zone)
        alerts = {OVERDUE: due_at}
        if stage.remind_before_days:
            first_reminded = cal.add_working_days(last_day, 1 - stage.remind_before_days)
            alerts[APPROACHING] = self._start_of(max(first_reminded, start), zone)
        escalation_day = cal.add_working_days(last_day, stage.escalate_after_days)
        alerts[ESCALATED] = self._start_of(escalation_day + timedelta(days=1), zone)
        return due_at, tuple(alerts.items())
