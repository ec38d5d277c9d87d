"""HTTP request and response bodies. Unknown fields are refused (`extra="forbid"`).

Types and sizes are checked here; whether a value is complete and clear (the SOP's rules, the
completeness setting, phone / e-mail / NIK / NIP formats) is checked by `checks.py`, which names
every problem at once.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from sipuma.intake.domain import ComplaintStatus, Delivery
from sipuma.shared.payloads import (
    Channel,
    CommunicationMethod,
    CommunicationOutcome,
    Language,
    NotificationChannel,
    UnreachableReason,
)
from sipuma.shared.problems import Messages

SHORT = 200
LONG = 10_000


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReportedEmployeeIn(_In):
    """Pegawai yang diadukan."""

    name: str | None = Field(None, max_length=SHORT, description="Nama pegawai / pejabat")
    nip: str | None = Field(None, max_length=32, description="NIP (18 digit), bila diketahui")
    position: str | None = Field(None, max_length=SHORT, description="Jabatan")
    unit: str | None = Field(None, max_length=SHORT, description="Unit kerja")


class WhenDate(_In):
    kind: Literal["date"]
    date: date


class WhenPeriod(_In):
    kind: Literal["period"]
    start: date
    end: date


class WhenApproximate(_In):
    kind: Literal["approximate"]
    description: str = Field(max_length=SHORT, description="mis. 'awal Oktober 2026'")


When = Annotated[WhenDate | WhenPeriod | WhenApproximate, Field(discriminator="kind")]


class ElementsIn(_In):
    """Unsur pengaduan: apa, siapa, kapan, di mana, bagaimana."""

    what: str | None = Field(None, max_length=LONG, description="Apa yang terjadi")
    who: list[ReportedEmployeeIn] = Field(default_factory=list, max_length=50)
    when: When | None = None
    where: str | None = Field(None, max_length=LONG, description="Di mana")
    how: str | None = Field(None, max_length=LONG, description="Bagaimana kejadiannya")


class ComplainantIn(_In):
    """Identitas pengadu (rahasia: tidak pernah ditulis ke log)."""

    name: str | None = Field(None, max_length=SHORT)
    address: str | None = Field(None, max_length=1000)
    phone: str | None = Field(None, max_length=32)
    email: str | None = Field(None, max_length=254)
    nik: str | None = Field(None, max_length=32, description="NIK (16 digit), opsional")


class TrackingContactIn(_In):
    """Kontak untuk memantau tindak lanjut (langkah 7–8 SOP)."""

    email: str | None = Field(None, max_length=254)
    mobile: str | None = Field(None, max_length=32)
    language: Language = Field(Language.ID, description="Bahasa pesan tiket: id (baku) atau en")


def _written_time(value: object) -> object:
    # pydantic would read a JSON number as Unix seconds; a receiving time is written ISO 8601.
    if isinstance(value, int | float):
        raise PydanticCustomError("datetime_type", "Input should be a valid datetime")
    return value


WrittenDatetime = Annotated[AwareDatetime, BeforeValidator(_written_time)]


class ComplaintIn(_In):
    office_code: str | None = Field(
        None, max_length=64, description="Kode kantor; bila kosong, kantor petugas dari token"
    )
    channel: Channel
    channel_description: str | None = Field(
        None, max_length=SHORT, description="Wajib bila channel = other"
    )
    received_at: WrittenDatetime = Field(description="Waktu pengaduan diterima (dengan zona waktu)")
    complainant: ComplainantIn
    elements: ElementsIn
    tracking_contact: TrackingContactIn | None = None
    paper_archive_ref: str | None = Field(
        None, max_length=SHORT, description="Tempat arsip formulir dan berkas kertas"
    )


class SupplementKind(StrEnum):
    ADDITION = "addition"  # data tambahan
    CORRECTION = "correction"  # ralat


class CorrectedPart(StrEnum):
    WHAT = "what"
    WHO = "who"
    WHEN = "when"
    WHERE = "where"
    HOW = "how"
    COMPLAINANT = "complainant"
    CHANNEL = "channel"
    OTHER = "other"


class SupplementIn(_In):
    kind: SupplementKind
    text: str | None = Field(None, max_length=LONG, description="Isi tambahan / ralat")
    corrects: CorrectedPart | None = Field(None, description="Bagian yang diralat (ralat)")
    reason: str | None = Field(None, max_length=LONG, description="Alasan ralat (wajib)")


class ReportedEmployeesIn(_In):
    employees: list[ReportedEmployeeIn] = Field(max_length=50)


class RegisterNumberCommunicationIn(_In):
    outcome: CommunicationOutcome
    method: CommunicationMethod | None = Field(None, description="Wajib bila outcome = told")
    reason: UnreachableReason | None = Field(None, description="Wajib bila outcome = unreachable")
    note: str | None = Field(None, max_length=1000)


# -- answers ------------------------------------------------------------------------------------
class ChannelRefused(BaseModel):
    """One tracking channel that was refused; the rest of the request was saved."""

    channel: NotificationChannel = Field(description="email or sms")
    name: str = Field(description="The field, e.g. tracking_contact.mobile")
    code: str = Field(description="Stable rule code, e.g. mobile_landline, mobile_toll_free")
    messages: Messages


class TrackingContactOutcome(BaseModel):
    """Where the ticket number will be sent (SOP steps 7–9). A channel that fails its rule is
    refused on its own and listed in `refused`; the other channel is kept and the complaint /
    contact saved. `channels` empty: no contact was saved, so no ticket is sent until a valid
    contact is given with `PUT /v1/complaints/{id}/tracking-contact`."""

    channels: list[NotificationChannel] = Field(description="Channels the ticket goes to")
    refused: list[ChannelRefused] = Field(description="Channels refused, with the reason")
    revokes_earlier_tickets: bool = Field(
        False,
        description="Koreksi kontak: tiket ke kontak sebelumnya dicabut / a corrected contact: "
        "tickets sent to earlier contacts are revoked",
    )
    message: Messages


class DuplicateHint(BaseModel):
    office_code: str
    received_at: str
    register_number: str | None = Field(
        None, description="Hanya bila boleh dilihat / only where the caller may see it"
    )
    visible: bool


class ComplaintAccepted(BaseModel):
    complaint_id: str
    status: ComplaintStatus
    register_number: str | None = None
    registered_at: str | None = None
    status_url: str
    message: Messages
    tracking_contact: TrackingContactOutcome | None = Field(
        None, description="Only when a tracking contact was given: what happens with it"
    )
    possible_duplicates: list[DuplicateHint] | None = Field(
        None,
        description="Kemungkinan pengaduan ganda (NIK/telepon sama, indeks buta), hanya petunjuk; "
        "null: belum diketahui. / Possible duplicates (same NIK/phone, blind index), a hint "
        "only; null: not known (no number yet, or no hint in time).",
    )


class StatusOut(BaseModel):
    complaint_id: str
    office_code: str
    status: ComplaintStatus
    register_number: str | None = None
    registered_at: str | None = None
    message: Messages


class AmendmentAccepted(BaseModel):
    complaint_id: str
    amendment_id: str
    kind: str
    status: Delivery
    message: Messages
    tracking_contact: TrackingContactOutcome | None = Field(
        None, description="Tracking contact only: the channels kept and the channels refused"
    )
