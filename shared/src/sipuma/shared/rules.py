"""Validation rules of the shared value types: a stable code plus Indonesian and English text.

Codes are part of the HTTP contract (clients switch on them); never rename one, add a new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic_core import PydanticCustomError


@dataclass(frozen=True)
class Rule:
    code: str
    id: str
    en: str

    def error(self) -> PydanticCustomError:
        """The pydantic error for this rule; `problems.py` reads code and texts back from ctx."""
        context: dict[str, Any] = {"rule": self.code, "id": self.id, "en": self.en}
        return PydanticCustomError(self.code, self.en, context)


class RuleViolation(ValueError):
    """A value broke a rule; `field` is set when the caller knows where the value came from."""

    def __init__(self, rule: Rule, field: str | None = None) -> None:
        super().__init__(rule.code)
        self.rule = rule
        self.field = field


PHONE_INVALID = Rule(
    "phone_invalid",
    "Nomor telepon tidak valid. Tulis seperti 0812 3456 7890 atau +62 812 3456 7890.",
    "The phone number is not valid. Write it like 0812 3456 7890 or +62 812 3456 7890.",
)
MOBILE_NOT_INDONESIAN = Rule(
    "mobile_not_indonesian",
    "Nomor ponsel harus nomor seluler Indonesia (08… atau +62 8…).",
    "The mobile number must be an Indonesian mobile number (08… or +62 8…).",
)
MOBILE_LANDLINE = Rule(
    "mobile_landline",
    "Nomor ini adalah nomor telepon rumah/kantor dan tidak dapat menerima SMS. "
    "Masukkan nomor ponsel (08…).",
    "This is a landline number and cannot receive SMS. Enter a mobile number (08…).",
)
MOBILE_TOLL_FREE = Rule(
    "mobile_toll_free",
    "Nomor 0800… adalah nomor bebas pulsa, bukan nomor ponsel, dan tidak dapat menerima SMS. "
    "Masukkan nomor ponsel (08…).",
    "A 0800… number is a toll-free number, not a mobile number, and cannot receive SMS. "
    "Enter a mobile number (08…).",
)
MOBILE_SERVICE_NUMBER = Rule(
    "mobile_service_number",
    "Nomor ini adalah nomor layanan (premium, biaya bersama atau akses universal), bukan nomor "
    "ponsel, dan tidak dapat menerima SMS. Masukkan nomor ponsel (08…).",
    "This is a service number (premium rate, shared cost or universal access), not a mobile "
    "number, and cannot receive SMS. Enter a mobile number (08…).",
)
EMAIL_INVALID = Rule(
    "email_invalid",
    "Alamat e-mail tidak valid. Tulis seperti nama@contoh.go.id.",
    "The e-mail address is not valid. Write it like name@example.go.id.",
)
NIK_FORMAT = Rule(
    "nik_format",
    "NIK harus terdiri dari 16 angka.",
    "The NIK must consist of 16 digits.",
)
NIK_REGION = Rule(
    "nik_region",
    "Kode wilayah NIK (6 angka pertama) tidak dikenal.",
    "The NIK region code (first 6 digits) is unknown.",
)
NIK_BIRTH_DATE = Rule(
    "nik_birth_date",
    "Tanggal lahir dalam NIK (angka ke-7 s.d. 12, DDMMYY; tanggal +40 untuk perempuan) "
    "tidak valid.",
    "The birth date in the NIK (digits 7–12, DDMMYY; day +40 for women) is not valid.",
)
NIK_SERIAL = Rule(
    "nik_serial",
    "Nomor urut NIK (4 angka terakhir) tidak boleh 0000.",
    "The NIK serial number (last 4 digits) must not be 0000.",
)
NIP_FORMAT = Rule(
    "nip_format",
    "NIP harus terdiri dari 18 angka.",
    "The NIP must consist of 18 digits.",
)
NIP_BIRTH_DATE = Rule(
    "nip_birth_date",
    "Tanggal lahir dalam NIP (8 angka pertama, YYYYMMDD) tidak valid.",
    "The birth date in the NIP (first 8 digits, YYYYMMDD) is not valid.",
)
NIP_APPOINTMENT = Rule(
    "nip_appointment",
    "Bulan pengangkatan dalam NIP (angka ke-9 s.d. 14, YYYYMM) tidak valid atau "
    "sebelum tanggal lahir.",
    "The appointment month in the NIP (digits 9–14, YYYYMM) is not valid or before the birth date.",
)
NIP_SEX = Rule(
    "nip_sex",
    "Kode jenis kelamin dalam NIP (angka ke-15) harus 1 atau 2.",
    "The sex code in the NIP (digit 15) must be 1 or 2.",
)
NIP_SERIAL = Rule(
    "nip_serial",
    "Nomor urut NIP (3 angka terakhir) tidak boleh 000.",
    "The NIP serial number (last 3 digits) must not be 000.",
)
CONTACT_REQUIRED = Rule(
    "contact_required",
    "Isi alamat e-mail dan/atau nomor ponsel.",
    "Give an e-mail address and/or a mobile number.",
)
NO_CONTACT_DATA = Rule(
    "no_contact_data",
    "Teks ini tidak boleh memuat alamat e-mail, nomor telepon atau NIK.",
    "This text must not contain an e-mail address, phone number or NIK.",
)

ALL_RULES: tuple[Rule, ...] = tuple(v for v in dict(globals()).values() if isinstance(v, Rule))
