"""The answer about a tracking contact: which channels the ticket number goes to, which were
refused and why, in Indonesian and English (SOP steps 7–9: by e-mail and/or SMS)."""

from __future__ import annotations

from sipuma.intake.models import ChannelRefused, Messages, TrackingContactOutcome
from sipuma.intake.rules import ContactCheck
from sipuma.shared.payloads import NotificationChannel

_NAMES = {NotificationChannel.EMAIL: "e-mail", NotificationChannel.SMS: "SMS"}


def _listed(channels: list[NotificationChannel], conjunction: str) -> str:
    names = [_NAMES[c] for c in channels]
    return f" {conjunction} ".join(names)


def outcome(check: ContactCheck) -> TrackingContactOutcome:
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
        message=Messages(id=f"{id_text} {why_id}".strip(), en=f"{en_text} {why_en}".strip()),
    )
