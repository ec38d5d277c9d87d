"""Indonesian value types: mobile/phone numbers (E.164), e-mail, NIK and NIP.

Each `normalize_*` / `parse_*` function answers the stored form or raises `RuleViolation`; the
`Annotated` aliases at the bottom make them usable in request models, where a broken rule becomes
a pydantic error carrying the rule code and both texts (see `problems.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import PhoneNumberType
from pydantic import AfterValidator, Field
from stdnum import numdb
from stdnum.id import nik as stdnum_nik

from sipuma.shared import rules
from sipuma.shared.rules import Rule, RuleViolation

_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
_NOT_MOBILE = {
    PhoneNumberType.FIXED_LINE: rules.MOBILE_LANDLINE,
    PhoneNumberType.TOLL_FREE: rules.MOBILE_TOLL_FREE,
}
_SEPARATORS = " -.()/"


def _digits_only(raw: str) -> str:
    return "".join(ch for ch in raw if ch not in _SEPARATORS)


def _parse_phone(raw: str) -> phonenumbers.PhoneNumber:
    text = raw.strip()
    compact = _digits_only(text)
    # phonenumbers reads a number out of surrounding text ("0812… 😀", "tel:0812…", "ext 5");
    # a stored contact must be the number and nothing else.
    if not compact.removeprefix("+").isdigit():
        raise RuleViolation(rules.PHONE_INVALID)
    # "62 812…" is how many people write +62; phonenumbers would read it as a national number.
    if compact.startswith("62") and compact.isdigit() and len(compact) >= 10:
        text = "+" + compact
    try:
        number = phonenumbers.parse(text, "ID")
    except phonenumbers.NumberParseException:
        raise RuleViolation(rules.PHONE_INVALID) from None
    if not phonenumbers.is_valid_number(number):
        raise RuleViolation(rules.PHONE_INVALID)
    return number


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_phone(raw: str) -> str:
    """Any valid phone number (landlines too), as E.164; national numbers are read as Indonesian."""
    return _e164(_parse_phone(raw))


def normalize_mobile(raw: str) -> str:
    """An Indonesian mobile number that can receive SMS, as E.164 (`+628…`)."""
    number = _parse_phone(raw)
    if number.country_code != 62:
        raise RuleViolation(rules.MOBILE_NOT_INDONESIAN)
    kind = phonenumbers.number_type(number)
    if kind not in _MOBILE_TYPES:
        # Say what the number is: a landline, a toll-free 0800… line or another service number.
        raise RuleViolation(_NOT_MOBILE.get(kind, rules.MOBILE_SERVICE_NUMBER))
    return _e164(number)


def normalize_email(raw: str) -> str:
    """Syntax check and normalisation only: no DNS lookup (intake must work offline)."""
    try:
        checked = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise RuleViolation(rules.EMAIL_INVALID) from None
    return checked.normalized


@dataclass(frozen=True)
class NikParts:
    region: str  # PPRRSS: province, regency/city, district
    birth_date: date
    female: bool
    serial: str


def _nik_birth_date(ddmmyy: str, today: date) -> tuple[date, bool]:
    day, month, year = int(ddmmyy[:2]), int(ddmmyy[2:4]), int(ddmmyy[4:])
    female = day > 40
    day = day - 40 if female else day
    # Two-digit year: the latest century that does not put the birth in the future.
    for century in (2000, 1900):
        try:
            born = date(century + year, month, day)
        except ValueError:
            raise RuleViolation(rules.NIK_BIRTH_DATE) from None
        if born <= today:
            return born, female
    raise RuleViolation(rules.NIK_BIRTH_DATE)


def parse_nik(raw: str, *, today: date | None = None) -> NikParts:
    number = _digits_only(raw.strip())
    if len(number) != 16 or not number.isdigit() or not number.isascii():
        raise RuleViolation(rules.NIK_FORMAT)
    # python-stdnum knows the province and regency codes; the district must not be 00.
    if not numdb.get("id/loc").info(number[:4])[0][1] or number[4:6] == "00":
        raise RuleViolation(rules.NIK_REGION)
    if not (1 <= int(number[6:8]) <= 31 or 41 <= int(number[6:8]) <= 71):
        raise RuleViolation(rules.NIK_BIRTH_DATE)
    born, female = _nik_birth_date(number[6:12], today or date.today())
    if number[12:] == "0000":
        raise RuleViolation(rules.NIK_SERIAL)
    if not stdnum_nik.is_valid(number):  # python-stdnum has the last word on the format
        raise RuleViolation(rules.NIK_FORMAT)
    return NikParts(number[:6], born, female, number[12:])


def normalize_nik(raw: str) -> str:
    parse_nik(raw)
    return _digits_only(raw.strip())


@dataclass(frozen=True)
class NipParts:
    birth_date: date
    appointed: tuple[int, int]  # (year, month) of appointment as civil-servant candidate
    female: bool  # sex digit: 1 = male, 2 = female
    serial: str


def parse_nip(raw: str, *, today: date | None = None) -> NipParts:
    number = _digits_only(raw.strip())
    if len(number) != 18 or not number.isdigit() or not number.isascii():
        raise RuleViolation(rules.NIP_FORMAT)
    today = today or date.today()
    try:
        born = date(int(number[:4]), int(number[4:6]), int(number[6:8]))
    except ValueError:
        raise RuleViolation(rules.NIP_BIRTH_DATE) from None
    if born > today or born.year < 1900:
        raise RuleViolation(rules.NIP_BIRTH_DATE)
    year, month = int(number[8:12]), int(number[12:14])
    if not 1 <= month <= 12 or (year, month) <= (born.year, born.month):
        raise RuleViolation(rules.NIP_APPOINTMENT)
    if (year, month) > (today.year, today.month):
        raise RuleViolation(rules.NIP_APPOINTMENT)
    if number[14] not in "12":
        raise RuleViolation(rules.NIP_SEX)
    if number[15:] == "000":
        raise RuleViolation(rules.NIP_SERIAL)
    return NipParts(born, (year, month), number[14] == "2", number[15:])


def normalize_nip(raw: str) -> str:
    parse_nip(raw)
    return _digits_only(raw.strip())


def _pydantic(check: Callable[[str], str]) -> Callable[[str], str]:
    """Turn a RuleViolation into a pydantic error that keeps the rule code and both texts."""

    def run(value: str) -> str:
        try:
            return check(value)
        except RuleViolation as violation:
            raise violation.rule.error() from None

    run.__name__ = check.__name__
    return run


MobileNumber = Annotated[
    str,
    Field(
        max_length=32,
        description="Nomor ponsel Indonesia (08…, +62 8…, 62 8…); disimpan E.164",
        examples=["0812 3456 7890"],
    ),
    AfterValidator(_pydantic(normalize_mobile)),
]
PhoneNumber = Annotated[
    str,
    Field(
        max_length=32,
        description="Nomor telepon (ponsel atau telepon rumah/kantor); disimpan E.164",
        examples=["021 555 1234"],
    ),
    AfterValidator(_pydantic(normalize_phone)),
]
EmailAddress = Annotated[
    str,
    Field(max_length=254, description="Alamat e-mail", examples=["nama@contoh.go.id"]),
    AfterValidator(_pydantic(normalize_email)),
]
Nik = Annotated[
    str,
    Field(max_length=32, description="NIK, 16 angka", examples=["3171015708450001"]),
    AfterValidator(_pydantic(normalize_nik)),
]
Nip = Annotated[
    str,
    Field(max_length=32, description="NIP, 18 angka", examples=["198001012005011001"]),
    AfterValidator(_pydantic(normalize_nip)),
]

__all__ = [
    "EmailAddress",
    "MobileNumber",
    "Nik",
    "NikParts",
    "Nip",
    "NipParts",
    "PhoneNumber",
    "Rule",
    "RuleViolation",
    "normalize_email",
    "normalize_mobile",
    "normalize_nik",
    "normalize_nip",
    "normalize_phone",
    "parse_nik",
    "parse_nip",
]
