"""The delivery log keeps the contact and ticket of an open delivery sealed under the
complaint's data key (the notifier's own key vault; docs/identity.md): the raw store shows none
of them, the notifier reads them back; `complaint.identity-erased.v1` deletes the key and the
jobs, while the deliveries themselves (state, attempts: statistics) stay."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.notifier.tests.support import address, encoded, publish_raw
from sipuma.notifier.domain import PENDING, Delivery, Job, delivery_id
from sipuma.notifier.main import build
from sipuma.notifier.settings import NotifierSettings
from sipuma.shared import topics
from sipuma.shared.events import ComplaintIdentityErased
from tests.harness.endpoints import Endpoints
from tests.harness.rawstore import postgres_texts, wire_texts
from tests.harness.state import eventually

pytestmark = pytest.mark.integration
OFFICE = "KPUBC-TPK-TJPRIOK"


def open_delivery(complaint_id: str, email: str, ticket_number: str) -> Delivery:
    now = datetime.now(UTC)
    return Delivery(
        key=delivery_id(ticket_number, "email"),
        channel="email",
        state=PENDING,
        attempts=0,
        # Far ahead: the dispatcher leaves it alone, so the job stays while the test looks.
        next_attempt_at=now + timedelta(days=365),
        created_at=now,
        updated_at=now,
        ticket_event_id=str(uuid.uuid4()),
        complaint_id=complaint_id,
        office_code=OFFICE,
        correlation_id=uuid.uuid4().hex,
        language="id",
        job=Job(address=email, ticket_number=ticket_number, register_number="PGD/X/2026/000001"),
    )


async def test_contacts_sealed_at_rest_and_erased_with_the_complaint(
    settings: NotifierSettings, deliveries, endpoints: Endpoints
) -> None:
    erased_id, kept_id = str(uuid.uuid4()), str(uuid.uuid4())
    email, other_email = address("rahasia"), address("tetap")
    ticket, other_ticket = (f"TKT-{secrets.token_hex(6).upper()}" for _ in range(2))
    planted = [email, other_email, ticket, other_ticket]
    runtime = build(settings)
    async with runtime.running():
        await runtime.deliveries.record(
            [
                open_delivery(erased_id, email, ticket),
                open_delivery(kept_id, other_email, other_ticket),
            ]
        )
        raw = await wire_texts(runtime.mongo, settings.mongo_database)
        assert raw and not [s for s in planted for text in raw if s in text]
        rows = postgres_texts(endpoints, settings.mongo_database)
        if rows is not None:  # the local store: PostgreSQL's tables themselves
            assert rows and not [s for s in planted for text in rows if s in text]

        later = datetime.now(UTC) + timedelta(days=366)
        read = {d.complaint_id: d.job for d in (await runtime.deliveries.due(later, 10))[0]}
        erased_job, kept_job = read[erased_id], read[kept_id]
        assert erased_job is not None and erased_job.address == email
        assert kept_job is not None and kept_job.ticket_number == other_ticket

        erasure = ComplaintIdentityErased(
            source="registry",
            correlation_id=uuid.uuid4().hex,
            office_code=OFFICE,
            complaint_id=uuid.UUID(erased_id),
            erased_at=datetime.now(UTC),
        )
        topic = settings.topic(topics.COMPLAINT_IDENTITY_ERASED)
        await publish_raw(settings.kafka_bootstrap, topic, [encoded(erasure)])

        keys = runtime.mongo[settings.mongo_database][settings.identity_key_vault_collection]

        async def erased() -> bool:  # the job first, then its key (store.erase)
            doc = await deliveries.find_one({"complaint_id": erased_id})
            gone = doc is not None and "job" not in doc
            return gone and await keys.count_documents({"keyAltNames": erased_id}) == 0

        await eventually("the erased complaint's job and key removed", erased, 60)
        assert await keys.count_documents({"keyAltNames": kept_id}) == 1
        after = {d.complaint_id: d for d in (await runtime.deliveries.due(later, 10))[0]}
        assert after[erased_id].job is None and after[erased_id].state == PENDING  # still counted
        still = after[kept_id].job
        assert still is not None and still.address == other_email
