"""From use-case data to Kafka records (shared event contracts + CloudEvents headers), and back
for the events intake reads. The only intake module that knows the event contracts."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sipuma.intake import domain
from sipuma.intake.models import (
    ComplaintIn,
    RegisterNumberCommunicationIn,
    ReportedEmployeeIn,
    ReportedEmployeesIn,
    SupplementIn,
    TrackingContactIn,
)
from sipuma.intake.spool import OutgoingRecord
from sipuma.intake.waiters import Seen
from sipuma.shared import events as ev
from sipuma.shared import payloads as p
from sipuma.shared.auth import Principal
from sipuma.shared.cloudevents import decode_message, encode, to_headers
from sipuma.shared.topics import check_publishable

SOURCE = "intake"


@dataclass(frozen=True)
class Topics:
    received: str
    supplemented: str
    contact: str
    communicated: str
    registered: str


def _record(topic: str, event: ev.Event) -> OutgoingRecord:
    # Right event type for the topic, restricted enough for personal data (prefixes included).
    check_publishable(event, topic)
    headers = tuple((k, v.encode()) for k, v in to_headers(event).items())
    return OutgoingRecord(topic, str(event.complaint_id).encode(), encode(event), headers)


def _text(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


def _employee(item: ReportedEmployeeIn) -> p.ReportedEmployee:
    return p.ReportedEmployee(
        name=_text(item.name),
        nip=_text(item.nip),
        position=_text(item.position),
        unit=_text(item.unit),
    )


def _contact(contact: TrackingContactIn | None) -> p.TrackingContact | None:
    if contact is None:
        return None
    return p.TrackingContact(
        email=_text(contact.email), mobile=_text(contact.mobile), language=contact.language
    )


def _when(body: ComplaintIn) -> p.WhenDate | p.WhenPeriod | p.WhenApproximate | None:
    when = body.elements.when
    if when is None:
        return None
    data = when.model_dump()
    if when.kind == "date":
        return p.WhenDate(**data)
    if when.kind == "period":
        return p.WhenPeriod(**data)
    return p.WhenApproximate(kind="approximate", description=data["description"].strip())


def complaint_received(
    topics: Topics,
    complaint_id: str,
    office_code: str,
    officer_id: str,
    body: ComplaintIn,
    correlation_id: str,
    recorded_at: datetime,
) -> OutgoingRecord:
    cid = uuid.UUID(complaint_id)
    person, el = body.complainant, body.elements
    event = ev.ComplaintReceived(
        event_id=domain.event_id(cid, "received"),
        occurred_at=recorded_at,
        source=SOURCE,
        correlation_id=correlation_id,
        office_code=office_code,
        complaint_id=cid,
        channel=body.channel,
        channel_other=_text(body.channel_description),
        received_at=body.received_at,
        receiving_officer_id=officer_id,
        complainant=p.ComplainantIdentity(
            name=_text(person.name),
            address=_text(person.address),
            phone=_text(person.phone),
            email=_text(person.email),
            nik=_text(person.nik),
        ),
        elements=p.ComplaintElements(
            what=_text(el.what),
            who=[_employee(e) for e in el.who],
            when=_when(body),
            where=_text(el.where),
            how=_text(el.how),
        ),
        tracking_contact=_contact(body.tracking_contact),
        paper_archive_ref=_text(body.paper_archive_ref),
    )
    return _record(topics.received, event)


def _common(
    complaint_id: str, amendment_id: str, who: Principal, correlation_id: str, at: datetime
) -> dict[str, Any]:
    return {
        "event_id": uuid.UUID(amendment_id),
        "occurred_at": at,
        "source": SOURCE,
        "correlation_id": correlation_id,
        "office_code": who.office_code,
        "complaint_id": uuid.UUID(complaint_id),
        "officer_id": who.officer_id,
    }


def complaint_supplemented(
    topics: Topics,
    complaint_id: str,
    amendment_id: str,
    who: Principal,
    body: SupplementIn,
    correlation_id: str,
    at: datetime,
) -> OutgoingRecord:
    event = ev.ComplaintSupplemented(
        **_common(complaint_id, amendment_id, who, correlation_id, at),
        supplement_id=uuid.UUID(amendment_id),
        kind=p.SupplementKind(body.kind.value),
        text=_text(body.text),
        corrects=body.corrects.value if body.corrects else None,
        reason=_text(body.reason),
        recorded_at=at,
    )
    return _record(topics.supplemented, event)


def employees_reported(
    topics: Topics,
    complaint_id: str,
    amendment_id: str,
    who: Principal,
    body: ReportedEmployeesIn,
    correlation_id: str,
    at: datetime,
) -> OutgoingRecord:
    event = ev.ComplaintSupplemented(
        **_common(complaint_id, amendment_id, who, correlation_id, at),
        supplement_id=uuid.UUID(amendment_id),
        kind=p.SupplementKind.REPORTED_EMPLOYEE_ADDED,
        reported_employees=[_employee(e) for e in body.employees],
        recorded_at=at,
    )
    return _record(topics.supplemented, event)


def tracking_contact_provided(
    topics: Topics,
    complaint_id: str,
    amendment_id: str,
    who: Principal,
    body: TrackingContactIn,
    correlation_id: str,
    at: datetime,
) -> OutgoingRecord:
    contact = _contact(body)
    assert contact is not None
    event = ev.TrackingContactProvided(
        **_common(complaint_id, amendment_id, who, correlation_id, at), contact=contact
    )
    return _record(topics.contact, event)


def register_number_communicated(
    topics: Topics,
    complaint_id: str,
    amendment_id: str,
    who: Principal,
    body: RegisterNumberCommunicationIn,
    correlation_id: str,
    at: datetime,
) -> OutgoingRecord:
    note = _text(body.note)
    event = ev.RegisterNumberCommunicated(
        **_common(complaint_id, amendment_id, who, correlation_id, at),
        outcome=body.outcome,
        method=body.method,
        unreachable_reason=body.reason,
        note=note[:1000] if note else None,
    )
    return _record(topics.communicated, event)


def _headers(raw: Any) -> Mapping[str, str]:
    return {k: v.decode("utf-8", "replace") for k, v in (raw or ())}


def decode_received(headers: Any, value: bytes) -> Seen | None:
    """Only id and office are needed, and every replica reads every complaint: a cheap look at
    the CloudEvents type and two fields, not a full validation (the registry validates)."""
    meta = _headers(headers)
    if meta.get("ce_type") != ev.ComplaintReceived.TYPE:
        return None
    data = json.loads(value)
    complaint_id, office_code = data.get("complaint_id"), data.get("office_code")
    if not isinstance(complaint_id, str) or not isinstance(office_code, str):
        return None
    return Seen(str(uuid.UUID(complaint_id)), office_code)


def decode_registered(headers: Any, value: bytes) -> Seen | None:
    _, event = decode_message(_headers(headers), value, accept=[ev.ComplaintRegistered])
    assert isinstance(event, ev.ComplaintRegistered)
    return Seen(
        str(event.complaint_id),
        event.office_code,
        event.register_number,
        event.registered_at.isoformat().replace("+00:00", "Z"),
    )
