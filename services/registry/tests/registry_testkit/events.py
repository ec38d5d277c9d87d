"""Build valid events for tests, and publish them the way intake / notifier do."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

from aiokafka import AIOKafkaProducer

from sipuma.shared import events as ev
from sipuma.shared import payloads as p
from sipuma.shared.cloudevents import encode, to_headers
from sipuma.shared.topics import topic_for

OFFICES = ["KPUBC-TPK-TJPRIOK", "KPPBC-TMP-NGURAHRAI", "KPPBC-TMP-JAYAPURA"]


def base(office: str, complaint_id: UUID, source: str = "intake") -> dict[str, Any]:
    return {
        "source": source,
        "correlation_id": f"corr-{complaint_id.hex[:8]}",
        "office_code": office,
        "complaint_id": complaint_id,
    }


def received(
    office: str = OFFICES[0],
    complaint_id: UUID | None = None,
    contact: p.TrackingContact | None = None,
    received_at: datetime | None = None,
    occurred_at: datetime | None = None,
    channel: p.Channel = p.Channel.IN_PERSON,
) -> ev.ComplaintReceived:
    cid = complaint_id or uuid4()
    extra = {"occurred_at": occurred_at} if occurred_at else {}
    return ev.ComplaintReceived(
        **base(office, cid),
        **extra,
        channel=channel,
        received_at=received_at or datetime.now(UTC),
        receiving_officer_id="198001012005011001",
        complainant=p.ComplainantIdentity(
            name="Siti Nur'aini", address="Jl. Merdeka 1, Jakarta", phone="+6281234567890"
        ),
        elements=p.ComplaintElements(
            what="Petugas meminta uang tambahan untuk mempercepat pemeriksaan barang.",
            who=[p.ReportedEmployee(name="Budi", position="Pemeriksa")],
            when=p.WhenDate(date=date(2026, 10, 1)),
            where="Terminal kargo",
            how="Secara langsung di loket",
        ),
        tracking_contact=contact,
    )


def contact_provided(
    office: str, complaint_id: UUID, email: str = "pengadu@example.org"
) -> ev.TrackingContactProvided:
    return ev.TrackingContactProvided(
        **base(office, complaint_id),
        contact=p.TrackingContact(email=email, mobile="+6281234567890"),
        officer_id="198001012005011001",
    )


async def publish(
    producer: AIOKafkaProducer, event: ev.Event, prefix: str = "", value: bytes | None = None
) -> None:
    await producer.send_and_wait(
        prefix + topic_for(event).name,
        encode(event) if value is None else value,
        key=str(event.complaint_id).encode(),
        headers=[(k, v.encode()) for k, v in to_headers(event).items()],
    )
