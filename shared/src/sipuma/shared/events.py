"""Integration events: past-tense facts, frozen, unknown fields refused when built.

Every event names its versioned type once (`event_type` literal, mirrored in `TYPE`), says whether
it carries personal data (`carries_personal_data`; such events go to restricted topics only) and
has the CloudEvents attributes as fields. Evolution is additive; a breaking change is a new type
(`….v2`) on a new topic. Readers ignore unknown fields (`parse_event`), so producers may add
optional fields before every consumer is upgraded.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal, Self
from uuid import UUID, uuid4

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from sipuma.shared import payloads as p
from sipuma.shared import pii, rules


def utc_now() -> datetime:
    return datetime.now(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(lambda v: v.astimezone(UTC))]


class Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    TYPE: ClassVar[str] = ""
    carries_personal_data: ClassVar[bool] = False

    event_type: str = Field(description="Versioned event type; also the CloudEvents type")
    event_id: UUID = Field(default_factory=uuid4, description="Unique per event; dedupe key")
    occurred_at: UtcDatetime = Field(default_factory=utc_now)
    source: str = Field(pattern=r"^[a-z][a-z0-9-]{0,62}$", description="Producing service")
    correlation_id: str = Field(pattern=r"^[A-Za-z0-9._:-]{1,128}$")
    office_code: p.Code
    complaint_id: UUID = Field(description="The complaint this event is about (CE subject)")

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        default = cls.model_fields["event_type"].default
        if not isinstance(default, str) or not default.startswith("sipuma."):
            raise TypeError(f"{cls.__name__} must declare event_type as a Literal with a default")
        cls.TYPE = default


class ComplaintReceived(Event):
    """A receiver recorded a complaint and pressed Save (SOP steps 2–3)."""

    carries_personal_data: ClassVar[bool] = True
    event_type: Literal["sipuma.complaint.received.v1"] = "sipuma.complaint.received.v1"
    channel: p.Channel
    channel_other: p.ShortText | None = Field(None, description="What the channel was, if other")
    received_at: UtcDatetime
    receiving_officer_id: p.Code
    complainant: p.ComplainantIdentity
    elements: p.ComplaintElements
    tracking_contact: p.TrackingContact | None = None
    paper_archive_ref: p.ShortText | None = None


class ComplaintRegistered(Event):
    """The complaint got its register number (SOP step 4). No personal data: analytics topic."""

    event_type: Literal["sipuma.complaint.registered.v1"] = "sipuma.complaint.registered.v1"
    register_number: p.ShortText
    sequence: int = Field(ge=1, description="Gapless per office and register year")
    register_year: int = Field(ge=2000, le=9999, description="Year in the office's local time")
    registered_at: UtcDatetime
    # Added in issue 18 (additive, optional: older events lack them) so analytics can answer
    # "time to register number" and "per channel" without reading a restricted topic.
    received_at: UtcDatetime | None = Field(None, description="When the receiver took it")
    channel: p.Channel | None = Field(None, description="The official channel it came by")


class ComplaintSupplemented(Event):
    """An addition, a correction (the original stays on record) or more reported employees."""

    carries_personal_data: ClassVar[bool] = True
    event_type: Literal["sipuma.complaint.supplemented.v1"] = "sipuma.complaint.supplemented.v1"
    supplement_id: UUID
    kind: p.SupplementKind
    text: p.LongText | None = None
    corrects: p.ShortText | None = Field(None, description="Which part a correction is about")
    reason: p.LongText | None = Field(None, description="Why; required for a correction")
    reported_employees: list[p.ReportedEmployee] = Field(default_factory=list, max_length=50)
    recorded_at: UtcDatetime
    officer_id: p.Code

    @model_validator(mode="after")
    def _complete_for_kind(self) -> Self:
        if self.kind is p.SupplementKind.CORRECTION and self.reason is None:
            raise ValueError("a correction needs a reason")
        if self.kind is p.SupplementKind.REPORTED_EMPLOYEE_ADDED and not self.reported_employees:
            raise ValueError("reported_employee_added needs reported_employees")
        if self.kind is not p.SupplementKind.REPORTED_EMPLOYEE_ADDED and self.text is None:
            raise ValueError(f"{self.kind.value} needs text")
        return self


class TrackingContactProvided(Event):
    """The complainant asked to follow up and gave an e-mail and/or mobile (SOP steps 7–8)."""

    carries_personal_data: ClassVar[bool] = True
    event_type: Literal["sipuma.complaint.contact-provided.v1"] = (
        "sipuma.complaint.contact-provided.v1"
    )
    contact: p.TrackingContact
    officer_id: p.Code


class RegisterNumberCommunicated(Event):
    """The receiver told the complainant the register number, or could not (SOP step 6)."""

    carries_personal_data: ClassVar[bool] = True  # the note is free text
    event_type: Literal["sipuma.complaint.register-number-communicated.v1"] = (
        "sipuma.complaint.register-number-communicated.v1"
    )
    outcome: p.CommunicationOutcome
    method: p.CommunicationMethod | None = Field(None, description="How, when outcome is told")
    unreachable_reason: p.UnreachableReason | None = Field(
        None, description="Why, when outcome is unreachable"
    )
    note: Annotated[str, Field(max_length=1000)] | None = None
    officer_id: p.Code

    @model_validator(mode="after")
    def _method_when_told(self) -> Self:
        if self.outcome is p.CommunicationOutcome.TOLD and self.method is None:
            raise ValueError("method is required when the outcome is told")
        return self


class TicketIssued(Event):
    """A ticket number for the complainant to follow up; the notifier sends it (SOP step 9)."""

    carries_personal_data: ClassVar[bool] = True
    event_type: Literal["sipuma.ticket.issued.v1"] = "sipuma.ticket.issued.v1"
    ticket_number: p.ShortText = Field(description="Plain ticket number, only ever sent once")
    register_number: p.ShortText
    contact: p.TrackingContact


class EvidenceStored(Event):
    """Supporting data was stored. Metadata only; `object_key` is opaque (no file names)."""

    event_type: Literal["sipuma.evidence.stored.v1"] = "sipuma.evidence.stored.v1"
    evidence_id: UUID
    kind: p.EvidenceKind
    content_type: p.ShortText
    size_bytes: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    object_key: p.ShortText


class NotificationSent(Event):
    """The ticket number went out on one channel. No address: analytics topic."""

    event_type: Literal["sipuma.notification.sent.v1"] = "sipuma.notification.sent.v1"
    ticket_event_id: UUID = Field(description="event_id of the TicketIssued")
    channel: p.NotificationChannel
    attempts: int = Field(ge=1)
    provider: p.ShortText | None = Field(None, description="Which e-mail/SMS provider sent it")
    provider_message_id: p.ShortText | None = Field(None, description="The provider's own id")


class NotificationFailed(Event):
    """Sending failed; `final` when retries are exhausted. No address: analytics topic."""

    event_type: Literal["sipuma.notification.failed.v1"] = "sipuma.notification.failed.v1"
    ticket_event_id: UUID
    channel: p.NotificationChannel
    attempts: int = Field(ge=1)
    reason: p.NotificationFailure
    final: bool
    detail: Annotated[str, Field(max_length=500)] | None = Field(
        None, description="Short technical detail; never an address or phone number"
    )

    @field_validator("detail")
    @classmethod
    def _no_contact_data(cls, value: str | None) -> str | None:
        if value is not None and pii.contains_contact_data(value):
            raise rules.NO_CONTACT_DATA.error()
        return value


class ComplaintStatusChanged(Event):
    """Follow-up status moved. Staff notes stay in the registry: they may name people."""

    event_type: Literal["sipuma.complaint.status-changed.v1"] = "sipuma.complaint.status-changed.v1"
    from_status: p.ComplaintStatus
    to_status: p.ComplaintStatus
    changed_at: UtcDatetime


class ComplaintDeadlineApproaching(Event):
    """A follow-up stage's working-day deadline is near and the complaint is still in it; the
    office's compliance staff are reminded. No personal data: analytics topic."""

    event_type: Literal["sipuma.complaint.deadline-approaching.v1"] = (
        "sipuma.complaint.deadline-approaching.v1"
    )
    stage: p.ShortText = Field(description="Follow-up stage (a configured name, e.g. verification)")
    status: p.ComplaintStatus = Field(description="The status the complaint is still in")
    due_at: UtcDatetime = Field(description="End of the stage's last working day (office time)")
    working_days: int = Field(ge=1, description="The stage's duration in working days")
    register_number: p.ShortText | None = Field(None, description="For the staff reminder")


class ComplaintOverdue(Event):
    """A follow-up stage's deadline passed: `compliance` when it passed, `supervisor` when the
    escalation period passed too. No personal data: analytics topic."""

    event_type: Literal["sipuma.complaint.overdue.v1"] = "sipuma.complaint.overdue.v1"
    stage: p.ShortText
    status: p.ComplaintStatus
    due_at: UtcDatetime
    working_days: int = Field(ge=1)
    escalation: Literal["compliance", "supervisor"] = Field(
        description="Who is told: the office's compliance staff, then a supervisor"
    )
    register_number: p.ShortText | None = None


class ComplaintCategorised(Event):
    """Compliance staff (UKI) or a supervisor set or changed the complaint's category (kategori
    pengaduan) from the registry's controlled vocabulary. Codes only: the reason given stays in
    the registry (it may name people). No personal data: analytics topic."""

    event_type: Literal["sipuma.complaint.categorised.v1"] = "sipuma.complaint.categorised.v1"
    category: p.Code = Field(description="Category code (registry's reviewed vocabulary)")
    previous_category: p.Code | None = Field(None, description="None: the first categorisation")
    categorised_at: UtcDatetime
    register_number: p.ShortText | None = None


class ComplaintIdentityErased(Event):
    """The complainant's identity and texts were made unreadable for good (the complaint's data
    key was deleted: retention or a lawful request). Number, office, dates and status stay, so
    the statistics do; the event itself carries no personal data."""

    event_type: Literal["sipuma.complaint.identity-erased.v1"] = (
        "sipuma.complaint.identity-erased.v1"
    )
    erased_at: UtcDatetime


class IdentityRead(Event):
    """An officer was shown a complainant's identity (audit, issue 16): who, for which office,
    which fields, why, when, in which request. Restricted: it tells who looked at whom; it never
    carries the identity itself."""

    carries_personal_data: ClassVar[bool] = True
    event_type: Literal["sipuma.audit.identity-read.v1"] = "sipuma.audit.identity-read.v1"
    officer_id: p.Code
    officer_office: p.Code
    fields: list[p.Code] = Field(max_length=50)
    purpose: p.ShortText
    request_id: str = Field(pattern=r"^[A-Za-z0-9._:-]{1,128}$")
    read_at: UtcDatetime


class DuplicateHint(BaseModel):
    """Another filing by the same complainant (same keyed blind NIK/phone index)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    office_code: p.Code
    received_at: UtcDatetime
    register_number: p.ShortText | None = None


class ComplaintDuplicatesHinted(Event):
    """The registry's possible-duplicate hint for a complaint it just numbered (issue 16): other
    filings by the same complainant within the window, at any office, every register number
    (the reader shows only what its caller may see). Published for every numbered complaint,
    empty when there is none, so intake knows when to stop waiting. Restricted: it links filings
    of one person."""

    carries_personal_data: ClassVar[bool] = True
    event_type: Literal["sipuma.complaint.duplicates-hinted.v1"] = (
        "sipuma.complaint.duplicates-hinted.v1"
    )
    duplicates: list[DuplicateHint] = Field(default_factory=list, max_length=50)


ALL_EVENTS: tuple[type[Event], ...] = (
    ComplaintReceived,
    ComplaintRegistered,
    ComplaintSupplemented,
    TrackingContactProvided,
    RegisterNumberCommunicated,
    TicketIssued,
    EvidenceStored,
    NotificationSent,
    NotificationFailed,
    ComplaintStatusChanged,
    ComplaintDeadlineApproaching,
    ComplaintOverdue,
    ComplaintCategorised,
    ComplaintIdentityErased,
    IdentityRead,
    ComplaintDuplicatesHinted,
)
EVENT_TYPES: dict[str, type[Event]] = {cls.TYPE: cls for cls in ALL_EVENTS}


class InvalidEvent(ValueError):
    """A message that is not a valid event. `detail` names fields and error kinds, never values,
    so it is safe for logs and dead-letter headers."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


def describe_errors(error: ValidationError, limit: int = 10) -> str:
    parts = [
        f"{'.'.join(str(x) for x in e['loc']) or '<root>'}:{e['type']}"
        for e in error.errors(include_input=False, include_url=False)[:limit]
    ]
    return "; ".join(parts)


def parse_event(event_type: str, payload: bytes | str) -> Event:
    """Validate a payload as the given event type; unknown fields are ignored (tolerant reader)."""
    cls = EVENT_TYPES.get(event_type)
    if cls is None:
        raise InvalidEvent("unknown_event_type", f"no event type {event_type[:200]!r}")
    try:
        return cls.model_validate_json(payload, extra="ignore")
    except ValidationError as error:
        raise InvalidEvent("invalid_payload", describe_errors(error)) from None
