"""The statistics page (issue 18 part 2) in Chromium: the registry's office statistics as a
table and three Chart.js charts drawn in the browser; the screenshot in docs/screenshots/."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from sipuma.shared.auth import Role
from tests.e2e.console.test_console import record, sign_in
from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e


def test_statistics_page_draws_the_office_numbers(
    page: Page, console_stack: Stack, shots: Path
) -> None:
    sign_in(page, console_stack, (Role.RECEIVER, Role.COMPLIANCE))
    record(page, console_stack)
    # Asked of the registry's read side (the `reports` role), as deployed.
    read_side = console_stack.services["registry-reports"].url
    with page.expect_response(lambda r: "/v1/statistics?" in r.url) as answer:
        page.goto(f"{console_stack.console}/statistik")
    assert answer.value.url.startswith(f"{read_side}/v1/statistics?"), answer.value.url
    expect(page.locator("body")).to_have_attribute("data-stats-loaded", "true", timeout=30_000)
    row = page.locator("#stats-table tbody tr").first
    expect(row.locator("th")).to_contain_text(re.compile(r"\((WIB|WITA|WIT)\)"))
    complaints = int(row.locator("td").first.inner_text())
    assert complaints >= 1
    # Each chart was drawn by Chart.js (a canvas it sized), not left blank.
    for chart in ("chart-channel", "chart-status", "chart-category", "chart-minutes"):
        drawn = page.evaluate(
            "(id) => { const c = Chart.getChart(id); return !!c && c.data.datasets.length > 0; }",
            chart,
        )
        assert drawn, chart
    # By category too, as a table (nobody categorised the new complaint yet).
    categories = page.locator("#category-table")
    expect(categories.locator("thead")).to_contain_text("Belum dikategorikan")
    expect(categories.locator("tbody tr")).to_have_count(1)
    # A compliance officer reads their own office only: no office choice.
    expect(page.locator("#s-office-field")).to_be_hidden()
    page.screenshot(path=str(shots / "07-statistics.png"), full_page=True)
    # The per-complaint export as XLSX, downloaded with the officer's token.
    with page.expect_download() as download:
        page.get_by_role("button", name="Unduh per pengaduan (XLSX)").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    book = load_workbook(io.BytesIO(download.value.path().read_bytes()), read_only=True).active
    assert book is not None
    header = next(book.iter_rows(values_only=True))
    assert header[:2] == ("office_code", "register_number")


def test_list_shows_the_working_day_deadline(page: Page, console_stack: Stack) -> None:
    sign_in(page, console_stack, (Role.RECEIVER, Role.COMPLIANCE))
    _, number = record(page, console_stack)
    page.goto(f"{console_stack.console}/daftar")
    row = page.locator("#complaints tbody tr").filter(has_text=number)
    expect(row).to_have_count(1, timeout=30_000)
    # Just registered: the verification stage, due in three working days, not overdue.
    expect(row.locator("td").last).to_contain_text("Verifikasi:")
    expect(row.locator("td").last).not_to_contain_text("Terlambat")
    # Ordered by deadline (overdue first, then by due date: the registry's `sort=due`, whose
    # order is proven in its test_statistics): the new complaint has a deadline, so it stays.
    page.get_by_label("Urutan").select_option("due")
    with page.expect_response(lambda r: "sort=due" in r.url and "/v1/complaints?" in r.url):
        page.get_by_role("button", name="Saring").click()
    expect(row).to_have_count(1)
    expect(row.locator("td").last).to_contain_text("Verifikasi:")
