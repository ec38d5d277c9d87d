"""Exports that open in Excel (issue 20): names with commas, quotes, newlines and diacritics
round-trip through Python's `csv`, through pandas' own CSV parser and, for XLSX, through
openpyxl; times are office-local to the second, booleans Ya/Tidak, an empty export keeps its
header."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest
from openpyxl import load_workbook

from sipuma.registry import exports
from sipuma.shared.offices import OfficeDirectory

pytestmark = pytest.mark.unit
OFFICES = OfficeDirectory.default()
NAMES = [
    "Muh. Ja'far, S.H.",
    "Ni Luh Putu Ayu Sékar",
    'Budi "Bob" Santoso',
    "Baris satu\nbaris dua",
    "=1+1",  # kept as text: a cell value, never a formula
]
FIELDS = ("office_code", "name", "received_at", "within_standard", "minutes")


def rows() -> list[dict[str, Any]]:
    at = datetime(2026, 11, 29, 17, 30, 5, 123456, tzinfo=UTC)  # 00:30:05 WIB on the 30th
    return [
        {
            "office_code": "KPUBC-TPK-TJPRIOK",
            "name": name,
            "received_at": at,
            "within_standard": i % 2 == 0,
            "minutes": 12.5 if i else None,
        }
        for i, name in enumerate(NAMES)
    ]


async def batches(found: list[dict[str, Any]]) -> AsyncIterator[list[list[Any]]]:
    yield exports.cells(OFFICES, FIELDS, found)


async def collect(stream: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in stream])


async def test_csv_round_trips_through_python_csv_and_pandas() -> None:
    body = await collect(exports.csv_stream(FIELDS, batches(rows())))
    assert body.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    assert b"\r\n" in body
    text = body.decode("utf-8-sig")
    table = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [r["name"] for r in table] == [*NAMES[:-1], "'=1+1"]  # shown, never computed
    assert {r["received_at"] for r in table} == {"2026-11-30 00:30:05"}
    assert [r["within_standard"] for r in table] == ["Ya", "Tidak", "Ya", "Tidak", "Ya"]
    assert table[0]["minutes"] == ""
    frame = pd.read_csv(io.BytesIO(body), encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(frame.columns) == list(FIELDS)
    assert list(frame["name"]) == [*NAMES[:-1], "'=1+1"]


async def test_an_empty_csv_keeps_its_header() -> None:
    body = await collect(exports.csv_stream(FIELDS, batches([])))
    assert body.decode("utf-8-sig") == ",".join(FIELDS) + "\r\n"


async def test_xlsx_round_trips_through_openpyxl() -> None:
    body = await collect(exports.xlsx_stream("Pengaduan", FIELDS, batches(rows())))
    sheet = load_workbook(io.BytesIO(body)).active
    assert sheet is not None
    found = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert sheet.cell(row=len(NAMES) + 1, column=2).data_type == "s"  # text, not a formula
    assert found[0] == list(FIELDS)
    assert [r[1] for r in found[1:]] == NAMES
    assert found[1][2] == "2026-11-30 00:30:05" and found[1][3] == "Ya"
    assert found[2][4] == 12.5  # numbers stay numbers


def test_filename_and_disposition_are_ascii_attachments() -> None:
    name = exports.filename("pengaduan", "KPPBC/X Sékar", "2026-11-01", extension="csv")
    assert name == "pengaduan_KPPBC-X-S-kar_2026-11-01.csv"
    header = exports.disposition(name)["Content-Disposition"]
    assert header == f'attachment; filename="{name}"'


def test_the_registry_starts_without_openpyxl() -> None:
    """openpyxl (and numpy and Pillow, which it loads where they are installed) is imported by
    the first XLSX export, not at start: the registry's 100 MiB budget (bench phase x)."""
    probe = (
        "import sys, sipuma.registry.main; "
        "print(sorted({'openpyxl', 'numpy', 'PIL'} & set(sys.modules)))"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert found.stdout.strip() == "[]"
