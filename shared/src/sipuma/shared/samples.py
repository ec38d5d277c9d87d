"""One fixed, valid example of every event: AsyncAPI examples, contract tests and services' tests
(`example(ComplaintReceived, office_code="...")`). All persons and numbers are invented."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, TypeVar
from uuid import UUID

from sipuma.shared import events as ev
from sipuma.shared import payloads as p

E = TypeVar("E", bound=ev.Event)

COMPLAINT_ID = UUID("0b5f4c1e-6a2d-4f7e-9c3b-1d2e3f4a5b6c")
AT = datetime(2026, 3, 2, 2, 15, tzinfo=UTC)  # 09:15 WIB
CONTACT = p.TrackingContact(email="pengadu@contoh.id", mobile="+6281234567890")

_COMMON: dict[str, Any] = {
    "event_id": UUID("5e0c9a34-0f7d-4c4b-8d3e-2a6b7c8d9e0f"),
    "occurred_at": AT,
    "correlation_id": "3f6d1c2b9a8e4f70b1c2d3e4f5a6b7c8",
    "office_code": "KPPBC-TMP-AMBON",
    "complaint_id": COMPLAINT_ID,
}
_PAYLOADS: dict[type[ev.Event], dict[str, Any]] = {
    ev.ComplaintReceived: {
        "source": "intake",
        "channel": p.Channel.IN_PERSON,
        "received_at": AT,
        "receiving_officer_id": "198001012005011001",
        "complainant": p.ComplainantIdentity(
            name="Siti Nur'aini",
            address="Jl. Pattimura No. 1, Ambon",
            phone="+6281234567890",
            email="pengadu@contoh.id",
        ),
        "elements": p.ComplaintElements(
            what="Petugas meminta uang tambahan untuk mempercepat pemeriksaan barang.",
            who=[p.ReportedEmployee(name="Ahmad", position="Pemeriksa", unit="Seksi PKC")],
            when=p.WhenDate(date=date(2026, 2, 27)),
            where="Ruang pemeriksaan fisik, Pelabuhan Yos Sudarso",
            how="Disampaikan secara lisan saat pemeriksaan.",
        ),
        "tracking_contact": CONTACT,
        "paper_archive_ref": "Lemari UKI, map 2026/03",
    },
    ev.ComplaintRegistered: {
        "source": "registry",
        "register_number": "PGD-KPPBC-TMP-AMBON/2026/000001",
        "sequence": 1,
        "register_year": 2026,
        "registered_at": AT,
    },
    ev.ComplaintSupplemented: {
        "source": "intake",
        "supplement_id": UUID("9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"),
        "kind": p.SupplementKind.CORRECTION,
        "text": "Kejadian pada 26 Februari, bukan 27 Februari.",
        "corrects": "when",
        "reason": "Pengadu meralat tanggal kejadian.",
        "recorded_at": AT,
        "officer_id": "198001012005011001",
    },
    ev.TrackingContactProvided: {
        "source": "intake",
        "contact": CONTACT,
        "officer_id": "198001012005011001",
    },
    ev.RegisterNumberCommunicated: {
        "source": "intake",
        "outcome": p.CommunicationOutcome.TOLD,
        "method": p.CommunicationMethod.IN_PERSON,
        "officer_id": "198001012005011001",
    },
    ev.TicketIssued: {
        "source": "registry",
        "ticket_number": "TKT-7QK2-M9XD-4HPA",
        "register_number": "PGD-KPPBC-TMP-AMBON/2026/000001",
        "contact": CONTACT,
    },
    ev.EvidenceStored: {
        "source": "evidence",
        "evidence_id": UUID("7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"),
        "kind": p.EvidenceKind.PHOTO,
        "content_type": "image/jpeg",
        "size_bytes": 482_113,
        "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "object_key": "KPPBC-TMP-AMBON/0b5f4c1e-6a2d-4f7e-9c3b-1d2e3f4a5b6c/7a6b5c4d",
    },
    ev.NotificationSent: {
        "source": "notifier",
        "ticket_event_id": UUID("5e0c9a34-0f7d-4c4b-8d3e-2a6b7c8d9e0f"),
        "channel": p.NotificationChannel.SMS,
        "attempts": 1,
    },
    ev.NotificationFailed: {
        "source": "notifier",
        "ticket_event_id": UUID("5e0c9a34-0f7d-4c4b-8d3e-2a6b7c8d9e0f"),
        "channel": p.NotificationChannel.EMAIL,
        "attempts": 5,
        "reason": p.NotificationFailure.RETRIES_EXHAUSTED,
        "final": True,
        "detail": "SMTP 451 temporary failure",
    },
    ev.ComplaintStatusChanged: {
        "source": "registry",
        "from_status": p.ComplaintStatus.REGISTERED,
        "to_status": p.ComplaintStatus.VERIFIED,
        "changed_at": AT,
    },
    ev.ComplaintDeadlineApproaching: {
        "source": "registry",
        "stage": "verification",
        "status": p.ComplaintStatus.REGISTERED,
        "due_at": AT,
        "working_days": 3,
    },
    ev.ComplaintOverdue: {
        "source": "registry",
        "stage": "verification",
        "status": p.ComplaintStatus.REGISTERED,
        "due_at": AT,
        "working_days": 3,
        "escalation": "supervisor",
    },
    ev.ComplaintCategorised: {
        "source": "registry",
        "category": "gratifikasi-suap",
        "previous_category": "pelayanan",
        "categorised_at": AT,
        "register_number": "PGD/KPPBC-TMP-NGURAHRAI/2026/000012",
    },
    ev.ComplaintIdentityErased: {"source": "registry", "erased_at": AT},
    ev.ComplaintDuplicatesHinted: {
        "source": "registry",
        "duplicates": [
            {
                "office_code": "KPPBC-TMP-NGURAHRAI",
                "received_at": AT,
                "register_number": "PGD/KPPBC-TMP-NGURAHRAI/2026/000012",
            }
        ],
    },
    ev.IdentityRead: {
        "source": "registry",
        "officer_id": "198001012005011001",
        "officer_office": "KPUBC-TPK-TJPRIOK",
        "fields": ["complainant", "elements"],
        "purpose": "tindak lanjut",
        "request_id": "req-0001",
        "read_at": AT,
    },
}


def example(cls: type[E], **overrides: Any) -> E:
    """A valid instance of `cls`; `overrides` replace any field."""
    return cls.model_validate({**_COMMON, **_PAYLOADS[cls], **overrides})
