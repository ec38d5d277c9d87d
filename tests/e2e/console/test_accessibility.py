"""Issue 19: what axe does not see. Keyboard-only use of the console in Chromium (id-ID,
Asia/Makassar), on a desktop and on a phone (390×844): errors attached to their fields, focus
that never drops, live-region announcements a screen reader reads, no sideways scrolling; axe-core
(npm) runs on every page state with 0 violations."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from sipuma.shared.auth import Role
from tests.e2e.console.conftest import AXE, axe, new_page
from tests.e2e.console.test_console import NUMBER, PNG, fill_complaint, label
from tests.e2e.stack import Stack
from tests.harness.state import eventually_sync

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

# What a screen reader reads from live regions: text that changes inside a region that was
# already rendered. A region shown and filled in one step is read by few screen readers, so it
# is not counted. Runs before the page's own scripts (an init script is outside its CSP).
RECORDER = """
(() => {
  const LIVE = '[aria-live]:not([aria-live="off"]), [role=alert], [role=status], [role=log]';
  window.__announced = [];
  new MutationObserver((records) => {
    const shown = new Set(records.filter((r) => r.type === "attributes" && r.oldValue !== null)
      .map((r) => r.target));
    const done = new Set();
    for (const r of records) {
      if (r.type === "attributes") continue;
      const node = r.target.nodeType === 1 ? r.target : r.target.parentElement;
      const region = node && node.closest(LIVE);
      if (!region || done.has(region) || !region.checkVisibility()) continue;
      let fresh = false;
      for (let n = region; n; n = n.parentElement) if (shown.has(n)) fresh = true;
      if (fresh) continue;
      done.add(region);
      const text = region.textContent.replace(/\\s+/g, " ").trim();
      if (text) window.__announced.push(text);
    }
  }).observe(document, { subtree: true, childList: true, characterData: true,
    attributes: true, attributeFilter: ["hidden"], attributeOldValue: true });
})();
"""

OVERFLOW = """
() => {
  const width = document.documentElement.clientWidth;
  const found = [];
  if (document.documentElement.scrollWidth > width) {
    found.push(`page ${document.documentElement.scrollWidth}px`);
  }
  const clipped = (el) => {
    for (let n = el.parentElement; n && n !== document.body; n = n.parentElement) {
      if (getComputedStyle(n).overflowX !== "visible") return true;
    }
    return false;
  };
  for (const el of document.body.querySelectorAll("*")) {
    if (!el.checkVisibility() || clipped(el)) continue;
    const box = el.getBoundingClientRect();
    if (box.width > 1 && box.right > width + 0.5) {
      found.push(`${el.tagName.toLowerCase()}#${el.id}.${el.className} right=${box.right}`);
    }
  }
  return found.slice(0, 8);
}
"""


def open_page(browser: Browser, stack: Stack, viewport: dict[str, int], roles: Any = None) -> Page:
    """A fresh tab (id-ID, Asia/Makassar) already signed in as a receiver (unless roles is
    False), with axe-core and the announcement recorder loaded before the page's scripts."""
    page = new_page(browser, viewport=viewport, timezone="Asia/Makassar")
    page.context.add_init_script(path=str(AXE))
    page.context.add_init_script(RECORDER)
    if roles is not False:
        token = stack.token(roles or (Role.RECEIVER,))
        page.context.add_init_script(f"sessionStorage.setItem('sipuma_token', '{token}');")
    return page


@pytest.fixture(scope="module")
def axe_source() -> Path:
    if not AXE.exists():
        pytest.fail(f"{AXE} missing: run deploy/local/install-browser.sh (make test does)")
    return AXE


@pytest.fixture
def desk(browser: Browser, console_stack: Stack, axe_source: Path) -> Iterator[Page]:
    page = open_page(browser, console_stack, DESKTOP)
    try:
        yield page
    finally:
        page.context.close()
    clean(page)


@pytest.fixture
def phone(browser: Browser, console_stack: Stack, axe_source: Path) -> Iterator[Page]:
    page = open_page(browser, console_stack, PHONE)
    try:
        yield page
    finally:
        page.context.close()
    clean(page)


def clean(page: Page) -> None:
    assert page.js_errors == [], page.js_errors  # type: ignore[attr-defined]
    assert page.csp_refused == [], page.csp_refused  # type: ignore[attr-defined]


def fits(page: Page, state: str) -> None:
    """Nothing sticks out to the right: the page never scrolls sideways."""
    found = page.evaluate(OVERFLOW)
    assert found == [], f"wider than the {page.viewport_size} screen, {state}: {found}"


def announced(page: Page) -> list[str]:
    return list(page.evaluate("window.__announced"))


def focused(page: Page) -> dict[str, Any]:
    return dict(
        page.evaluate(
            """() => { const n = document.activeElement; return { id: n.id, tag: n.tagName,
              text: n.textContent.replace(/\\s+/g, " ").trim(), role: n.getAttribute("role") }; }"""
        )
    )


def tab_to(page: Page, target: Locator, *, back: bool = False, limit: int = 120) -> None:
    """Reach the target with Tab (or Shift+Tab) alone, as a keyboard user does."""
    node = target.element_handle()  # found once: a role locator is costly to resolve each time
    for _ in range(limit):
        if node.evaluate("n => n === document.activeElement"):
            return
        page.keyboard.press("Shift+Tab" if back else "Tab")
    raise AssertionError(f"Tab never reached {target}")


def described_error(page: Page, field: Locator) -> Locator:
    """The visible message the field's aria-describedby points at."""
    ids = (field.get_attribute("aria-describedby") or "").split()
    errors = [i for i in ids if i.endswith("-error")]
    assert errors, f"{field} is described by no error message"
    return page.locator(f"#{errors[0]}")


def api_complaint(stack: Stack) -> tuple[str, str]:
    """A complaint recorded through intake's API; answers (complaint id, register number)."""
    headers = {
        "Authorization": f"Bearer {stack.token()}",
        "Idempotency-Key": uuid.uuid4().hex,
    }
    body: dict[str, Any] = {
        "channel": "in_person",
        "received_at": datetime.now(UTC).isoformat(),
        "complainant": {
            "name": "Ni Luh Putu Ayu",
            "address": "Jl. Sunset Road 8, Kuta",
            "phone": "0812 3456 7890",
        },
        "elements": {
            "what": "Petugas meminta uang tambahan untuk mempercepat pemeriksaan barang.",
            "when": {"kind": "date", "date": "2026-11-20"},
            "where": "Ruang pemeriksaan fisik, Terminal 3",
            "how": "Disampaikan secara lisan saat pemeriksaan koper.",
        },
    }
    intake = stack.url("intake")
    answer = httpx.post(f"{intake}/v1/complaints", json=body, headers=headers, timeout=30)
    assert answer.status_code in (201, 202), answer.text
    cid = answer.json()["complaint_id"]

    def number() -> str | None:
        status = httpx.get(
            f"{intake}/v1/complaints/{cid}/status", headers=headers, timeout=30
        ).json()
        found = status.get("register_number")
        return str(found) if found else None

    return cid, eventually_sync("register number", number, timeout=60)


@pytest.fixture(scope="module")
def recorded(console_stack: Stack) -> tuple[str, str]:
    return api_complaint(console_stack)


def submit_with_enter(page: Page, field: Locator) -> None:
    tab_to(page, field)
    page.keyboard.press("Enter")


# -- defects 1, 2, 3: form errors ---------------------------------------------------------------
def submit_form_without(page: Page, stack: Stack, *fields: str) -> Locator:
    """Fill the form, empty these fields (ids), press Enter in a text field; answer the summary."""
    page.goto(f"{stack.console}/baru")
    fill_complaint(page)
    for fid in fields:
        page.locator(f"#{fid}").fill("")
    submit_with_enter(page, page.get_by_label(label("Nama pengadu")))  # Enter in a text field
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    return summary


def test_the_contact_error_marks_both_contact_fields(desk: Page, console_stack: Stack) -> None:
    """Defect 1: phone and e-mail empty."""
    page = desk
    summary = submit_form_without(page, console_stack, "complainant-phone", "complainant-email")
    for fid in ("complainant-phone", "complainant-email"):
        field = page.locator(f"#{fid}")
        expect(field).to_have_attribute("aria-invalid", "true")
        error = described_error(page, field)
        expect(error).to_be_visible()
        expect(error).to_contain_text("isi salah satu")
        expect(field).to_have_accessible_name(re.compile(r"\(isi salah satu\)$"))
    axe(page, "form, no contact")
    # The summary's entry is a link to the phone, by keyboard.
    link = summary.get_by_role("link", name=re.compile("kontak pengadu"))
    tab_to(page, link)
    page.keyboard.press("Enter")
    expect(page.locator("#complainant-phone")).to_be_focused()


def test_the_when_error_sits_on_the_empty_date(desk: Page, console_stack: Stack) -> None:
    """Defect 2: no incident date (and no "Di mana", which comes after it in the form)."""
    page = desk
    summary = submit_form_without(page, console_stack, "elements-when-date", "elements-where")
    date = page.locator("#elements-when-date")
    expect(date).to_have_attribute("aria-invalid", "true")
    expect(described_error(page, date)).to_be_visible()
    expect(page.locator("#when-kind-date")).not_to_have_attribute("aria-invalid", "true")
    links = summary.get_by_role("link")
    expect(links).to_have_count(2)
    expect(links.first).to_have_attribute("href", "#elements-when-date")  # form order
    expect(links.first).to_contain_text("Kapan")
    axe(page, "form, no date")
    tab_to(page, links.first)
    page.keyboard.press("Enter")
    expect(date).to_be_focused()


def test_the_error_summary_is_a_named_region_in_form_order(
    desk: Page, console_stack: Stack
) -> None:
    """Defect 3: the focus goes to the summary, a focusable region named by its heading, whose
    links follow the form's order and lead, by keyboard, to their fields."""
    page = desk
    summary = submit_form_without(
        page, console_stack, "elements-what", "elements-where", "elements-how", "complainant-name"
    )
    expect(summary).to_be_focused()
    expect(summary).to_have_attribute("role", "region")
    expect(summary).to_have_accessible_name("Periksa isian berikut")
    links = summary.get_by_role("link")
    expect(links).to_have_count(4)
    in_order = page.evaluate(
        """() => {
          const targets = Array.from(document.querySelectorAll("#error-summary a"),
            (a) => document.getElementById(a.getAttribute("href").slice(1)));
          return targets.every((t, i) => i === 0 ||
            (targets[i - 1].compareDocumentPosition(t) & Node.DOCUMENT_POSITION_FOLLOWING));
        }"""
    )
    assert in_order, summary.inner_text()
    axe(page, "form, four errors")
    page.keyboard.press("Tab")
    expect(links.first).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#complainant-name")).to_be_focused()


# -- defect 9: the date field's calendar button ---------------------------------------------------
def test_a_date_field_shows_the_focus_on_every_stop(desk: Page, console_stack: Stack) -> None:
    """Day, month, year and the calendar button are four tab stops: each shows the ring."""
    page = desk
    page.goto(f"{console_stack.console}/baru")
    date = page.locator("#elements-when-date")
    tab_to(page, date)
    for stop in range(4):
        expect(date).to_be_focused()
        ring = date.evaluate(
            "n => [getComputedStyle(n).outlineStyle, getComputedStyle(n).outlineColor]"
        )
        assert ring == ["solid", "rgb(255, 191, 71)"], (stop, ring)
        page.keyboard.press("Tab")
    expect(page.get_by_label(label("Di mana"))).to_be_focused()


# -- defect 9: the received time ------------------------------------------------------------------
def test_the_received_time_is_two_tab_stops(desk: Page, console_stack: Stack) -> None:
    """A day among those the API accepts (today first, so a wrong year cannot be chosen) and
    the time as typed, both at "now": two tab stops instead of a date-time field's seven."""
    page = desk
    page.goto(f"{console_stack.console}/baru")
    day, time = page.locator("#received_date"), page.locator("#received_time")
    expect(day).to_have_accessible_name("Tanggal")
    expect(time).to_have_accessible_name("Jam")
    days = page.evaluate(
        "JSON.parse(document.getElementById('sipuma-config').textContent).received_max_age_days"
    )
    options = day.locator("option")
    expect(options).to_have_count(days + 1)
    expect(options.first).to_contain_text("Hari ini")
    assert day.input_value() == options.first.get_attribute("value")
    expect(time).to_have_value(re.compile(r"^([01]\d|2[0-3])\.[0-5]\d$"))
    tab_to(page, day)
    page.keyboard.press("Tab")
    expect(time).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label(label("Nama pengadu"))).to_be_focused()

    # A time that is no time of day is named at the time field, before anything is sent.
    fill_complaint(page)
    time.fill("25.70")
    submit_with_enter(page, time)
    expect(page.locator("#error-summary")).to_be_focused()
    expect(time).to_have_attribute("aria-invalid", "true")
    expect(described_error(page, time)).to_contain_text("JJ.MM")
    axe(page, "form, unreadable time")
    # Yesterday, so 09.30 is in the past at any hour the suite runs (today's 09.30 is still
    # ahead before 09.30 in the browser's zone, and the API rightly refuses the future).
    day.select_option(index=1)
    time.fill("9.30")
    submit_with_enter(page, time)
    expect(page.locator("#register-number")).to_have_text(NUMBER, timeout=30_000)


# -- defect 8: the saved page ---------------------------------------------------------------------
def test_the_saved_page_says_the_number(desk: Page, console_stack: Stack) -> None:
    page = desk
    page.goto(f"{console_stack.console}/baru")
    fill_complaint(page)
    submit_with_enter(page, page.get_by_role("button", name="Simpan"))
    number = page.locator("#register-number")
    expect(number).to_have_text(NUMBER, timeout=30_000)
    value = number.inner_text()
    # Focus sits on an element whose name carries the number, and a region that was there
    # before says it.
    expect(page.locator(":focus")).to_contain_text(value)
    page.wait_for_function(
        "n => window.__announced.some((t) => t.includes(n))", arg=value, timeout=30_000
    )
    expect(page).to_have_title(re.compile(re.escape(value)))
    axe(page, "saved page")
    href = page.get_by_role("link", name="Lanjutkan: data pendukung dan lainnya")
    submit_with_enter(page, href)
    expect(page.locator("#register-number")).to_have_text(value)
    expect(page).to_have_title(re.compile(re.escape(value)))


# -- defect 7: removing an employee ---------------------------------------------------------------
def test_removing_an_employee_keeps_the_focus(desk: Page, console_stack: Stack) -> None:
    page = desk
    page.goto(f"{console_stack.console}/baru")
    add = page.get_by_role("button", name="Tambah pegawai")
    tab_to(page, add)
    page.keyboard.press("Enter")
    expect(page.locator("#elements-who-0-name")).to_be_focused()
    tab_to(page, add)
    page.keyboard.press("Enter")
    tab_to(page, page.get_by_role("button", name="Hapus pegawai 2"), back=True)
    page.keyboard.press("Enter")
    expect(page.locator("#elements-who-0-name")).to_be_focused()  # the previous employee
    tab_to(page, page.get_by_role("button", name="Hapus pegawai 1"))
    page.keyboard.press("Enter")
    expect(add).to_be_focused()
    axe(page, "form without employees")
    # 9: each employee field says whether it is required.
    page.keyboard.press("Enter")
    expect(page.locator("#elements-who-0-name")).to_have_accessible_name(re.compile(r"\(wajib\)$"))
    for sub in ("nip", "position", "unit"):
        expect(page.locator(f"#elements-who-0-{sub}")).to_have_accessible_name(
            re.compile(r"\(opsional\)$")
        )
    axe(page, "form with an employee")


# -- defect 6: tracking errors --------------------------------------------------------------------
def test_tracking_errors_are_announced(desk: Page, console_stack: Stack) -> None:
    page = desk
    page.goto(f"{console_stack.url('intake')}/lacak")
    ticket = page.get_by_label(label("Nomor tiket"))
    tab_to(page, ticket)
    page.keyboard.press("Enter")
    expect(ticket).to_have_attribute("aria-invalid", "true")
    expect(described_error(page, ticket)).to_have_text("Nomor tiket wajib diisi.")
    page.wait_for_function("() => window.__announced.some((t) => t.includes('Nomor tiket wajib'))")
    axe(page, "tracking, empty ticket")
    page.keyboard.type("AAAA-BBBB-CCCC-DDDD")
    page.keyboard.press("Enter")
    error = described_error(page, ticket)
    expect(error).not_to_have_text("Nomor tiket wajib diisi.")
    expect(error).not_to_have_text("")
    text = error.inner_text()
    page.wait_for_function("t => window.__announced.some((a) => a.includes(t))", arg=text)
    expect(ticket).to_be_focused()
    axe(page, "tracking, unknown ticket")


# -- defect 4: the list on a phone ----------------------------------------------------------------
def test_the_list_fits_a_phone(
    phone: Page, console_stack: Stack, recorded: tuple[str, str], shots: Path
) -> None:
    page = phone
    _, number = recorded
    page.goto(f"{console_stack.console}/daftar")
    row = page.locator("#complaints tbody tr").filter(has_text=number)
    expect(row).to_have_count(1, timeout=30_000)
    fits(page, "list")
    # Every column of the row is on screen, with its column's name.
    for cell in row.locator("td").all():
        box = cell.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    expect(row).to_contain_text("Datang langsung")
    expect(row).to_contain_text("Tercatat")
    next_button = page.get_by_role("button", name="Berikutnya")
    box = next_button.bounding_box()
    assert box and box["x"] + box["width"] <= PHONE["width"], box
    axe(page, "list on a phone")
    page.screenshot(path=str(shots / "09-list-phone.png"), full_page=True)

    # Wider than a phone, narrower than the table: the table scrolls in a region that takes the
    # keyboard focus, and → scrolls it; the page itself does not.
    page.set_viewport_size({"width": 800, "height": 900})
    region = page.get_by_role("region", name=re.compile("Daftar pengaduan kantor"))
    expect(region).to_have_attribute("tabindex", "0")
    fits(page, "list at 800 px")
    tab_to(page, region)
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "() => document.querySelector('#complaints').parentElement.scrollLeft > 0"
    )
    axe(page, "list at 800 px")
    page.set_viewport_size({"width": PHONE["width"], "height": PHONE["height"]})
    expect(region).not_to_have_attribute("tabindex", "0")  # cards: nothing to scroll

    link = row.get_by_role("link", name=number)
    tab_to(page, link)
    page.keyboard.press("Enter")
    expect(page.locator("#register-number")).to_have_text(number)


# -- defect 5 and 9: the complaint page on a phone, uploads -------------------------------------
def test_the_complaint_page_fits_a_phone_after_uploads(
    phone: Page, console_stack: Stack, recorded: tuple[str, str], tmp_path: Path, shots: Path
) -> None:
    console_stack.need("evidence")
    page = phone
    complaint_id, number = recorded
    page.goto(f"{console_stack.console}/pengaduan/{complaint_id}")
    expect(page.locator("#register-number")).to_have_text(number)
    fits(page, "complaint page")
    axe(page, "complaint page")

    upload = page.get_by_role("button", name="Unggah")
    files = page.get_by_label(label("Berkas"))
    photo = tmp_path / f"foto-bukti-dengan-nama-panjang-{uuid.uuid4().hex[:6]}.png"
    photo.write_bytes(PNG)
    fake = tmp_path / "bukan-gambar.png"
    fake.write_bytes(b"<html><script>alert(1)</script></html>")
    files.set_input_files([str(photo), str(fake)])
    submit_with_enter(page, upload)
    uploads = page.locator("#uploads li")
    stored = uploads.filter(has_text=photo.name)
    refused = uploads.filter(has_text="bukan-gambar.png")
    expect(stored).to_contain_text("Tersimpan", timeout=30_000)
    expect(refused).to_contain_text("Ditolak", timeout=30_000)
    expect(page.locator("#evidence-table")).to_contain_text(photo.name)
    # 5: the upload states and the evidence list with "Unduh" stay inside the page and the card.
    fits(page, "complaint page after uploads")
    card = page.locator("section.card").filter(has=page.locator("#evidence-table"))
    inner = card.bounding_box()
    download = page.get_by_role("button", name=f"Unduh {photo.name}")
    box = download.bounding_box()
    assert inner and box and box["x"] + box["width"] <= inner["x"] + inner["width"], (box, inner)
    axe(page, "complaint page after uploads")
    page.screenshot(path=str(shots / "10-complaint-phone.png"), full_page=True)

    # 9: the progress bars say how it ended; a refused file shows no full bar.
    expect(stored.locator("progress")).not_to_have_accessible_name(re.compile("Mengunggah"))
    expect(refused.locator("progress")).not_to_have_accessible_name(re.compile("Mengunggah"))
    assert refused.locator("progress").evaluate("p => p.value") < 100
    # 9: no file → the file field is marked and described; choosing one clears it.
    submit_with_enter(page, upload)
    expect(files).to_be_focused()
    expect(files).to_have_attribute("aria-invalid", "true")
    expect(described_error(page, files)).to_be_visible()
    axe(page, "upload without a file")
    files.set_input_files([str(photo)])
    expect(files).not_to_have_attribute("aria-invalid", "true")
    expect(page).to_have_title(re.compile(re.escape(number)))  # 8: the title names it


# -- defect 9: another office's complaint --------------------------------------------------------
def test_another_offices_complaint_stops_at_a_clear_refusal(
    browser: Browser, console_stack: Stack, recorded: tuple[str, str], axe_source: Path
) -> None:
    complaint_id, _ = recorded
    page = new_page(browser, viewport=DESKTOP, timezone="Asia/Makassar")
    try:
        page.context.add_init_script(path=str(axe_source))
        token = console_stack.token(office="KPPBC-TMP-NGURAHRAI")
        page.context.add_init_script(f"sessionStorage.setItem('sipuma_token', '{token}');")
        asked: list[str] = []
        page.on("request", lambda r: asked.append(r.url) if r.url.endswith("/status") else None)
        page.clock.install()
        page.goto(f"{console_stack.console}/pengaduan/{complaint_id}")
        expect(page.locator("#page-alert")).to_be_visible()
        expect(page.locator("#register-number")).not_to_have_text("…")
        expect(page.locator("#register-number")).not_to_have_text("Memuat…")
        page.clock.run_for(120_000)  # two minutes of page time: no more asking
        expect(page.locator("#page-alert")).to_be_visible()
        assert len(asked) == 1, asked
        axe(page, "another office's complaint")
    finally:
        page.context.close()


# -- every page fits a phone ----------------------------------------------------------------------
def test_the_statistics_page_fits_a_phone(
    browser: Browser, console_stack: Stack, recorded: tuple[str, str], axe_source: Path
) -> None:
    """Its table shows each office as a card (as the list), each value under its column's
    name: nothing scrolls sideways, not even inside the table's region."""
    page = open_page(browser, console_stack, PHONE, roles=(Role.RECEIVER, Role.COMPLIANCE))
    try:
        page.goto(f"{console_stack.console}/statistik")
        expect(page.locator("body")).to_have_attribute("data-stats-loaded", "true")
        row = page.locator("#stats-table tbody tr").first
        assert row.evaluate("r => getComputedStyle(r).display") == "block"
        expect(row.locator("td").first).to_have_attribute("data-label", "Pengaduan")
        wrap = page.locator("#stats-table").locator("xpath=..")
        assert wrap.evaluate("w => w.scrollWidth <= w.clientWidth"), "the table scrolls sideways"
        fits(page, "statistics")
        axe(page, "statistics on a phone")
    finally:
        page.context.close()
    clean(page)


def test_the_saved_page_fits_a_phone(phone: Page, console_stack: Stack) -> None:
    page = phone
    page.goto(f"{console_stack.console}/baru")
    fill_complaint(page)
    submit_with_enter(page, page.get_by_role("button", name="Simpan"))
    expect(page.locator("#register-number")).to_have_text(NUMBER, timeout=30_000)
    fits(page, "saved page")
    axe(page, "saved page on a phone")


@pytest.mark.parametrize("path", ["/konsol/masuk", "/konsol/baru", "/lacak"])
def test_every_page_fits_a_phone(phone: Page, console_stack: Stack, path: str) -> None:
    page = phone
    page.goto(f"{console_stack.url('intake')}{path}")
    expect(page.locator("h1")).to_be_visible()
    fits(page, path)
    axe(page, f"{path} on a phone")
