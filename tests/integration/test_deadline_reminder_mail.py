"""Issue 18 part 3 across services on the real stack (Kafka, store, SMTP sink), with the
registry's clock moved instead of waited for: a complaint's verification deadline passes in
Jayapura (WIT); two registry replicas run every reminder pass; two notifier replicas e-mail the
office's compliance staff (approaching, overdue) and then its supervisor (escalation); the
registry and a notifier are restarted and the passes and the topics are replayed — and each
reminder reaches each recipient exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from pymongo import AsyncMongoClient

from services.notifier.tests.support import settings_for as notifier_settings
from sipuma.notifier.main import build as build_notifier
from sipuma.registry.deadlines import APPROACHING, ESCALATED, OVERDUE
from sipuma.registry.main import build as build_registry
from sipuma.registry.settings import RegistrySettings
from sipuma.shared import events as ev
from sipuma.shared import payloads as p
from sipuma.shared import topics
from sipuma.shared.samples import example
from tests.harness.endpoints import Endpoints
from tests.harness.inboxes import MailInbox
from tests.harness.state import consumed, eventually

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]
OFFICE = "KPPBC-TMP-JAYAPURA"


@contextlib.asynccontextmanager
async def registry(settings: RegistrySettings) -> AsyncIterator[Any]:
    runtime = build_registry(settings)
    async with runtime.app.router.lifespan_context(runtime.app):
        yield runtime


async def test_reminders_and_escalation_mailed_once_across_replicas_and_restarts(
    endpoints: Endpoints, unique_name, mail_inbox: MailInbox, tmp_path: Path
) -> None:
    name = unique_name("dlm")
    token = name.split("-")[-1]
    compliance = [f"uki-{token}-{n}@kppbc-jayapura.example" for n in (1, 2)]
    supervisor = f"kanwil-{token}@kanwil-papua.example"
    contacts = tmp_path / "staff.json"
    contacts.write_text(
        json.dumps({OFFICE: {"compliance": compliance}, "*": {"supervisor": [supervisor]}})
    )
    ntf = notifier_settings(endpoints, name, staff_contacts_file=contacts)
    reg = RegistrySettings(
        kafka_bootstrap=endpoints.kafka_bootstrap,
        mongo_uri=endpoints.mongo_uri,
        mongo_database=name.replace("-", "_") + "_reg",
        topic_prefix=ntf.topic_prefix,
        topic_partitions=2,
        deadline_watch=False,  # the test moves the clock
        outbox_interval_seconds=0.2,
    )
    received = example(
        ev.ComplaintReceived,
        event_id=uuid4(),
        complaint_id=uuid4(),
        office_code=OFFICE,
        tracking_contact=None,
        channel=p.Channel.IN_PERSON,
    )
    minute = timedelta(minutes=1)
    notifiers = [build_notifier(ntf), build_notifier(ntf)]
    async with contextlib.AsyncExitStack() as stack:
        for runtime in notifiers:
            await stack.enter_async_context(runtime.running())
        async with registry(reg) as first, registry(reg) as second:
            number = await first.registry.receive(received)
            assert number is not None
            listed = await first.store.listed(str(received.complaint_id))
            assert listed is not None
            alerts = listed["view"]["deadline"]["alerts"]
            for kind in (APPROACHING, OVERDUE, ESCALATED):
                at = alerts[kind] + minute
                await asyncio.gather(first.deadlines.run_once(at), second.deadlines.run_once(at))

        # The mails: each compliance officer twice (approaching, overdue), the supervisor once.
        for address in compliance:
            mails = await asyncio.to_thread(mail_inbox.wait_for, address, 2, 60)
            subjects = sorted(m["Subject"] for m in mails)
            assert [s.split(":")[0] for s in subjects] == [
                "[SIPUMA] Tenggat tindak lanjut mendekat / Deadline approaching",
                "[SIPUMA] Tindak lanjut terlambat / Follow-up overdue",
            ]
            assert number["number"] in subjects[0]
        escalated = await asyncio.to_thread(mail_inbox.wait_for, supervisor, 1, 60)
        assert escalated[0]["Subject"].startswith("[SIPUMA] Eskalasi")
        assert "WIT" in escalated[0]["Text"]

    # Restarts: a new registry repeats every pass; a new notifier (its offsets reset, as a
    # replica that lost them would) reads both topics again from the beginning.
    async with registry(reg) as restarted:
        for kind in (APPROACHING, OVERDUE, ESCALATED):
            assert await restarted.deadlines.run_once(alerts[kind] + minute) == 0
    replay = build_notifier(ntf.model_copy(update={"staff_consumer_group": "notifier-staff-2"}))
    async with replay.running():
        names = [
            ntf.topic(spec) for spec in (topics.DEADLINE_APPROACHING, topics.COMPLAINT_OVERDUE)
        ]
        await consumed(endpoints.kafka_bootstrap, ntf.topic_prefix + "notifier-staff-2", names)

        async def all_sent() -> bool:
            client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(ntf.mongo_uri)
            try:
                col = client[ntf.mongo_database][ntf.staff_alerts_collection]
                return await col.count_documents({"state": {"$ne": "sent"}}) == 0
            finally:
                await client.close()

        await eventually("every staff reminder sent", all_sent)
    assert [len(mail_inbox.messages_to(a)) for a in compliance] == [2, 2]
    assert len(mail_inbox.messages_to(supervisor)) == 1
