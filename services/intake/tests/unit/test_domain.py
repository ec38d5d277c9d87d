"""SOP rules without I/O: placeholders, names, completeness settings, time rules, ids."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from sipuma.intake import domain
from sipuma.intake.domain import CompletenessRule

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "-",
        "--",
        "n/a",
        "N/A",
        "na",
        "Tidak ada",
        "tidak  ada.",
        "...",
        "???",
        "—",
        "___",
        "x",
        "XXX",
        "nihil",
        "kosong",
        "tidak tahu",
        "-.-",
        None,
    ],
)
def test_placeholders_say_nothing(text: str | None) -> None:
    assert domain.is_blank_or_placeholder(text)
    assert not domain.says_something(text)


@pytest.mark.parametrize("text", ["Pos 1", "Terminal 3", "Uang Rp500.000 diminta", "KPPBC"])
def test_real_text_says_something(text: str) -> None:
    assert domain.says_something(text)


def test_too_short_text_is_not_meaningful() -> None:
    assert domain.required_text("elements.where", "A1", "Di mana", "Where")[0].rule == (
        "not_meaningful"
    )


def test_required_text_names_field_and_rule_in_both_languages() -> None:
    [missing] = domain.required_text("elements.what", None, "Apa", "What")
    assert (missing.field, missing.rule) == ("elements.what", "required")
    assert "wajib" in missing.id and "required" in missing.en
    [unclear] = domain.required_text("elements.what", "tidak ada", "Apa", "What")
    assert unclear.rule == "not_meaningful"


@pytest.mark.parametrize(
    "name",
    [
        "Sukarno",
        "Ma'ruf Amin",
        "I Gusti Ngurah Rai",
        "Ir. H. Djuanda",
        "Siti Nurbaya-Putri",
        "Nguyễn Văn An",
        "A. Rahman",
        "O’Neil",
    ],
)
def test_names_with_apostrophes_dots_diacritics_single_names(name: str) -> None:
    assert domain.name_violations("n", name, "Nama", "Name") == []


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("", "required"),
        ("-", "not_meaningful"),
        ("Budi123", "name_characters"),
        ("<b>", "name_characters"),
    ],
)
def test_bad_names(name: str, rule: str) -> None:
    assert domain.name_violations("n", name, "Nama", "Name")[0].rule == rule


def _identity(rule: CompletenessRule, **kw: str | None) -> list[str]:
    values: dict[str, str | None] = {
        "name": "Ayu",
        "address": "Jl. Melati 1, Denpasar",
        "phone": None,
        "email": None,
    }
    values.update(kw)
    return [f"{v.field}:{v.rule}" for v in domain.identity_violations(rule, **values)]


def test_sop_rule_needs_phone_or_email() -> None:
    assert _identity(CompletenessRule.SOP) == ["complainant:phone_or_email"]
    assert _identity(CompletenessRule.SOP, phone="0812") == []
    assert _identity(CompletenessRule.SOP, email="a@b.id") == []
    assert _identity(CompletenessRule.SOP, phone="-", email="n/a") == ["complainant:phone_or_email"]


def test_strict_rule_needs_phone_and_email() -> None:
    assert _identity(CompletenessRule.STRICT, phone="0812") == ["complainant.email:required_strict"]
    assert _identity(CompletenessRule.STRICT) == [
        "complainant.phone:required_strict",
        "complainant.email:required_strict",
    ]
    assert _identity(CompletenessRule.STRICT, phone="0812", email="a@b.id") == []


def test_identity_names_every_missing_element() -> None:
    assert _identity(CompletenessRule.SOP, name=None, address="-") == [
        "complainant.name:required",
        "complainant.address:not_meaningful",
        "complainant:phone_or_email",
    ]


def test_future_times_and_reversed_periods() -> None:
    assert domain.not_in_future("t", NOW + timedelta(minutes=4), NOW) == []
    assert domain.not_in_future("t", NOW + timedelta(hours=1), NOW)[0].rule == "not_in_future"
    assert domain.not_in_future("d", date(2026, 11, 29), NOW) == []  # already today in WIT
    assert domain.not_in_future("d", date(2026, 12, 1), NOW)[0].rule == "not_in_future"
    rules = [
        v.rule for v in domain.period_violations("p", date(2026, 11, 5), date(2026, 11, 1), NOW)
    ]
    assert rules == ["period_order"]


def test_ids_are_deterministic_per_officer_and_key() -> None:
    a = domain.deterministic_id("198001", "POST /v1/complaints", "k-1")
    assert a == domain.deterministic_id("198001", "POST /v1/complaints", "k-1")
    assert a != domain.deterministic_id("198002", "POST /v1/complaints", "k-1")
    assert a != domain.deterministic_id("198001", "POST /v1/complaints", "k-2")
    assert domain.event_id(a, "received") == domain.event_id(a, "received")
