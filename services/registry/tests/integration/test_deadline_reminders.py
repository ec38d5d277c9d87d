"""Deadline reminders on the real Kafka and store, with the clock moved instead of waited for:
two replicas run the same passes at the same moments, one of them is restarted, and still each
reminder (approaching → compliance, overdue → compliance, escalated → supervisor) is published
exactly once, with an event id that a repeated publish would keep."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from registry_testkit.events import OFFICES, received
from registry_testkit.wiring import settings_for

from sipuma.registry.deadlines import APPROACHING, ESCALATED, OVERDUE
from sipuma.registry.domain import EVERY_OFFICE, Status
from sipuma.registry.main import Runtime, build
from sipuma.registry.store import Store
from sipuma.shared import events as ev
from sipuma.shared import topics
from tests.harness.endpoints import Endpoints
from tests.harness.state import read_to_end

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


@contextlib.asynccontextmanager
async def replica(settings: Any) -> AsyncIterator[Runtime]:
    """A registry as `sipuma-registry` runs it (its lifespan: topics, indexes, relay, Kafka),
    without its own timed pass: the test moves the clock."""
    runtime = build(settings)
    async with runtime.app.router.lifespan_context(runtime.app):
        yield runtime


async def test_each_reminder_once_with_two_replicas_and_a_restart(
    endpoints: Endpoints, store: Store, unique_name
):
    prefix = unique_name("ddl") + "."
    settings = settings_for(
        endpoints.mongo_uri,
        store.db.name,
        kafka_bootstrap=endpoints.kafka_bootstrap,
        topic_prefix=prefix,
        topic_partitions=1,
        deadline_watch=False,
    )
    event = received(OFFICES[2])  # Jayapura: WIT
    async with replica(settings) as first:
        number = await first.registry.receive(event)
        assert number is not None
        listed = await store.listed(str(event.complaint_id))
        assert listed is not None
        deadline = listed["view"]["deadline"]
        assert deadline["stage"] == "verification" and deadline["working_days"] == 3
        alerts = deadline["alerts"]
        assert alerts[APPROACHING] < alerts[OVERDUE] == deadline["due_at"] < alerts[ESCALATED]
        minute = timedelta(minutes=1)

        async with replica(settings) as second:
            before = alerts[APPROACHING] - minute
            assert await first.deadlines.run_once(before) == 0
            # Both replicas at the same moments, concurrently.
            for at in (alerts[APPROACHING] + minute, alerts[OVERDUE] + minute):
                done = await asyncio.gather(
                    first.deadlines.run_once(at), second.deadlines.run_once(at)
                )
                assert sum(done) == 1
        # `second` stopped; a restarted replica repeats the last pass, then goes on.
        async with replica(settings) as restarted:
            assert await restarted.deadlines.run_once(alerts[OVERDUE] + minute) == 0
            late = alerts[ESCALATED] + minute
            done = await asyncio.gather(
                first.deadlines.run_once(late), restarted.deadlines.run_once(late)
            )
            assert sum(done) == 1
            assert await restarted.deadlines.run_once(late + timedelta(days=30)) == 0
        # No reminder left: the complaint is not read by a pass any more.
        assert await store.alerts_due(late + timedelta(days=365), 10) == []

        # The next stage starts with the status step: a new deadline, reminders again.
        await first.registry.change_status(
            number["number"], Status.VERIFIED, "", "199001012020121001", EVERY_OFFICE
        )
        moved = await store.listed(str(event.complaint_id))
        assert moved is not None and moved["view"]["deadline"]["stage"] == "follow_up_start"
        await first.registry.change_status(
            number["number"], Status.FORWARDED, "", "199001012020121001", EVERY_OFFICE
        )
        closed = await store.listed(str(event.complaint_id))
        assert closed is not None and "deadline" not in closed["view"]

    approaching = await read_to_end(
        endpoints.kafka_bootstrap, prefix + topics.DEADLINE_APPROACHING.name
    )
    overdue = await read_to_end(endpoints.kafka_bootstrap, prefix + topics.COMPLAINT_OVERDUE.name)
    assert len(approaching) == 1
    reminded = ev.ComplaintDeadlineApproaching.model_validate_json(approaching[0].value)
    assert reminded.complaint_id == event.complaint_id and reminded.stage == "verification"
    assert reminded.due_at == deadline["due_at"]
    escalations = [ev.ComplaintOverdue.model_validate_json(r.value) for r in overdue]
    assert [e.escalation for e in escalations] == ["compliance", "supervisor"]
    assert len({e.event_id for e in escalations}) == 2
    # Analytics topic: nothing about the complainant.
    for record in [*approaching, *overdue]:
        assert b"Siti" not in record.value and b"+62" not in record.value
    assert await store.db["deadline_alerts"].count_documents({}) == 3
