"""Without I/O: one bad tracking channel keeps the other, how old a receipt may be, and 422s
that name the field as the API does, in our own words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from sipuma.intake import answers, checks, domain
from sipuma.intake.domain import Violation
from sipuma.intake.models import TrackingContactIn
from sipuma.intake.problems import api_location, in_api_words
from sipuma.shared.payloads import NotificationChannel

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
DAYS_30 = timedelta(days=30)


def check(**given: str) -> tuple[checks.ContactCheck, list[Violation]]:
    found: list[Violation] = []
    return checks.tracking_contact("tracking_contact", TrackingContactIn(**given), found), found


def test_both_channels_valid_are_both_kept() -> None:
    done, found = check(email="Ayu@Example.co.id", mobile="0812-3456-7890")
    assert found == [] and done.refused == []
    assert done.usable is not None
    assert (done.usable.email, done.usable.mobile) == ("Ayu@example.co.id", "+6281234567890")


@pytest.mark.parametrize(
    ("mobile", "code"),
    [
        ("021 555 1234", "mobile_landline"),
        ("0800 1234 567", "mobile_toll_free"),
        ("0809 1234567", "mobile_service_number"),
        ("12345", "phone_invalid"),
        ("+44 7911 123456", "mobile_not_indonesian"),
    ],
)
def test_a_bad_mobile_keeps_the_email(mobile: str, code: str) -> None:
    done, found = check(email="ayu@example.co.id", mobile=mobile)
    assert found == []  # nothing that refuses the whole request
    assert done.usable is not None
    assert (done.usable.email, done.usable.mobile) == ("ayu@example.co.id", None)
    [refused] = done.refused
    assert refused.channel is NotificationChannel.SMS
    assert (refused.violation.field, refused.violation.rule) == ("tracking_contact.mobile", code)


def test_a_bad_email_keeps_the_mobile() -> None:
    done, _ = check(email="ayu@", mobile="0812 3456 7890")
    assert done.usable is not None and done.usable.mobile == "+6281234567890"
    assert done.usable.email is None
    assert [(r.channel, r.violation.rule) for r in done.refused] == [
        (NotificationChannel.EMAIL, "email_invalid")
    ]


def test_both_channels_bad_leave_no_contact_and_name_both() -> None:
    done, found = check(email="ayu@", mobile="021 555 1234")
    assert done.usable is None and found == []
    assert [r.violation.field for r in done.refused] == [
        "tracking_contact.email",
        "tracking_contact.mobile",
    ]


def test_no_channel_at_all_is_a_request_error() -> None:
    done, found = check(email="-")
    assert done.usable is None and done.refused == []
    assert [(v.field, v.rule) for v in found] == [("tracking_contact", "email_or_mobile")]


def test_outcome_says_where_the_ticket_goes_and_why_sms_was_refused() -> None:
    done, _ = check(email="ayu@example.co.id", mobile="0800 1234 567")
    said = answers.contact_outcome(done)
    assert said.channels == [NotificationChannel.EMAIL]
    [refused] = said.refused
    assert (refused.channel, refused.name, refused.code) == (
        NotificationChannel.SMS,
        "tracking_contact.mobile",
        "mobile_toll_free",
    )
    assert "bebas pulsa" in refused.messages.id and "toll-free" in refused.messages.en
    assert said.message.id.startswith("Nomor tiket akan dikirim lewat e-mail.")
    assert "SMS ditolak" in said.message.id
    assert said.message.en.startswith("The ticket number will be sent by e-mail.")
    assert "SMS refused" in said.message.en


def test_outcome_without_any_usable_channel_says_no_ticket_yet() -> None:
    done, _ = check(email="ayu@", mobile="021 555 1234")
    said = answers.contact_outcome(done)
    assert said.channels == [] and len(said.refused) == 2
    assert "tidak disimpan" in said.message.id and "not saved" in said.message.en


def test_outcome_with_both_channels() -> None:
    done, _ = check(email="ayu@example.co.id", mobile="0812 3456 7890")
    said = answers.contact_outcome(done)
    assert said.channels == [NotificationChannel.EMAIL, NotificationChannel.SMS]
    assert said.refused == []
    assert said.message.id == "Nomor tiket akan dikirim lewat e-mail dan SMS."


# -- received_at --------------------------------------------------------------------------------
def test_received_at_may_be_as_old_as_the_setting_and_no_older() -> None:
    assert domain.not_too_old("received_at", NOW - DAYS_30, NOW, DAYS_30) == []
    [old] = domain.not_too_old("received_at", NOW - DAYS_30 - timedelta(minutes=1), NOW, DAYS_30)
    assert (old.field, old.rule) == ("received_at", "too_old")
    assert "30 hari" in old.id and "30 days" in old.en


def test_a_receipt_in_1999_or_year_one_is_too_old_not_a_crash() -> None:
    # Year one at +14:00 has no UTC form: building the event would crash (it used to: a 500).
    year_one = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))
    for value in (datetime(1999, 5, 1, tzinfo=UTC), year_one):
        assert [v.rule for v in domain.not_too_old("received_at", value, NOW, DAYS_30)] == [
            "too_old"
        ]


# -- 422 field names and wording ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("loc", "name"),
    [
        (("body", "elements", "when", "date", "date"), ("body", "elements", "when", "date")),
        (("body", "elements", "when", "period", "start"), ("body", "elements", "when", "start")),
        (
            ("body", "elements", "when", "approximate", "description"),
            ("body", "elements", "when", "description"),
        ),
        (("body", "elements", "when"), ("body", "elements", "when")),
        (("body", "complainant", "name"), ("body", "complainant", "name")),
        (("path", "complaint_id"), ("complaint_id",)),
        (("header", "Idempotency-Key"), ("Idempotency-Key",)),
    ],
)
def test_field_names_as_the_api_says_them(loc: tuple[str, ...], name: tuple[str, ...]) -> None:
    assert api_location(loc) == name


def test_pydantic_wording_is_replaced_but_our_rules_keep_theirs() -> None:
    raw = [
        {
            "type": "date_from_datetime_parsing",
            "loc": ("body", "elements", "when", "date", "date"),
            "msg": "Input should be a valid date or datetime, input is too short",
            "ctx": {"error": "input is too short"},
        },
        {
            "type": "mobile_landline",
            "loc": ("body", "mobile"),
            "msg": "kept",
            "ctx": {"rule": "mobile_landline", "id": "x", "en": "kept"},
        },
    ]
    date_error, rule_error = in_api_words(raw)
    assert date_error["loc"] == ("body", "elements", "when", "date")
    assert date_error["msg"] == "Must be a date (YYYY-MM-DD)."
    assert rule_error["msg"] == "kept"


def test_a_corrected_contact_says_earlier_tickets_are_revoked() -> None:
    """Issue 20, defect 1: the registry revokes the tickets sent to earlier contacts."""
    done = checks.tracking_contact("", TrackingContactIn(email="benar@example.org"), [])
    said = answers.contact_outcome(done, correction=True)
    assert said.revokes_earlier_tickets is True
    assert "dicabut" in said.message.id and "revoked" in said.message.en
    assert answers.contact_outcome(done).revokes_earlier_tickets is False
