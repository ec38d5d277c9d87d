"""Registry rules, without I/O: register numbers, follow-up statuses and their transitions."""

from __future__ import annotations

import string
from dataclasses import dataclass

from sipuma.shared.payloads import ComplaintStatus

DEFAULT_NUMBER_FORMAT = "PGD/{office}/{year}/{seq:06d}"


Status = ComplaintStatus  # registered → verified → in_follow_up → closed, or forwarded
RECEIVED = "received"  # view-only: saved by intake, register number not yet assigned

LABELS: dict[str, tuple[str, str]] = {
    RECEIVED: ("Diterima", "Received"),
    Status.REGISTERED: ("Tercatat", "Registered"),
    Status.VERIFIED: ("Diverifikasi", "Verified"),
    Status.IN_FOLLOW_UP: ("Dalam tindak lanjut", "In follow-up"),
    Status.CLOSED: ("Selesai", "Closed"),
    Status.FORWARDED: ("Diteruskan", "Forwarded"),
}

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.REGISTERED: frozenset({Status.VERIFIED, Status.FORWARDED}),
    Status.VERIFIED: frozenset({Status.IN_FOLLOW_UP, Status.FORWARDED}),
    Status.IN_FOLLOW_UP: frozenset({Status.CLOSED, Status.FORWARDED}),
    Status.CLOSED: frozenset(),
    Status.FORWARDED: frozenset(),
}


@dataclass(frozen=True)
class TransitionRefused(Exception):
    current: Status
    wanted: Status

    @property
    def messages(self) -> tuple[str, str]:
        allowed = ", ".join(sorted(TRANSITIONS[self.current])) or "-"
        return (
            f"Status tidak dapat diubah dari '{self.current}' ke '{self.wanted}'. "
            f"Yang diizinkan: {allowed}.",
            f"Status cannot change from '{self.current}' to '{self.wanted}'. Allowed: {allowed}.",
        )


def check_transition(current: Status, wanted: Status) -> None:
    if wanted not in TRANSITIONS[current]:
        raise TransitionRefused(current, wanted)


def validate_number_format(template: str) -> str:
    """The format must use {office}, {year} and {seq} (any format spec) and nothing else."""
    fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    if fields != {"office", "year", "seq"}:
        raise ValueError("register number format needs exactly {office}, {year} and {seq}")
    format_register_number(template, "X", 2026, 1)
    return template


def format_register_number(template: str, office: str, year: int, seq: int) -> str:
    return template.format(office=office, year=year, seq=seq)


def number_key(office: str, year: int, seq: int) -> str:
    return f"{office}/{year}/{seq:06d}"
