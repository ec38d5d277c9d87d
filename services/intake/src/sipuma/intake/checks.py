"""Apply the SOP rules and format checks to parsed requests.

Each function answers the normalised request (phones in E.164, e-mails normalised) together with
every `Violation` found, so a receiver sees all missing or unclear elements in one answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sipuma.intake.domain import (
    CompletenessRule,
    Violation,
    has_text,
    identity_violations,
    name_violations,
    not_in_future,
    not_too_old,
    period_violations,
    required_text,
)
from sipuma.intake.models import (
    ComplaintIn,
    RegisterNumberCommunicationIn,
    ReportedEmployeeIn,
    ReportedEmployeesIn,
    SupplementIn,
    SupplementKind,
    TrackingContactIn,
    WhenApproximate,
    WhenDate,
    WhenPeriod,
)
from sipuma.shared import validators
from sipuma.shared.payloads import Channel, CommunicationOutcome, NotificationChannel
from sipuma.shared.rules import RuleViolation


def _formatted(
    field: str, value: str | None, check: Callable[[str], str], found: list[Violation]
) -> str | None:
    """Normalise an optional value; blank becomes None, a bad format a violation."""
    if not has_text(value):
        return None
    assert value is not None
    try:
        return check(value)
    except RuleViolation as problem:
        rule = problem.rule
        found.append(Violation(field, rule.code, rule.id, rule.en))
        return value


def employee(prefix: str, item: ReportedEmployeeIn, found: list[Violation]) -> ReportedEmployeeIn:
    found += name_violations(f"{prefix}.name", item.name, "Nama pegawai", "Employee name")
    nip = _formatted(f"{prefix}.nip", item.nip, validators.normalize_nip, found)
    return item.model_copy(update={"nip": nip})


@dataclass(frozen=True)
class ChannelRefusal:
    channel: NotificationChannel
    violation: Violation


@dataclass(frozen=True)
class ContactCheck:
    """A tracking contact split by channel: `usable` keeps only the channels that passed (None
    when none did); `refused` names each refused channel with its field and rule. One bad
    channel never costs the other (the SOP sends the ticket by e-mail and/or SMS)."""

    usable: TrackingContactIn | None
    refused: list[ChannelRefusal]


def _channel(
    channel: NotificationChannel, field: str, value: str | None, check: Callable[[str], str]
) -> tuple[str | None, ChannelRefusal | None]:
    found: list[Violation] = []
    clean = _formatted(field, value, check, found)
    if found:
        return None, ChannelRefusal(channel, found[0])
    return clean, None


def tracking_contact(
    prefix: str, contact: TrackingContactIn, found: list[Violation]
) -> ContactCheck:
    """`found` gets only what is wrong with the request itself (no channel given at all)."""
    if not (has_text(contact.email) or has_text(contact.mobile)):
        found.append(
            Violation(
                prefix or "body",
                "email_or_mobile",
                "Isi alamat e-mail dan/atau nomor HP untuk memantau tindak lanjut.",
                "Give an e-mail address and/or a mobile number to monitor the follow-up.",
            )
        )
        return ContactCheck(None, [])
    at = f"{prefix}." if prefix else ""
    email, bad_email = _channel(
        NotificationChannel.EMAIL, f"{at}email", contact.email, validators.normalize_email
    )
    mobile, bad_mobile = _channel(
        NotificationChannel.SMS, f"{at}mobile", contact.mobile, validators.normalize_mobile
    )
    refused = [r for r in (bad_email, bad_mobile) if r is not None]
    if email is None and mobile is None:
        return ContactCheck(None, refused)
    return ContactCheck(contact.model_copy(update={"email": email, "mobile": mobile}), refused)


@dataclass(frozen=True)
class CheckedComplaint:
    clean: ComplaintIn  # normalised; the tracking contact keeps only its usable channels
    found: list[Violation]  # any of these refuses the whole request
    contact: ContactCheck | None  # None when no tracking contact was given


def complaint(
    body: ComplaintIn,
    rule: CompletenessRule,
    now: datetime,
    known_office: bool,
    received_max_age: timedelta,
) -> CheckedComplaint:
    found: list[Violation] = []
    if body.office_code is not None and not known_office:
        found.append(
            Violation(
                "office_code",
                "unknown_office",
                "Kode kantor tidak dikenal.",
                "Unknown office code.",
            )
        )
    if body.channel is Channel.OTHER:
        found += required_text(
            "channel_description",
            body.channel_description,
            "Keterangan saluran lainnya",
            "The description of the other channel",
        )
    found += not_in_future("received_at", body.received_at, now)
    found += not_too_old("received_at", body.received_at, now, received_max_age)

    person = body.complainant
    found += identity_violations(
        rule, name=person.name, address=person.address, phone=person.phone, email=person.email
    )
    person = person.model_copy(
        update={
            "phone": _formatted(
                "complainant.phone", person.phone, validators.normalize_phone, found
            ),
            "email": _formatted(
                "complainant.email", person.email, validators.normalize_email, found
            ),
            "nik": _formatted("complainant.nik", person.nik, validators.normalize_nik, found),
        }
    )

    el = body.elements
    found += required_text("elements.what", el.what, "Apa (uraian kejadian)", "What happened")
    found += required_text("elements.where", el.where, "Di mana", "Where")
    found += required_text("elements.how", el.how, "Bagaimana", "How")
    when = el.when
    if when is None:
        found.append(
            Violation(
                "elements.when",
                "required",
                "Kapan (tanggal, periode, atau perkiraan waktu) wajib diisi.",
                "When (a date, a period or an approximate time) is required.",
            )
        )
    elif isinstance(when, WhenDate):
        found += not_in_future("elements.when.date", when.date, now)
    elif isinstance(when, WhenPeriod):
        found += period_violations("elements.when", when.start, when.end, now)
    elif isinstance(when, WhenApproximate):
        found += required_text(
            "elements.when.description", when.description, "Perkiraan waktu", "Approximate time"
        )
    who = [employee(f"elements.who.{i}", item, found) for i, item in enumerate(el.who)]

    given = body.tracking_contact
    contact = None if given is None else tracking_contact("tracking_contact", given, found)

    clean = body.model_copy(
        update={
            "complainant": person,
            "elements": el.model_copy(update={"who": who}),
            "tracking_contact": contact.usable if contact else None,
        }
    )
    return CheckedComplaint(clean, found, contact)


def supplement(body: SupplementIn) -> list[Violation]:
    found = required_text("text", body.text, "Isi tambahan/ralat", "The addition/correction text")
    if body.kind is SupplementKind.CORRECTION:
        found += required_text(
            "reason", body.reason, "Alasan ralat", "The reason for the correction"
        )
        if body.corrects is None:
            found.append(
                Violation(
                    "corrects",
                    "required",
                    "Bagian yang diralat wajib dipilih.",
                    "Choose which part the correction corrects.",
                )
            )
    return found


def reported_employees(body: ReportedEmployeesIn) -> tuple[ReportedEmployeesIn, list[Violation]]:
    found: list[Violation] = []
    if not body.employees:
        found.append(
            Violation(
                "employees",
                "required",
                "Isi paling sedikit satu pegawai yang diadukan.",
                "Give at least one reported employee.",
            )
        )
    items = [employee(f"employees.{i}", e, found) for i, e in enumerate(body.employees)]
    return body.model_copy(update={"employees": items}), found


def communication(body: RegisterNumberCommunicationIn) -> list[Violation]:
    found: list[Violation] = []
    if body.outcome is CommunicationOutcome.TOLD:
        if body.method is None:
            found.append(
                Violation(
                    "method",
                    "required",
                    "Cara penyampaian nomor register wajib diisi.",
                    "How the register number was told is required.",
                )
            )
        if body.reason is not None:
            found.append(
                Violation(
                    "reason",
                    "not_applicable",
                    "Alasan hanya diisi bila pengadu tidak dapat dihubungi.",
                    "A reason is given only when the complainant could not be reached.",
                )
            )
    else:
        if body.reason is None:
            found.append(
                Violation(
                    "reason",
                    "required",
                    "Alasan pengadu tidak dapat dihubungi wajib diisi.",
                    "Why the complainant could not be reached is required.",
                )
            )
        if body.method is not None:
            found.append(
                Violation(
                    "method",
                    "not_applicable",
                    "Cara penyampaian hanya diisi bila nomor register sudah disampaikan.",
                    "A method is given only when the register number was told.",
                )
            )
    return found
