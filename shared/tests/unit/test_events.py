"""Event contracts: JSON round trips, immutability, strictness, UTC, personal-data markers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from sipuma.shared import events as ev
from sipuma.shared import payloads as p
from sipuma.shared.events import ALL_EVENTS, EVENT_TYPES, InvalidEvent, parse_event
from sipuma.shared.samples import example

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("cls", ALL_EVENTS, ids=lambda c: c.__name__)
def test_json_round_trip(cls: type[ev.Event]) -> None:
    event = example(cls)
    again = parse_event(cls.TYPE, event.model_dump_json())
    assert again == event
    assert type(again) is cls
    assert again.model_dump_json() == event.model_dump_json()


@pytest.mark.parametrize("cls", ALL_EVENTS, ids=lambda c: c.__name__)
def test_type_is_versioned_and_serialized(cls: type[ev.Event]) -> None:
    assert cls.TYPE.startswith("sipuma.") and cls.TYPE.rsplit(".", 1)[-1].startswith("v")
    assert example(cls).model_dump()["event_type"] == cls.TYPE
    assert EVENT_TYPES[cls.TYPE] is cls


def test_events_are_frozen_and_refuse_unknown_fields() -> None:
    event = example(ev.ComplaintRegistered)
    with pytest.raises(ValidationError):
        event.sequence = 2  # type: ignore[misc]
    with pytest.raises(ValidationError) as info:
        example(ev.ComplaintRegistered, registered_by="someone")
    assert info.value.errors()[0]["type"] == "extra_forbidden"


def test_readers_ignore_fields_added_by_a_newer_producer() -> None:
    body = example(ev.ComplaintRegistered).model_dump(mode="json") | {"added_later": 1}
    parsed = parse_event(ev.ComplaintRegistered.TYPE, json.dumps(body))
    assert isinstance(parsed, ev.ComplaintRegistered) and parsed.sequence == 1


def test_times_are_utc_and_must_be_aware() -> None:
    wib = timezone(timedelta(hours=7))
    event = example(ev.ComplaintRegistered, registered_at=datetime(2026, 1, 1, 7, tzinfo=wib))
    assert event.registered_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert event.registered_at.utcoffset() == timedelta(0)
    with pytest.raises(ValidationError):
        example(ev.ComplaintRegistered, occurred_at=datetime(2026, 1, 1))


def test_event_id_is_unique_by_default() -> None:
    data = example(ev.ComplaintStatusChanged).model_dump(exclude={"event_id"})
    assert ev.ComplaintStatusChanged(**data).event_id != ev.ComplaintStatusChanged(**data).event_id


def test_parse_event_errors_never_quote_values() -> None:
    body = example(ev.ComplaintReceived).model_dump(mode="json")
    body["complainant"]["phone"] = "0812-9999-8888 (Siti)"
    with pytest.raises(InvalidEvent) as info:
        parse_event(ev.ComplaintReceived.TYPE, json.dumps(body))
    assert info.value.code == "invalid_payload"
    assert "complainant.phone" in info.value.detail
    assert "9999" not in str(info.value) and "Siti" not in str(info.value)
    with pytest.raises(InvalidEvent, match="unknown_event_type"):
        parse_event("sipuma.nope.v1", b"{}")
    with pytest.raises(InvalidEvent, match="invalid_payload"):
        parse_event(ev.ComplaintReceived.TYPE, b"not json")


def test_body_type_must_match_the_declared_type() -> None:
    body = example(ev.ComplaintStatusChanged).model_dump_json()
    with pytest.raises(InvalidEvent):
        parse_event(ev.ComplaintRegistered.TYPE, body)


def test_personal_data_markers() -> None:
    personal = {cls.__name__ for cls in ALL_EVENTS if cls.carries_personal_data}
    assert personal == {
        "ComplaintReceived",
        "ComplaintSupplemented",
        "TrackingContactProvided",
        "RegisterNumberCommunicated",
        "TicketIssued",
        "IdentityRead",  # who looked at whom: restricted (issue 16)
        "ComplaintDuplicatesHinted",  # links filings of one person: restricted (issue 16)
    }


PERSONAL_FIELD_NAMES = {"name", "address", "phone", "email", "nik", "nip", "mobile", "contact"}
PERSONAL_FIELD_NAMES |= {"complainant", "note", "text", "officer_id", "receiving_officer_id"}


def _field_names(schema: dict[str, object]) -> set[str]:
    names: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            props = node.get("properties")
            if isinstance(props, dict):
                names.update(props)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return names


@pytest.mark.parametrize(
    "cls", [c for c in ALL_EVENTS if not c.carries_personal_data], ids=lambda c: c.__name__
)
def test_analytics_events_have_no_personal_field(cls: type[ev.Event]) -> None:
    assert not _field_names(cls.model_json_schema()) & PERSONAL_FIELD_NAMES


def test_notification_failure_detail_refuses_contact_data() -> None:
    for leak in ("bounced for siti@contoh.id", "gateway refused +62 812 3456 7890"):
        with pytest.raises(ValidationError) as info:
            example(ev.NotificationFailed, detail=leak)
        assert info.value.errors()[0]["type"] == "no_contact_data"


def test_supplement_rules_of_the_contract() -> None:
    with pytest.raises(ValidationError, match="reason"):
        example(ev.ComplaintSupplemented, reason=None)
    with pytest.raises(ValidationError, match="reported_employees"):
        example(ev.ComplaintSupplemented, kind=p.SupplementKind.REPORTED_EMPLOYEE_ADDED)
    added = example(
        ev.ComplaintSupplemented,
        kind=p.SupplementKind.REPORTED_EMPLOYEE_ADDED,
        text=None,
        reason=None,
        reported_employees=[p.ReportedEmployee(name="Ahmad", nip="198001012005011001")],
    )
    assert added.reported_employees[0].nip == "198001012005011001"


def test_register_number_communicated_needs_a_method_when_told() -> None:
    with pytest.raises(ValidationError, match="method"):
        example(ev.RegisterNumberCommunicated, method=None)
    unreachable = example(
        ev.RegisterNumberCommunicated, outcome=p.CommunicationOutcome.UNREACHABLE, method=None
    )
    assert unreachable.outcome is p.CommunicationOutcome.UNREACHABLE


def test_tracking_contact_needs_email_or_mobile_and_mobile_is_e164() -> None:
    with pytest.raises(ValidationError) as info:
        p.TrackingContact()
    assert info.value.errors()[0]["type"] == "contact_required"
    with pytest.raises(ValidationError):
        p.TrackingContact(mobile="081234567890")  # events carry E.164 only
    assert p.TrackingContact(email="a@b.id").mobile is None


def test_when_is_a_tagged_union() -> None:
    elements = p.ComplaintElements.model_validate(
        {"when": {"kind": "period", "start": "2026-01-01", "end": "2026-01-31"}}
    )
    assert isinstance(elements.when, p.WhenPeriod)


def test_subclass_without_versioned_literal_is_refused() -> None:
    with pytest.raises(TypeError):

        class Broken(ev.Event):  # pragma: no cover - the class statement itself fails
            pass
