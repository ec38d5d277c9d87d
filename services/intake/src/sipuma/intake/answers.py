"""What intake's answers say, in Indonesian and English: where a complaint stands, and about a
tracking contact which channels the ticket number goes to, which were refused and why (SOP steps
7–9: by e-mail and/or SMS)."""

from __future__ import annotations

from sipuma.intake.checks import ContactCheck
from sipuma.intake.domain import ComplaintStatus, Delivery
from sipuma.intake.models import ChannelRefused, TrackingContactOutcome
from sipuma.shared.payloads import NotificationChannel
from sipuma.shared.problems import Messages

_STATUS = {
    ComplaintStatus.REGISTERED: (
        "Pengaduan tersimpan. Nomor register: {number}.",
        "Complaint saved. Register number: {number}.",
    ),
    ComplaintStatus.RECEIVED: (
        "Pengaduan tersimpan; nomor register sedang dibuat. Lihat status_url.",
        "Complaint saved; the register number is being assigned. See status_url.",
    ),
    ComplaintStatus.QUEUED: (
        "Pengaduan tersimpan di antrean lokal dan akan dikirim otomatis; nomor register "
        "menyusul. Lihat status_url.",
        "Complaint saved in the local queue and will be sent automatically; the register "
        "number follows. See status_url.",
    ),
}
_AMENDED = {
    Delivery.PUBLISHED: ("Tersimpan.", "Saved."),
    Delivery.QUEUED: (
        "Tersimpan di antrean lokal; akan dikirim otomatis.",
        "Saved in the local queue; it will be sent automatically.",
    ),
}


def status_message(status: ComplaintStatus, number: str | None = None) -> Messages:
    id_text, en_text = _STATUS[status]
    return Messages(id=id_text.format(number=number), en=en_text.format(number=number))


def amended_message(delivery: Delivery) -> Messages:
    id_text, en_text = _AMENDED[delivery]
    return Messages(id=id_text, en=en_text)


_NAMES = {NotificationChannel.EMAIL: "e-mail", NotificationChannel.SMS: "SMS"}


def _listed(channels: list[NotificationChannel], conjunction: str) -> str:
    names = [_NAMES[c] for c in channels]
    return f" {conjunction} ".join(names)


def contact_outcome(check: ContactCheck, *, correction: bool = False) -> TrackingContactOutcome:
    """What happens with the tracking contact. `correction` (PUT tracking-contact): the tickets
    sent to earlier contacts are revoked once the new one is issued (a wrong address must not
    keep a working ticket), and the answer says so."""
    kept = check.usable
    channels = []
    if kept is not None and kept.email:
        channels.append(NotificationChannel.EMAIL)
    if kept is not None and kept.mobile:
        channels.append(NotificationChannel.SMS)
    refused = [
        ChannelRefused(
            channel=r.channel,
            name=r.violation.field,
            code=r.violation.rule,
            messages=Messages(id=r.violation.id, en=r.violation.en),
        )
        for r in check.refused
    ]
    why_id = " ".join(f"{_NAMES[r.channel]} ditolak: {r.messages.id}" for r in refused)
    why_en = " ".join(f"{_NAMES[r.channel]} refused: {r.messages.en}" for r in refused)
    if channels:
        id_text = f"Nomor tiket akan dikirim lewat {_listed(channels, 'dan')}."
        en_text = f"The ticket number will be sent by {_listed(channels, 'and')}."
        if correction:
            id_text += (
                " Nomor tiket yang dikirim ke kontak sebelumnya dicabut (tidak berlaku lagi)."
            )
            en_text += " Ticket numbers sent to earlier contacts are revoked (no longer valid)."
    else:
        id_text = (
            "Kontak pemantauan tidak disimpan, jadi nomor tiket belum dapat dikirim. "
            "Perbaiki kontak pemantauan pengaduan ini."
        )
        en_text = (
            "The tracking contact was not saved, so no ticket number can be sent yet. "
            "Correct this complaint's tracking contact."
        )
    return TrackingContactOutcome(
        channels=channels,
        refused=refused,
        revokes_earlier_tickets=correction and bool(channels),
        message=Messages(id=f"{id_text} {why_id}".strip(), en=f"{en_text} {why_en}".strip()),
    )
