"""Complaint categories (kategori pengaduan, issue 18) in Chromium: compliance staff choose one
on the complaint page by keyboard alone (select, reason, save), a change without a reason shows
the API's message at the reason field, the history reaches the timeline, the list shows the
category; axe-core finds nothing on the page. A receiver does not see the choice."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from sipuma.shared.auth import Role
from tests.e2e.console.conftest import AXE, axe, new_page
from tests.e2e.console.test_console import label, record, sign_in
from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e


@pytest.fixture
def staff(browser: Browser, console_stack: Stack) -> Iterator[Page]:
    """A compliance officer's tab, axe-core loaded before the page's scripts."""
    if not AXE.exists():
        pytest.fail(f"{AXE} missing: run deploy/local/install-browser.sh (make test does)")
    page = new_page(browser)
    page.context.add_init_script(path=str(AXE))
    token = console_stack.token((Role.RECEIVER, Role.COMPLIANCE))
    page.context.add_init_script(f"sessionStorage.setItem('sipuma_token', '{token}');")
    try:
        yield page
    finally:
        page.context.close()


def test_compliance_staff_choose_a_category_by_keyboard(
    staff: Page, console_stack: Stack, shots: Path
) -> None:
    page = staff
    complaint_id, number = record(page, console_stack)
    page.goto(f"{console_stack.console}/pengaduan/{complaint_id}")
    section = page.locator("#category-section")
    expect(section).to_be_visible(timeout=30_000)
    expect(page.locator("#category-current")).to_have_text("Belum dikategorikan", timeout=30_000)
    choose = section.get_by_label(label("Kategori pengaduan"))
    expect(choose.locator("option")).to_have_count(8)  # "pilih" and the seven of the list
    # Keyboard only: the first category, Tab past the (optional) reason to the button, Enter.
    choose.focus()
    page.keyboard.press("ArrowDown")
    expect(choose).to_have_value("pelayanan")
    page.keyboard.press("Tab")
    expect(section.get_by_label(label("Alasan"))).to_be_focused()
    page.keyboard.press("Tab")
    expect(section.get_by_role("button", name="Simpan kategori")).to_be_focused()
    page.keyboard.press("Enter")
    expect(section.locator("[data-status]")).to_have_text("Tersimpan.")
    expect(page.locator("#category-current")).to_have_text("Kualitas pelayanan")
    axe(page, "complaint page, category set")
    section.screenshot(path=str(shots / "11-category.png"))

    # A change needs a reason: the API's message sits at the reason field.
    choose.select_option("pungutan-liar")
    section.get_by_role("button", name="Simpan kategori").click()
    expect(page.locator("#cat-reason-error")).to_contain_text("Alasan wajib")
    section.get_by_label(label("Alasan")).fill("Analisis UKI: pungutan di loket.")
    section.get_by_role("button", name="Simpan kategori").click()
    expect(page.locator("#category-current")).to_have_text("Pungutan liar (pungli)")
    expect(page.locator("#timeline")).to_contain_text(
        re.compile(r"Kualitas pelayanan → Pungutan liar \(pungli\)")
    )

    page.goto(f"{console_stack.console}/daftar")
    row = page.locator("#complaints tbody tr").filter(has_text=number)
    expect(row).to_have_count(1, timeout=30_000)
    expect(row).to_contain_text("Pungutan liar (pungli)")
    assert page.js_errors == []  # type: ignore[attr-defined]


def test_a_receiver_does_not_categorise(page: Page, console_stack: Stack) -> None:
    sign_in(page, console_stack)
    complaint_id, _ = record(page, console_stack)
    page.goto(f"{console_stack.console}/pengaduan/{complaint_id}")
    expect(page.locator("#timeline")).to_contain_text("Nomor register terbit", timeout=30_000)
    expect(page.locator("#category-section")).to_be_hidden()
