"""Registry rules and domain errors, without I/O: register numbers, follow-up statuses and their
transitions, who may read which office, and why a complaint waits for a person."""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sipuma.shared.payloads import Channel, ComplaintStatus

# A stored record as the use cases read and write it (complaint, number, ticket, fact, step).
Doc = dict[str, Any]

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


class TransitionRefused(Exception):
    # Not a frozen dataclass: Starlette clears `__traceback__` on the errors it handles.
    def __init__(self, current: Status, wanted: Status) -> None:
        super().__init__(current, wanted)
        self.current, self.wanted = current, wanted

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


# -- why a complaint waits for a person (never dropped) -------------------------------------------
UNKNOWN_OFFICE = "unknown_office"
ATTENTION_REASONS: dict[str, tuple[str, str]] = {
    UNKNOWN_OFFICE: (
        "Kode kantor tidak terdaftar di konfigurasi registri; pengaduan diberi nomor register "
        "setelah kantor ditambahkan dan registri dimulai ulang.",
        "The office code is not configured in the registry; the complaint is numbered once the "
        "office is added and the registry restarted.",
    )
}


def attention_messages(reason: str) -> tuple[str, str]:
    return ATTENTION_REASONS.get(reason, (reason, reason))


# -- who reads what -------------------------------------------------------------------------------
@dataclass(frozen=True)
class OfficeScope:
    """The offices whose complaints a caller may read; `offices` None = every office."""

    offices: frozenset[str] | None

    def covers(self, office_code: str) -> bool:
        return self.offices is None or office_code in self.offices

    def codes(self) -> list[str] | None:
        return None if self.offices is None else sorted(self.offices)


EVERY_OFFICE = OfficeScope(None)


@dataclass(frozen=True)
class ComplaintFilter:
    """One page of the staff list: complaints received in [start, end) within the scope."""

    start: datetime
    end: datetime
    scope: OfficeScope = EVERY_OFFICE
    status: str | None = None
    channel: Channel | None = None
    notification_failed: bool | None = None


@dataclass(frozen=True)
class Counted:
    """Matches of a filter, counted up to a bound: `exact` is False when there are more than
    `total` (the count stopped there)."""

    total: int
    exact: bool
    items: list[Doc]


# -- domain errors (the HTTP edge maps them to problem+json) --------------------------------------
class NotFound(LookupError):
    """No complaint with this register number that the caller may see (another office's number
    is not even confirmed)."""

    def __init__(self, register_number: str) -> None:
        super().__init__(register_number)
        self.register_number = register_number


class Conflict(RuntimeError):
    """Someone else changed the status at the same moment; read again and retry."""


class UnknownTicket(LookupError):
    """An unknown or a malformed ticket: told apart by nobody."""
