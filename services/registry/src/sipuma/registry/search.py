"""The staff list's and search's parameters, read into a `ComplaintFilter`: dates as office-local
dates (one window per time zone) or instants, the 366-day bound, backwards ranges, and the
search fields (the personal ones only in a request body). Refusals are 422s naming the field."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

from sipuma.registry.domain import ComplaintFilter, LocalWindow, OfficeScope, Status
from sipuma.shared.blind_index import blind_key
from sipuma.shared.offices import OfficeDirectory
from sipuma.shared.payloads import Channel
from sipuma.shared.problems import InvalidParam, Messages, unprocessable

# Search filters that are personal data (or a secret): POST /v1/complaints/search only.
PERSONAL_FILTERS = ("ticket", "name", "employee")
IN_THE_BODY = (
    "Tiket, nama, dan pegawai dicari lewat POST /v1/complaints/search (bukan di alamat: alamat "
    "tercatat di log proksi).",
    "Ticket, name and employee are searched with POST /v1/complaints/search (never in the URL: "
    "URLs end up in proxy logs).",
)

Sort = Literal[
    "-received_at",
    "received_at",
    "register_number",
    "-register_number",
    "status",
    "-status",
    "office_code",
    "-office_code",
    "due",  # every open deadline, overdue first (from/to unused)
]


class Search(BaseModel):
    """Daftar dan pencarian / list and search: the same filters as `GET /v1/complaints`, plus
    the personal ones (ticket, complainant name, reported employee) that never go in a URL."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    office: str | None = Field(None, max_length=64)
    received_from: str | None = Field(
        None, alias="from", max_length=40, description="YYYY-MM-DD (lokal) / ISO 8601"
    )
    received_to: str | None = Field(
        None, alias="to", max_length=40, description="YYYY-MM-DD (lokal) / ISO 8601"
    )
    status: Status | None = None
    channel: Channel | None = None
    notification_failed: bool | None = None
    page: int = Field(1, ge=1, le=10_000)
    page_size: int = Field(50, ge=1, le=200)
    format: Literal["json", "csv", "xlsx"] = "json"
    number: str | None = Field(None, max_length=64, description="Bagian nomor register")
    ticket: str | None = Field(None, max_length=64, description="Nomor tiket")
    name: str | None = Field(None, max_length=200, description="Bagian nama pengadu")
    employee: str | None = Field(None, max_length=200, description="Nama/NIP pegawai diadukan")
    not_told: bool | None = Field(None, description="true: nomor register belum disampaikan")
    overdue: bool | None = Field(None, description="true: lewat 30 menit, belum selesai")
    category: str | None = Field(None, max_length=64, description="Kode kategori / uncategorised")
    sort: Sort = "-received_at"


def invalid(name: str, code: str, id_text: str, en_text: str) -> Exception:
    return unprocessable(
        [
            InvalidParam(
                name=name, code=code, reason=id_text, messages=Messages(id=id_text, en=en_text)
            )
        ]
    )


REPORT_FIRST, REPORT_LAST = date(2000, 1, 1), date(2999, 12, 31)
LIST_DEFAULT_DAYS, LIST_MAX_DAYS = 31, 366
RANGE_TOO_LONG = (
    f"Rentang from..to paling lama {LIST_MAX_DAYS} hari.",
    f"The range from..to may span at most {LIST_MAX_DAYS} days.",
)
BACKWARDS = (
    "Tanggal `from` harus sebelum atau sama dengan `to`.",
    "`from` must be on or before `to`.",
)
NOT_A_MOMENT = (
    "Harus tanggal (YYYY-MM-DD, tanggal lokal kantor) atau waktu ISO 8601 dengan zona waktu.",
    "Must be a date (YYYY-MM-DD, the office's local date) or an ISO 8601 time with a zone.",
)

Moment = date | datetime  # a date: the office's local date; a datetime: that instant


def moment(name: str, text: str | None) -> Moment | None:
    if text is None or not text.strip():
        return None
    try:
        if len(text.strip()) == 10:
            day = date.fromisoformat(text.strip())
            moment: Moment = day
        else:
            found = datetime.fromisoformat(text.strip())
            moment = found if found.tzinfo else found.replace(tzinfo=UTC)
            day = found.date()
    except ValueError:
        raise invalid(name, "date_time_invalid", *NOT_A_MOMENT) from None
    # Bounded like the report's dates: a day before 0001-01-01 or after 9999-12-31 overflows.
    if not REPORT_FIRST <= day <= REPORT_LAST:
        raise invalid(name, "date_time_invalid", *NOT_A_MOMENT)
    return moment


def _instant(value: Moment, zone: Any, *, end: bool) -> datetime:
    """A local date's start (or, for `to`, the next day's start) in that zone; an instant as is."""
    if isinstance(value, datetime):
        return value
    day = value + timedelta(days=1) if end else value
    return datetime.combine(day, time(), zone).astimezone(UTC)


def list_filter(
    offices: OfficeDirectory,
    scope: OfficeScope,
    first: Moment | None,
    last: Moment | None,
    where: str = "query.",
    **wanted: Any,
) -> ComplaintFilter:
    """The list's filter: a missing `to` is now, a missing `from` 31 days before `to`; a date
    is the office's local date (one window per time zone of the scope); more than 366 days or
    `from` after `to` is refused (422 naming `from`)."""
    zones: dict[Any, list[str]] = {}
    for code in scope.codes() or offices.codes():
        office = offices.get(code)
        zones.setdefault(office.zone if office else UTC, []).append(code)
    local = isinstance(first, date) and not isinstance(first, datetime)
    local = local or (isinstance(last, date) and not isinstance(last, datetime))
    windows = []
    for zone, codes in zones.items():
        end = _instant(last, zone, end=True) if last else datetime.now(UTC)
        start = (
            _instant(first, zone, end=False) if first else end - timedelta(days=LIST_DEFAULT_DAYS)
        )
        windows.append(LocalWindow(tuple(codes), start, end))
    both_dates = not isinstance(first, datetime) and not isinstance(last, datetime)
    if first is not None and last is not None and both_dates and first > last:
        raise invalid(f"{where}from", "range_backwards", *BACKWARDS)
    if first is not None and last is not None and any(w.start > w.end for w in windows):
        raise invalid(f"{where}from", "range_backwards", *BACKWARDS)
    # A local date range may span one day more than 366 x 24 hours in UTC terms: not here.
    if any(w.end - w.start > timedelta(days=LIST_MAX_DAYS + local) for w in windows):
        raise invalid(f"{where}from", "range_too_long", *RANGE_TOO_LONG)
    start, end = min(w.start for w in windows), max(w.end for w in windows)
    return ComplaintFilter(
        start=start, end=end, scope=scope, local=tuple(windows) if local else (), **wanted
    )


@dataclass(frozen=True)
class ReportRange:
    """A report's office-local dates `from`..`to`, both included."""

    first: date
    last: date


def report_range(
    # Bounded: the UTC search window is the local dates widened by days, which overflowed
    # (a 500) for dates such as 0001-01-01 or 9999-12-31.
    first: Annotated[date, Query(alias="from", ge=REPORT_FIRST, le=REPORT_LAST)],
    last: Annotated[date, Query(alias="to", ge=REPORT_FIRST, le=REPORT_LAST)],
) -> ReportRange:
    """The `from`/`to` of every report and export (a FastAPI dependency): a backwards range is a
    422 naming `from`, never an empty report."""
    if first > last:
        raise invalid("query.from", "range_backwards", *BACKWARDS)
    return ReportRange(first, last)


WORD = re.compile(r"[\w']+")


def name_keys(key: bytes, text: str | None) -> list[str]:
    """Blind index of a name (issue 16's keyed HMAC, kind `name`): one key per word, case and
    Unicode form folded, so "ja'far" finds "Muh. Ja'far, S.H." without the name being stored."""
    if not text:
        return []
    folded = unicodedata.normalize("NFKC", text).casefold()
    return sorted({blind_key(key, "name", word) for word in WORD.findall(folded)})
