"""Indonesian value types: examples for every rule, and property tests for round trips/rejects."""

from __future__ import annotations

from datetime import date, timedelta
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from sipuma.shared import rules
from sipuma.shared.rules import ALL_RULES, RuleViolation
from sipuma.shared.validators import (
    EmailAddress,
    MobileNumber,
    Nik,
    Nip,
    PhoneNumber,
    normalize_email,
    normalize_mobile,
    normalize_nik,
    normalize_nip,
    normalize_phone,
    parse_nik,
    parse_nip,
)

pytestmark = pytest.mark.unit
TODAY = date(2026, 6, 1)


def code_of(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(RuleViolation) as info:
        call(*args, **kwargs)  # type: ignore[operator]
    return info.value.rule.code


# -- rules --------------------------------------------------------------------------------------
def test_every_rule_has_a_unique_code_and_both_languages() -> None:
    codes = [rule.code for rule in ALL_RULES]
    assert len(codes) == len(set(codes)) >= 14
    for rule in ALL_RULES:
        assert rule.id and rule.en and rule.id != rule.en


# -- phone --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw",
    [
        "081234567890",
        "0812-3456-7890",
        "0812 3456 7890",
        "(0812) 3456 7890",
        "+62 812 3456 7890",
        "+6281234567890",
        "62 812 3456 7890",
        "6281234567890",
        " 0812.3456.7890 ",
    ],
)
def test_indonesian_mobile_spellings_store_e164(raw: str) -> None:
    assert normalize_mobile(raw) == "+6281234567890"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("021 555 1234", "mobile_landline"),
        ("+62 21 5551234", "mobile_landline"),
        ("(0361) 234567", "mobile_landline"),
        ("0800 1234 567", "mobile_toll_free"),
        ("+62 800 1888888", "mobile_toll_free"),
        ("0809 1234567", "mobile_service_number"),
        ("0804 1234567", "mobile_service_number"),
        ("1500 123", "mobile_service_number"),
        ("+1 650 253 0000", "mobile_not_indonesian"),
        ("+44 7911 123456", "mobile_not_indonesian"),
        ("0812", "phone_invalid"),
        ("08123456789012345", "phone_invalid"),
        ("nomor saya", "phone_invalid"),
        ("", "phone_invalid"),
    ],
)
def test_mobile_rejects_with_a_clear_rule(raw: str, code: str) -> None:
    assert code_of(normalize_mobile, raw) == code


def test_landline_message_says_it_cannot_receive_sms() -> None:
    assert "SMS" in rules.MOBILE_LANDLINE.id and "SMS" in rules.MOBILE_LANDLINE.en


def test_a_toll_free_number_is_called_toll_free_not_a_landline() -> None:
    rule = rules.MOBILE_TOLL_FREE
    assert "bebas pulsa" in rule.id and "toll-free" in rule.en
    assert "SMS" in rule.id and "SMS" in rule.en
    assert "rumah/kantor" not in rule.id and "landline" not in rule.en


def test_phone_accepts_landlines_and_foreign_numbers() -> None:
    assert normalize_phone("(021) 555-1234") == "+62215551234"
    assert normalize_phone("+1 650 253 0000") == "+16502530000"
    assert code_of(normalize_phone, "12") == "phone_invalid"


@pytest.mark.parametrize(
    "raw", ["081234567890😀", "tel:081234567890", "0812 3456 7890 ext 5", "0812-3456-7890 (HP)"]
)
def test_phone_with_anything_besides_the_number_is_refused(raw: str) -> None:
    """phonenumbers would find the number inside the text; a stored contact must be only that."""
    assert code_of(normalize_phone, raw) == "phone_invalid"
    assert code_of(normalize_mobile, raw) == "phone_invalid"


MOBILE_PREFIXES = ["811", "812", "813", "821", "822", "823", "851", "852", "853", "855", "856"]
MOBILE_PREFIXES += ["857", "858", "859", "877", "878", "881", "882", "887", "895", "896", "899"]
national_mobile = st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(MOBILE_PREFIXES),
    st.text("0123456789", min_size=7, max_size=9),
)
separators = st.sampled_from(["", " ", "-", "."])


def spelled(nsn: str, lead: str, sep: str) -> str:
    groups = [nsn[:3], nsn[3:7], nsn[7:]]
    return lead + sep.join(groups)


@settings(max_examples=300)
@given(national_mobile, st.sampled_from(["0", "+62", "+62 ", "62", "62 "]), separators)
def test_property_mobile_round_trip(nsn: str, lead: str, sep: str) -> None:
    stored = normalize_mobile(spelled(nsn, lead, sep))
    assert stored == "+62" + nsn
    assert normalize_mobile(stored) == stored  # the stored form is accepted as is


landline = st.one_of(
    # Two-digit area codes take 7–8 digit subscriber numbers, three-digit ones 6–7.
    st.tuples(
        st.sampled_from(["21", "22", "24", "31", "61"]),
        st.text("123456789", min_size=7, max_size=8),
    ),
    st.tuples(st.sampled_from(["274", "361", "411"]), st.text("123456789", min_size=6, max_size=7)),
)


@given(landline)
def test_property_landlines_never_pass_as_mobile(line: tuple[str, str]) -> None:
    area, number = line
    raw = f"0{area} {number}"
    assert normalize_phone(raw) == f"+62{area}{number}"
    assert code_of(normalize_mobile, raw) == "mobile_landline"


@given(st.text(st.characters(categories=["L", "P", "Zs"]), max_size=30))
def test_property_text_without_digits_is_never_a_phone(text: str) -> None:
    assert code_of(normalize_mobile, text) in {"phone_invalid", "mobile_not_indonesian"}


# -- e-mail -------------------------------------------------------------------------------------
def test_email_is_normalised_without_dns() -> None:
    assert normalize_email(" Budi.Santoso@Contoh.GO.ID ") == "Budi.Santoso@contoh.go.id"
    assert normalize_email("pengadu@domain-yang-tidak-ada-sama-sekali.id").endswith(".id")


@pytest.mark.parametrize("raw", ["budi", "budi@", "@contoh.id", "budi@@contoh.id", "a b@c.id", ""])
def test_email_rejects(raw: str) -> None:
    assert code_of(normalize_email, raw) == "email_invalid"


# -- NIK ----------------------------------------------------------------------------------------
def test_nik_parts_woman_and_man() -> None:
    woman = parse_nik("3171015708450001", today=TODAY)
    assert (woman.region, woman.birth_date, woman.female, woman.serial) == (
        "317101",
        date(1945, 8, 17),
        True,
        "0001",
    )
    man = parse_nik("31.7101.170805.0002", today=TODAY)
    assert (man.birth_date, man.female) == (date(2005, 8, 17), False)
    assert normalize_nik("3171 0117 0805 0002") == "3171011708050002"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("317101170845000", "nik_format"),
        ("31710117084500011", "nik_format"),
        ("3171O11708450001", "nik_format"),
        ("9971011708450001", "nik_region"),  # no province 99
        ("3171001708450001", "nik_region"),  # district 00
        ("3171013508450001", "nik_birth_date"),  # day 35
        ("3171017208450001", "nik_birth_date"),  # day 72 (32 + 40)
        ("3171018508450001", "nik_birth_date"),  # day 85: python-stdnum alone would accept it
        ("3171011713450001", "nik_birth_date"),  # month 13
        ("3171013002000001", "nik_birth_date"),  # 30 February
        ("3171011708450000", "nik_serial"),
    ],
)
def test_nik_rejects(raw: str, code: str) -> None:
    assert code_of(parse_nik, raw, today=TODAY) == code


def _regencies() -> list[str]:
    """Province+regency codes python-stdnum knows (its own data file)."""
    text = resources.files("stdnum.id").joinpath("loc.dat").read_text("utf-8")
    codes, province = [], ""
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if not line.startswith(" "):
            province = line.split()[0]
        elif province:
            codes.append(province + line.split()[0])
    return codes


REGENCIES = _regencies()


@settings(max_examples=300)
@given(
    st.sampled_from(REGENCIES),
    st.integers(1, 99),
    st.dates(TODAY - timedelta(days=365 * 99), TODAY),
    st.booleans(),
    st.integers(1, 9999),
)
def test_property_nik_round_trip(
    regency: str, district: int, born: date, female: bool, serial: int
) -> None:
    day = born.day + 40 if female else born.day
    raw = f"{regency}{district:02d}{day:02d}{born:%m%y}{serial:04d}"
    parts = parse_nik(raw, today=TODAY)
    assert (parts.region, parts.birth_date, parts.female, parts.serial) == (
        raw[:6],
        born,
        female,
        raw[12:],
    )


@given(st.text("0123456789", min_size=0, max_size=30).filter(lambda s: len(s) != 16))
def test_property_nik_wrong_length_is_refused(raw: str) -> None:
    assert code_of(parse_nik, raw, today=TODAY) == "nik_format"


# -- NIP ----------------------------------------------------------------------------------------
def test_nip_parts() -> None:
    parts = parse_nip("19800101 200501 1 001", today=TODAY)
    assert (parts.birth_date, parts.appointed, parts.female, parts.serial) == (
        date(1980, 1, 1),
        (2005, 1),
        False,
        "001",
    )
    assert parse_nip("198512312010122003", today=TODAY).female
    assert normalize_nip("19800101 200501 1 001") == "198001012005011001"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("19800101200501100", "nip_format"),
        ("1980010120050110011", "nip_format"),
        ("1980O1012005011001", "nip_format"),
        ("198013012005011001", "nip_birth_date"),  # month 13
        ("198002302005011001", "nip_birth_date"),  # 30 February
        ("203001012050011001", "nip_birth_date"),  # born in the future
        ("198001012005131001", "nip_appointment"),  # appointment month 13
        ("198001011979011001", "nip_appointment"),  # appointed before birth
        ("198001012030011001", "nip_appointment"),  # appointed in the future
        ("198001012005013001", "nip_sex"),
        ("198001012005011000", "nip_serial"),
    ],
)
def test_nip_rejects(raw: str, code: str) -> None:
    assert code_of(parse_nip, raw, today=TODAY) == code


@settings(max_examples=300)
@given(
    st.dates(date(1950, 1, 1), date(2006, 12, 31)),
    st.integers(18, 40),
    st.integers(1, 12),
    st.booleans(),
    st.integers(1, 999),
)
def test_property_nip_round_trip(
    born: date, age: int, month: int, female: bool, serial: int
) -> None:
    year = min(born.year + age, TODAY.year - 1)
    raw = f"{born:%Y%m%d}{year:04d}{month:02d}{2 if female else 1}{serial:03d}"
    parts = parse_nip(raw, today=TODAY)
    assert (parts.birth_date, parts.appointed, parts.female, parts.serial) == (
        born,
        (year, month),
        female,
        raw[15:],
    )


@given(st.integers(0, 9).filter(lambda d: d not in (1, 2)))
def test_property_nip_sex_digit_other_than_1_or_2_is_refused(digit: int) -> None:
    assert code_of(parse_nip, f"19800101200501{digit}001", today=TODAY) == "nip_sex"


# -- pydantic types -----------------------------------------------------------------------------
class ContactIn(BaseModel):
    mobile: MobileNumber | None = None
    phone: PhoneNumber | None = None
    email: EmailAddress | None = None
    nik: Nik | None = None
    nip: Nip | None = None


def test_annotated_types_normalise_in_request_models() -> None:
    model = ContactIn(
        mobile="0812 3456 7890",
        phone="021 555 1234",
        email="A@Contoh.ID",
        nik="3171015708450001",
        nip="19800101 200501 1 001",
    )
    assert model.mobile == "+6281234567890"
    assert model.phone == "+62215551234"
    assert model.email == "A@contoh.id"
    assert model.nip == "198001012005011001"


def test_annotated_types_raise_errors_with_rule_code_and_both_texts() -> None:
    with pytest.raises(ValidationError) as info:
        ContactIn(mobile="021 555 1234", email="nope", nik="123", nip="1")
    errors = {e["loc"][0]: e for e in info.value.errors()}
    assert errors["mobile"]["type"] == "mobile_landline"
    assert errors["mobile"]["ctx"]["id"] == rules.MOBILE_LANDLINE.id
    assert errors["mobile"]["ctx"]["en"] == rules.MOBILE_LANDLINE.en
    assert errors["email"]["type"] == "email_invalid"
    assert errors["nik"]["type"] == "nik_format"
    assert errors["nip"]["type"] == "nip_format"
