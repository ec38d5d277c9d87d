"""Value objects carried inside events: channel, complainant identity, complaint elements, ...

Events check *shape* (E.164, 16/18 digits, e-mail syntax), not the full rules of `validators.py`:
a rule tightened later must not turn events already on Kafka into poison messages.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sipuma.shared import rules

SHORT, LONG = 200, 10_000

E164 = Annotated[str, Field(pattern=r"^\+[1-9]\d{6,14}$", examples=["+6281234567890"])]
MobileE164 = Annotated[str, Field(pattern=r"^\+628\d{7,12}$", examples=["+6281234567890"])]
Email = Annotated[
    str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+$", json_schema_extra={"format": "email"})
]
NikDigits = Annotated[str, Field(pattern=r"^\d{16}$")]
NipDigits = Annotated[str, Field(pattern=r"^\d{18}$")]
ShortText = Annotated[str, Field(min_length=1, max_length=SHORT)]
LongText = Annotated[str, Field(min_length=1, max_length=LONG)]
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]


class Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Channel(StrEnum):
    """Saluran pengaduan resmi (official channel)."""

    IN_PERSON = "in_person"
    TELEPHONE = "telephone"
    LETTER = "letter"
    COMPLAINT_BOX = "complaint_box"
    FAX = "fax"
    SMS = "sms"
    EMAIL = "email"
    WEB_FORM = "web_form"
    WISE = "wise"  # Ministry of Finance whistleblowing system
    OTHER = "other"


class ComplainantIdentity(Part):
    """Identitas pengadu. Personal data: restricted topics only, never logged."""

    name: ShortText | None = None
    address: Annotated[str, Field(max_length=1000)] | None = None
    phone: E164 | None = None
    email: Email | None = None
    nik: NikDigits | None = None


class ReportedEmployee(Part):
    """Pegawai yang diadukan."""

    name: ShortText | None = None
    nip: NipDigits | None = None
    position: ShortText | None = None
    unit: ShortText | None = None


class WhenDate(Part):
    kind: Literal["date"] = "date"
    date: date


class WhenPeriod(Part):
    kind: Literal["period"] = "period"
    start: date
    end: date


class WhenApproximate(Part):
    kind: Literal["approximate"] = "approximate"
    description: ShortText


When = Annotated[WhenDate | WhenPeriod | WhenApproximate, Field(discriminator="kind")]


class ComplaintElements(Part):
    """Unsur pengaduan: what, who, when, where, how (SOP step 3)."""

    what: LongText | None = None
    who: list[ReportedEmployee] = Field(default_factory=list, max_length=50)
    when: When | None = None
    where: LongText | None = None
    how: LongText | None = None


class Language(StrEnum):
    """Language of what the complainant receives: Indonesian unless they ask for English."""

    ID = "id"
    EN = "en"


class TrackingContact(Part):
    """E-mail and/or mobile the complainant gave to follow up (SOP steps 7–8)."""

    email: Email | None = None
    mobile: MobileE164 | None = None
    language: Language = Language.ID

    @model_validator(mode="after")
    def _at_least_one(self) -> Self:
        if self.email is None and self.mobile is None:
            raise rules.CONTACT_REQUIRED.error()
        return self


class SupplementKind(StrEnum):
    ADDITION = "addition"  # data tambahan
    CORRECTION = "correction"  # ralat: the original stays on record, the correction is added
    REPORTED_EMPLOYEE_ADDED = "reported_employee_added"


class CommunicationOutcome(StrEnum):
    TOLD = "told"  # register number told to the complainant
    UNREACHABLE = "unreachable"


class UnreachableReason(StrEnum):
    NO_CONTACT_LEFT = "no_contact_left"  # tidak meninggalkan kontak
    NOT_ANSWERING = "not_answering"  # tidak dapat dihubungi


class CommunicationMethod(StrEnum):
    IN_PERSON = "in_person"
    TELEPHONE = "telephone"
    SMS = "sms"
    EMAIL = "email"
    LETTER = "letter"
    WHATSAPP = "whatsapp"
    OTHER = "other"


class EvidenceKind(StrEnum):
    """Data pendukung: scans, soft copies, photos, sound, video, other."""

    SCAN = "scan"
    SOFT_COPY = "soft_copy"
    PHOTO = "photo"
    SOUND = "sound"
    VIDEO = "video"
    OTHER = "other"


class NotificationChannel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


class NotificationFailure(StrEnum):
    INVALID_RECIPIENT = "invalid_recipient"
    REJECTED = "rejected"  # the server / gateway refused the message
    UNAVAILABLE = "unavailable"  # server / gateway unreachable or 5xx
    RETRIES_EXHAUSTED = "retries_exhausted"
    OTHER = "other"


class ComplaintStatus(StrEnum):
    REGISTERED = "registered"
    VERIFIED = "verified"
    IN_FOLLOW_UP = "in_follow_up"
    CLOSED = "closed"
    FORWARDED = "forwarded"  # sent on to another unit / office
