"""Exports that open in Excel: CSV (UTF-8 with a byte-order mark, CRLF, RFC 4180 quoting) and
XLSX (openpyxl's write-only workbook: rows go to a temporary file as they come, so a long
range does not sit in memory). One set of cell rules for both: times in the office's local
time to the second, booleans `Ya`/`Tidak`, nothing as an empty cell. Pure apart from the
temporary file; the routes in `api.py` send what these produce. Serves the staff list, the
report and the statistics' per-complaint export (issue 18), whose rows come one at a time from a
cursor: `batched` groups them so CSV and XLSX alike stream in constant memory.

openpyxl is imported by the first XLSX export, not at start: most replicas never write one, and
its import (4 MiB; 22 MiB where numpy and Pillow are installed, which it then loads) would count
against the registry's 100 MiB (bench phase x)."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any

from sipuma.registry.domain import Doc
from sipuma.shared.offices import OfficeDirectory

BOM = "\ufeff"  # Excel reads a CSV as UTF-8 only with it (else "Sékar" becomes "SÃ©kar")
YES, NO = "Ya", "Tidak"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHUNK = 64 * 1024


def zone_of(offices: OfficeDirectory, row: Doc) -> tzinfo:
    office = offices.get(str(row.get("office_code", "")))
    return office.zone if office else UTC


def cell(value: Any, zone: tzinfo) -> Any:
    """A value as it is exported (numbers stay numbers: the XLSX keeps them numeric)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(zone).strftime(TIME_FORMAT)
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return value


FORMULA_START = ("=", "+", "-", "@")


def csv_safe(value: Any) -> Any:
    """Excel runs a CSV cell that starts like a formula: such text gets a leading apostrophe
    (OWASP's advice against CSV injection), so "=1+1" is shown, never computed."""
    if isinstance(value, str) and len(value) > 1 and value.startswith(FORMULA_START):
        return "'" + value
    return value


def cells(offices: OfficeDirectory, fields: Sequence[str], rows: Iterable[Doc]) -> list[list[Any]]:
    found = []
    for row in rows:
        zone = zone_of(offices, row)
        found.append([cell(row.get(name), zone) for name in fields])
    return found


def csv_lines(rows: Iterable[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([csv_safe(v) for v in r] for r in rows)
    return buffer.getvalue().encode("utf-8")


async def csv_stream(
    header: Sequence[str], batches: AsyncIterable[list[list[Any]]]
) -> AsyncIterator[bytes]:
    """BOM and header (even with no rows), then each batch of rows as it comes."""
    yield BOM.encode("utf-8") + csv_lines([header])
    async for batch in batches:
        yield csv_lines(batch)


async def xlsx_stream(
    sheet: str, header: Sequence[str], batches: AsyncIterable[list[list[Any]]]
) -> AsyncIterator[bytes]:
    """The workbook: openpyxl's write-only sheet keeps rows in a temporary file as they come,
    the saved file is read back in chunks."""
    from openpyxl import Workbook  # lazily: see the module's doc

    book = Workbook(write_only=True)
    page = book.create_sheet(title=sheet[:31])
    page.append(list(header))

    def append(rows: list[list[Any]]) -> None:
        for row in rows:
            page.append([_text_cell(page, v) for v in row])

    # openpyxl is pure Python (about 1,500 rows/s here): in a worker thread, so the event loop
    # keeps serving other requests while a long export is written.
    async for batch in batches:
        await asyncio.to_thread(append, batch)
    with tempfile.TemporaryFile() as out:
        await asyncio.to_thread(book.save, out)
        out.seek(0)
        while chunk := out.read(CHUNK):
            yield chunk


def _text_cell(sheet: Any, value: Any) -> Any:
    """openpyxl stores a string starting with "=" as a formula: kept as text instead."""
    if isinstance(value, str) and value.startswith("="):
        from openpyxl.cell import WriteOnlyCell  # imported by then (xlsx_stream)

        text = WriteOnlyCell(sheet, value)
        text.data_type = "s"
        return text
    return value


async def batched(
    rows: AsyncIterable[list[Any]], size: int = 100
) -> AsyncIterator[list[list[Any]]]:
    """Rows read one at a time, handed on in batches (one thread hop per batch for the XLSX).
    100 rows: a 100,000-row XLSX peaked 0.6 MiB lower than with 500 (bench phase x)."""
    batch: list[list[Any]] = []
    async for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def local_datetimes(row: Sequence[Any], columns: Iterable[int]) -> list[Any]:
    """A row whose office-local ISO times (naive, as the CSV's `*_local` columns) become
    date-times: an Excel cell has no zone, so the XLSX shows the same wall-clock time, sortable."""
    out = list(row)
    for i in columns:
        if isinstance(out[i], str) and out[i][:1].isdigit():
            out[i] = datetime.fromisoformat(out[i])
    return out


def filename(*parts: str, extension: str) -> str:
    """An ASCII file name for Content-Disposition, e.g. pengaduan_KPPBC-X_2026-11-01.csv."""
    name = "_".join(re.sub(r"[^A-Za-z0-9.-]+", "-", p).strip("-") for p in parts if p)
    return f"{name}.{extension}"


def disposition(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}
