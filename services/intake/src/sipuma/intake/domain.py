"""Intake's domain without I/O: the SOP's rules on what makes a complaint complete and clear,
what intake knows of a complaint, and the refusals its use cases raise.

Every rule answers with `Violation`s (field, rule, Indonesian, English) so the HTTP layer can name
each missing or unclear element at once instead of stopping at the first one. Refusals carry a
stable code and both texts; the HTTP edge chooses the status by their kind (`problems.py`).
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from itertools import islice

from sipuma.shared.auth import Principal


class ComplaintStatus(StrEnum):
    QUEUED = "queued"  # in this replica's spool, Kafka not reachable
    RECEIVED = "received"  # on Kafka, waiting for the register number
    REGISTERED = "registered"


class Delivery(StrEnum):
    PUBLISHED = "published"  # Kafka acknowledged it (acks=all)
    QUEUED = "queued"  # on this replica's disk; it reaches Kafka when Kafka answers


@dataclass(frozen=True)
class Hint:
    """Another filing by the same complainant (the registry's blind index): office, when,
    number. Kept in memory only, for the answer that waits for it."""

    office_code: str
    received_at: str
    register_number: str | None


@dataclass(frozen=True)
class Entry:
    """What intake knows of one complaint: no personal data, only where it stands."""

    complaint_id: str
    office_code: str
    status: ComplaintStatus
    register_number: str | None = None
    registered_at: str | None = None


@dataclass(frozen=True)
class Amendment:
    """Who amends which complaint, under which id (the amendment's and its event's), in which
    request (correlation id)."""

    who: Principal
    complaint_id: str
    amendment_id: str
    correlation_id: str


class CompletenessRule(StrEnum):
    SOP = "sop"  # name, address and at least one of phone / e-mail
    STRICT = "strict"  # PER-13/BC/2025: name, address, phone and e-mail


@dataclass(frozen=True)
class Violation:
    field: str
    rule: str
    id: str
    en: str


# Words receivers type when they have nothing to write. Compared after `_normalise`.
PLACEHOLDERS = frozenset(
    {
        "-",
        "--",
        "n/a",
        "na",
        "n.a",
        "none",
        "null",
        "nil",
        "nihil",
        "kosong",
        "tidak ada",
        "tdk ada",
        "tak ada",
        "ga ada",
        "gak ada",
        "tidak tahu",
        "tdk tahu",
        "tidak diketahui",
        "belum ada",
        "belum diisi",
        "tbd",
        "tba",
        "todo",
        "test",
        "tes",
        "x",
        "xx",
        "xxx",
        "unknown",
        "lorem ipsum",
        "idem",
        "dst",
    }
)
MIN_MEANINGFUL_CHARS = 3  # letters or digits in a what/where/how text
_SPACES = re.compile(r"\s+")


def _normalise(text: str) -> str:
    lowered = _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip().lower()
    return lowered.strip(" .,;:!?")


def is_blank_or_placeholder(text: str | None) -> bool:
    if text is None:
        return True
    norm = _normalise(text)
    if not norm or norm in PLACEHOLDERS:
        return True
    # Only punctuation / symbols ("...", "???", "___", "—")
    return not any(ch.isalnum() for ch in norm)


def says_something(text: str | None) -> bool:
    """Not blank, not a placeholder and with a few letters or digits."""
    if is_blank_or_placeholder(text):
        return False
    assert text is not None
    # Stop at the third letter or digit: a long account is not counted through (issue 15).
    return len(list(islice(filter(str.isalnum, text), MIN_MEANINGFUL_CHARS))) >= (
        MIN_MEANINGFUL_CHARS
    )


def has_text(text: str | None) -> bool:
    return not is_blank_or_placeholder(text)


def required_text(field: str, text: str | None, label_id: str, label_en: str) -> list[Violation]:
    if text is None or not text.strip():
        return [
            Violation(field, "required", f"{label_id} wajib diisi.", f"{label_en} is required.")
        ]
    if not says_something(text):
        return [
            Violation(
                field,
                "not_meaningful",
                f"{label_id} harus berisi keterangan yang jelas, bukan kosong atau isian "
                f"pengganti seperti '-', 'n/a', 'tidak ada'.",
                f"{label_en} must say something clear, not a placeholder such as '-', 'n/a', "
                f"'tidak ada'.",
            )
        ]
    return []


# -- names ------------------------------------------------------------------------------------
# Letters in any script (diacritics welcome), spaces, apostrophes, dots, hyphens and commas for
# titles ("Ir. I Gusti Ngurah Rai", "Ma'ruf", "Sukarno" — a single name is a full name).
_NAME_CHARS = re.compile(r"^[^\W\d_]+(?:[ .'’,\-]+[^\W\d_]*)*\.?$", re.UNICODE)


def name_violations(field: str, name: str | None, label_id: str, label_en: str) -> list[Violation]:
    if name is None or not name.strip():
        return [
            Violation(field, "required", f"{label_id} wajib diisi.", f"{label_en} is required.")
        ]
    if is_blank_or_placeholder(name):
        return [
            Violation(
                field,
                "not_meaningful",
                f"{label_id} tidak boleh berupa isian pengganti.",
                f"{label_en} must not be a placeholder.",
            )
        ]
    if not _NAME_CHARS.match(name.strip()):
        return [
            Violation(
                field,
                "name_characters",
                f"{label_id} hanya boleh berisi huruf, spasi, titik, apostrof, koma dan tanda "
                f"hubung.",
                f"{label_en} may contain only letters, spaces, dots, apostrophes, commas and "
                f"hyphens.",
            )
        ]
    return []


# -- complainant identity ---------------------------------------------------------------------
def identity_violations(
    rule: CompletenessRule,
    *,
    name: str | None,
    address: str | None,
    phone: str | None,
    email: str | None,
) -> list[Violation]:
    """SOP requirement 1(a): a complete and clear identity of the complainant."""
    found = name_violations("complainant.name", name, "Nama pengadu", "Complainant name")
    found += required_text("complainant.address", address, "Alamat pengadu", "Complainant address")
    has_phone, has_email = has_text(phone), has_text(email)
    if rule is CompletenessRule.STRICT:
        if not has_phone:
            found.append(
                Violation(
                    "complainant.phone",
                    "required_strict",
                    "Nomor telepon pengadu wajib diisi (aturan kelengkapan PER-13/BC/2025).",
                    "The complainant's phone number is required (PER-13/BC/2025 completeness).",
                )
            )
        if not has_email:
            found.append(
                Violation(
                    "complainant.email",
                    "required_strict",
                    "Alamat e-mail pengadu wajib diisi (aturan kelengkapan PER-13/BC/2025).",
                    "The complainant's e-mail address is required (PER-13/BC/2025 completeness).",
                )
            )
    elif not (has_phone or has_email):
        found.append(
            Violation(
                "complainant",
                "phone_or_email",
                "Isi paling sedikit satu kontak pengadu: nomor telepon atau alamat e-mail.",
                "Give at least one way to reach the complainant: phone number or e-mail address.",
            )
        )
    return found


# -- when -------------------------------------------------------------------------------------
CLOCK_SKEW = timedelta(minutes=5)


def not_in_future(field: str, value: date | datetime, now: datetime) -> list[Violation]:
    if isinstance(value, datetime):
        late = value - now > CLOCK_SKEW
    else:
        # A date is judged generously: any date up to tomorrow in UTC is today somewhere in WIT.
        late = value > (now + timedelta(days=1)).date()
    if late:
        return [
            Violation(
                field,
                "not_in_future",
                "Waktu tidak boleh di masa depan.",
                "The time must not be in the future.",
            )
        ]
    return []


def not_too_old(field: str, value: datetime, now: datetime, max_age: timedelta) -> list[Violation]:
    """A receipt older than the configured age is almost always a typing slip (a wrong year);
    paper complaints recorded late stay well inside it (`SIPUMA_RECEIVED_AT_MAX_AGE_DAYS`)."""
    if now - value <= max_age:
        return []
    days = max_age.days
    return [
        Violation(
            field,
            "too_old",
            f"Waktu pengaduan diterima tidak boleh lebih dari {days} hari yang lalu. "
            f"Periksa tanggal dan tahunnya.",
            f"The time the complaint was received must not be more than {days} days ago. "
            f"Check the date and the year.",
        )
    ]


def period_violations(field: str, start: date, end: date, now: datetime) -> list[Violation]:
    found = not_in_future(f"{field}.start", start, now) + not_in_future(f"{field}.end", end, now)
    if end < start:
        found.append(
            Violation(
                f"{field}.end",
                "period_order",
                "Akhir periode tidak boleh sebelum awal periode.",
                "The end of the period must not be before its start.",
            )
        )
    return found


# -- identifiers ------------------------------------------------------------------------------
_NS = uuid.UUID("6f1d6c2e-5b1a-4d0e-9a57-3c1e0b7a9d42")  # SIPUMA intake namespace, never change


def deterministic_id(officer_id: str, scope: str, idempotency_key: str) -> uuid.UUID:
    """Same officer + same key → same id on every replica, so the registry de-duplicates retries
    that reached different replicas."""
    return uuid.uuid5(_NS, f"{officer_id}\x1f{scope}\x1f{idempotency_key}")


def event_id(entity_id: uuid.UUID, kind: str) -> uuid.UUID:
    return uuid.uuid5(_NS, f"{entity_id}\x1f{kind}")


# -- refusals ---------------------------------------------------------------------------------
class Invalid(Exception):
    """Fields break rules: every violation is named at once, nothing is published."""

    def __init__(self, violations: Sequence[Violation]) -> None:
        super().__init__("invalid")
        self.violations = list(violations)


class Refused(Exception):
    """The request as a whole is refused; `code` is stable, the texts are the officer's."""

    def __init__(self, code: str, id_text: str, en_text: str) -> None:
        super().__init__(code)
        self.code, self.id, self.en = code, id_text, en_text


class NotAllowed(Refused):
    """This officer may not do this: role, office or officer id."""


class ComplaintUnknown(Refused):
    """No complaint with this id is known here."""


class NotReadyYet(Refused):
    """Intake cannot check yet (the status book is not following Kafka); retry shortly."""


def not_receiver() -> NotAllowed:
    return NotAllowed(
        "receiver_role_required",
        "Hanya Penerima Pengaduan yang boleh mencatat dan mengubah pengaduan.",
        "Only a complaint receiver may record or amend complaints.",
    )


def other_office() -> NotAllowed:
    return NotAllowed(
        "other_office",
        "Anda hanya boleh mencatat dan mengubah pengaduan untuk kantor Anda sendiri.",
        "You may record and amend complaints for your own office only.",
    )


def officer_id_unusable() -> NotAllowed:
    return NotAllowed(
        "officer_id_invalid",
        "ID petugas pada token tidak dapat dipakai (hanya huruf, angka dan . _ : -, paling banyak "
        "64 karakter). Minta token baru kepada administrator.",
        "The officer id in the token cannot be used (only letters, digits and . _ : -, at most 64 "
        "characters). Ask your administrator for a new token.",
    )


def office_not_configured(office_code: str) -> NotAllowed:
    # The code is configuration, not personal data: naming it tells the administrator what to fix.
    return NotAllowed(
        "office_not_configured",
        f"Kantor {office_code} pada token Anda tidak terdaftar di SIPUMA, sehingga pengaduan "
        f"tidak dapat dicatat. Hubungi administrator.",
        f"The office {office_code} in your token is not configured in SIPUMA, so complaints "
        f"cannot be recorded for it. Contact your administrator.",
    )


def complaint_unknown() -> ComplaintUnknown:
    return ComplaintUnknown(
        "complaint_not_found",
        "Pengaduan tidak ditemukan (atau belum tercatat di layanan ini). Coba lagi sebentar.",
        "Complaint not found (or not yet known to this service). Try again shortly.",
    )


def book_not_ready() -> NotReadyYet:
    return NotReadyYet(
        "not_ready",
        "Layanan belum dapat memeriksa data pengaduan; coba lagi sebentar.",
        "The service cannot check complaint data yet; try again shortly.",
    )
