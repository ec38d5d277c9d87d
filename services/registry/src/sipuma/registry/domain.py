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
    # Public timeline entries that are not statuses: the register number's communication.
    "number_told": ("Nomor register disampaikan", "Register number told"),
    "unreachable": ("Pengadu tidak dapat dihubungi", "Complainant could not be reached"),
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
        """In the labels staff see, never the internal codes."""
        texts = []
        for lang in (0, 1):
            allowed = [LABELS[s][lang] for s in sorted(TRANSITIONS[self.current])]
            now, wanted = LABELS[self.current][lang], LABELS[self.wanted][lang]
            texts.append((now, wanted, ", ".join(allowed) or "-"))
        (now_id, wanted_id, allowed_id), (now_en, wanted_en, allowed_en) = texts
        return (
            f"Status tidak dapat diubah dari '{now_id}' ke '{wanted_id}'. "
            f"Yang diizinkan: {allowed_id}.",
            f"Status cannot change from '{now_en}' to '{wanted_en}'. Allowed: {allowed_en}.",
        )


def check_transition(current: Status, wanted: Status) -> None:
    if wanted not in TRANSITIONS[current]:
        raise TransitionRefused(current, wanted)


# -- corrections of the follow-up (supervisor only, each a new step with a reason) ----------------
REOPENED_TO = Status.IN_FOLLOW_UP  # a reopened complaint is followed up again


class CorrectionRefused(Exception):
    """A reopen or undo that does not apply (409, with why in both languages)."""

    def __init__(self, code: str, id_text: str, en_text: str) -> None:
        super().__init__(code)
        self.code, self.messages = code, (id_text, en_text)


def check_reopen(current: Status) -> None:
    if current is not Status.CLOSED:
        label = LABELS[current]
        raise CorrectionRefused(
            "reopen_not_closed",
            f"Hanya pengaduan berstatus Selesai yang dapat dibuka kembali (sekarang: {label[0]}).",
            f"Only a closed complaint can be reopened (now: {label[1]}).",
        )


def undo_target(changes: list[dict[str, Any]]) -> Status:
    """The status before the last step: what an undo returns to."""
    if not changes:
        raise CorrectionRefused(
            "nothing_to_undo",
            "Belum ada perubahan status yang dapat dibatalkan.",
            "There is no status change to undo.",
        )
    return Status(changes[-1]["from"])


# -- forwarding (SOP: a complaint outside the unit's remit goes to the competent body) -------------
@dataclass(frozen=True)
class Destination:
    code: str
    name: str


DEFAULT_DESTINATIONS = (
    Destination("DIT-KI", "Direktorat Kepatuhan Internal DJBC"),
    Destination("KANWIL", "Kantor Wilayah DJBC"),
    Destination("ITJEN-KEMENKEU", "Inspektorat Jenderal Kementerian Keuangan"),
    Destination("WISE", "Whistleblowing System Kementerian Keuangan (WISE)"),
    Destination("SP4N-LAPOR", "SP4N-LAPOR!"),
    Destination("OMBUDSMAN", "Ombudsman Republik Indonesia"),
    Destination("APH", "Aparat penegak hukum"),
)


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
class LocalWindow:
    """[start, end) in UTC for the offices of one time zone: local dates made exact."""

    offices: tuple[str, ...]
    start: datetime
    end: datetime


@dataclass(frozen=True)
class ComplaintFilter:
    """One page of the staff list: complaints received in [start, end) within the scope. With
    `local` (dates given as office-local dates), one window per time zone of the scope instead:
    00:30 WIB on the 30th is on the 30th, though 17:30 UTC on the 29th."""

    start: datetime
    end: datetime
    scope: OfficeScope = EVERY_OFFICE
    status: str | None = None
    channel: Channel | None = None
    notification_failed: bool | None = None
    local: tuple[LocalWindow, ...] = ()
    # Search (issue 20), always within the range above: part of a register number in any
    # case, the complaint a ticket belongs to, part of the complainant's or a reported
    # employee's name (or an employee's NIP), "number not yet told", overdue.
    number: str | None = None
    complaint_id: str | None = None
    complainant_name: tuple[str, ...] | None = None  # blind keys of the typed words
    employee: tuple[str, ...] | None = None  # blind keys of the typed words or NIP
    not_told: bool | None = None
    overdue_before: datetime | None = None  # no intake end and received before this moment
    category: str | None = None  # a category code, or "uncategorised" (none yet)
    # A key of SORTS, "-" first for descending. "due": every complaint with an open follow-up
    # deadline (the receipt range unused), the earliest due first, so the overdue ones lead.
    sort: str = "-received_at"


# Sort keys of the staff list and search: the listing field each one orders by.
SORTS: dict[str, str] = {
    "received_at": "received_at",
    "register_number": "view.register_number",
    "status": "view.status",
    "office_code": "office_code",
    "due": "due_at",  # the open deadlines only (store.py), ascending: overdue first
}


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


class CategoryConflict(Conflict):
    """Someone else changed the category at the same moment; read again and retry."""


class ReasonRequired(ValueError):
    """Changing a category already set needs a reason (the previous one stays in the history)."""


class UnknownTicket(LookupError):
    """An unknown or a malformed ticket: told apart by nobody."""
