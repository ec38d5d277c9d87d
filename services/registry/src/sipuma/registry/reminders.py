"""Deadline reminders and escalation, each sent once (SOP follow-up, issue 18 part 3).

A pass (`DeadlineWatch.run_once(now)`) reads the listed complaints whose next reminder moment
passed (`next_alert_at` of the listing entry, from the deadline in its view), and for each
reminder due inserts a fact in `deadline_alerts` under the key complaint/stage/since/kind, with
its event as an outbox entry (`complaint.deadline-approaching.v1`, or `complaint.overdue.v1` for
the compliance staff and then the supervisor). The key makes a second one impossible: two
replicas running the same pass, a restart, or a pass repeated after a crash insert nothing new,
and the event id is derived from the key, so even a publish repeated by the relay carries the
same id (consumers de-duplicate). Then the complaint's `next_alert_at` moves to its next
reminder (or goes), so a pass reads only complaints with something to do.

The clock is a parameter: the tests move it over a deadline instead of waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from uuid import NAMESPACE_URL, UUID, uuid5

import structlog

from sipuma.registry.deadlines import APPROACHING, ESCALATED, OVERDUE
from sipuma.registry.domain import Doc
from sipuma.registry.outbox import OutboxRelay, entry
from sipuma.registry.ports import ComplaintRepository
from sipuma.shared import events as ev
from sipuma.shared.tasks import every

log = structlog.get_logger(__name__)
SOURCE = "registry"
_IDS = uuid5(NAMESPACE_URL, "urn:sipuma:registry:deadline-alert")


def alert_event(listed: Doc, kind: str, key: str) -> ev.Event:
    deadline = listed["view"]["deadline"]
    common = {
        "event_id": uuid5(_IDS, key),
        "source": SOURCE,
        "correlation_id": listed.get("correlation_id") or listed["_id"],
        "office_code": listed["office_code"],
        "complaint_id": UUID(listed["_id"]),
        "stage": deadline["stage"],
        "status": listed["view"]["status"],
        "due_at": deadline["due_at"],
        "working_days": deadline["working_days"],
        "register_number": listed["view"].get("register_number"),
    }
    if kind == APPROACHING:
        return ev.ComplaintDeadlineApproaching(**common)
    escalation = "supervisor" if kind == ESCALATED else "compliance"
    return ev.ComplaintOverdue(**common, escalation=escalation)


def due_kinds(alerts: dict[str, datetime], now: datetime) -> list[str]:
    """The reminders due at `now`; "approaching" is stale (not sent) once the deadline passed."""
    kinds = [kind for kind, at in alerts.items() if at <= now]
    if OVERDUE in kinds and APPROACHING in kinds:
        kinds.remove(APPROACHING)
    return kinds


class DeadlineWatch:
    def __init__(
        self,
        store: ComplaintRepository,
        relay: OutboxRelay,
        topics: dict[str, str],
        interval: float = 60.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._relay = relay
        self._topics = topics  # event type → declared topic
        self._interval = interval
        self._clock = clock

    async def run_once(self, now: datetime | None = None, limit: int = 500) -> int:
        """One pass at `now` (default: the clock); how many reminders this pass inserted."""
        now = now or self._clock()
        inserted = 0
        for listed in await self._store.alerts_due(now, limit):
            deadline = listed["view"]["deadline"]
            facts = []
            for kind in due_kinds(deadline["alerts"], now):
                key = f"{listed['_id']}/{deadline['stage']}/{deadline['since'].isoformat()}/{kind}"
                event = alert_event(listed, kind, key)
                facts.append(
                    {
                        "_id": key,
                        "complaint_id": listed["_id"],
                        "office_code": listed["office_code"],
                        "stage": deadline["stage"],
                        "kind": kind,
                        "due_at": deadline["due_at"],
                        "at": now,
                        "outbox": entry(event, self._topics[event.event_type], now=now),
                    }
                )
            for fact, fresh in zip(facts, await self._store.add_alerts(facts), strict=True):
                if fresh:
                    inserted += 1
                    log.info("deadline_alert", complaint_id=fact["complaint_id"], kind=fact["kind"])
                    await self._relay.send_soon("deadline_alerts", fact)
            later = [at for at in deadline["alerts"].values() if at > now]
            await self._store.next_alert(listed["_id"], deadline["since"], min(later, default=None))
        return inserted

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop`: a pass every `interval`; errors are logged and the pass comes again."""
        await every(self._interval, stop, self.run_once, failed="deadline_watch_failed", logger=log)
