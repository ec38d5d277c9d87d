"""The officer console and the public tracking page in a real browser (Debian's Chromium, driven
by Playwright) against the running services on the real stack."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, Request, expect

from sipuma.shared.auth import Role
from tests.e2e.console.conftest import AXE, axe
from tests.e2e.stack import OFFICE, Stack
from tests.harness.inboxes import MailInbox

pytestmark = pytest.mark.e2e

NUMBER = re.compile(rf"^PGD/{OFFICE}/\d{{4}}/\d{{6}}$")
SYMBOL = "[0-9A-HJKMNP-TV-Z]"  # Crockford base32
TICKET = re.compile(rf"\b{SYMBOL}{{4}}-{SYMBOL}{{4}}-{SYMBOL}{{4}}-{SYMBOL}{{4}}\b")
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a5f1c7"
    "e40000000049454e44ae426082"
)


def label(text: str) -> re.Pattern[str]:
    """A field's accessible name: its label, then "(wajib)" / "(opsional)" or nothing."""
    return re.compile(rf"^{re.escape(text)}( \(|$)")


def sign_in(page: Page, stack: Stack, roles: tuple[Role, ...] = (Role.RECEIVER,)) -> None:
    page.goto(f"{stack.console}/masuk")
    page.get_by_label(label("Token akses")).fill(stack.token(roles))
    page.get_by_role("button", name="Masuk", exact=True).click()


def fill_complaint(
    page: Page, *, tracking_email: str | None = None, tracking_mobile: str | None = None
) -> None:
    page.get_by_label(label("Saluran pengaduan")).select_option("in_person")
    page.get_by_label(label("Nama pengadu")).fill("Ni Luh Putu Ayu")
    page.get_by_label(label("Alamat")).fill("Jl. Sunset Road No. 8, Kuta, Badung")
    page.get_by_label(label("Nomor telepon / HP")).fill("0812 3456 7890")
    page.get_by_label(label("E-mail")).fill("ayu@example.co.id")
    page.get_by_label(label("Apa yang terjadi")).fill(
        "Petugas meminta uang tambahan untuk mempercepat pemeriksaan barang."
    )
    page.get_by_label(label("Tanggal kejadian")).fill("2026-11-20")
    page.get_by_label(label("Di mana")).fill("Ruang pemeriksaan fisik, Terminal 3")
    page.get_by_label(label("Bagaimana kejadiannya")).fill(
        "Disampaikan secara lisan saat pemeriksaan koper."
    )
    page.get_by_role("button", name="Tambah pegawai").click()
    page.get_by_label(label("Nama pegawai / pejabat")).fill("Budi S.")
    page.get_by_label(label("Jabatan")).fill("Pemeriksa")
    if tracking_email:
        page.get_by_label(label("E-mail pemantauan")).fill(tracking_email)
    if tracking_mobile:
        page.get_by_label(label("Nomor HP pemantauan")).fill(tracking_mobile)
    page.get_by_label(label("Lokasi arsip formulir / berkas")).fill("Lemari UKI-2, map 11/2026")


def record(page: Page, stack: Stack, shots: Path | None = None) -> tuple[str, str]:
    """Record a complaint through the form; answer (complaint id, register number)."""
    page.goto(f"{stack.console}/baru")
    fill_complaint(page)
    if shots:
        page.screenshot(path=str(shots / "01-form.png"), full_page=True)
    page.get_by_role("button", name="Simpan").click()
    number = page.locator("#register-number")
    expect(number).to_have_text(NUMBER, timeout=30_000)
    if shots:
        page.screenshot(path=str(shots / "02-saved.png"))
    href = page.get_by_role("link", name="Lanjutkan: data pendukung dan lainnya").get_attribute(
        "href"
    )
    assert href
    return href.rsplit("/", 1)[1], number.inner_text()


def test_record_a_complaint_and_read_the_register_number(
    page: Page, console_stack: Stack, shots: Path
) -> None:
    sign_in(page, console_stack)
    expect(page).to_have_url(re.compile(r"/konsol/baru$"))
    complaint_id, number = record(page, console_stack, shots)
    uuid.UUID(complaint_id)
    assert NUMBER.match(number)
    expect(page.get_by_role("button", name="Salin")).to_be_visible()
    assert page.js_errors == []  # type: ignore[attr-defined]


def test_the_form_shows_the_apis_field_messages(
    page: Page, console_stack: Stack, shots: Path
) -> None:
    sign_in(page, console_stack)
    page.goto(f"{console_stack.console}/baru")
    page.get_by_label(label("Nomor telepon / HP")).fill("12345")
    page.get_by_role("button", name="Simpan").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    for field in ("elements-what", "elements-where", "elements-how", "complainant-phone"):
        expect(page.locator(f"#{field}-error")).to_be_visible()
        expect(page.locator(f"#{field}")).to_have_attribute("aria-invalid", "true")
    page.screenshot(path=str(shots / "06-field-messages.png"))
    # The summary links move the keyboard focus to the field.
    summary.get_by_role("link").first.click()
    assert page.evaluate("document.activeElement.id") != ""


def test_local_sign_in_mints_a_development_token(page: Page, console_stack: Stack) -> None:
    page.goto(f"{console_stack.console}/masuk")
    page.get_by_role("button", name="Buat token dan masuk").click()
    expect(page).to_have_url(re.compile(r"/konsol/baru$"))
    expect(page.locator("#who-text")).to_contain_text("198001012005011001")


def test_attach_files_and_see_them_listed(page: Page, console_stack: Stack, tmp_path: Path) -> None:
    console_stack.need("evidence")
    sign_in(page, console_stack)
    complaint_id, _ = record(page, console_stack)
    page.goto(f"{console_stack.console}/pengaduan/{complaint_id}")
    expect(page.locator("#register-number")).to_have_text(NUMBER)
    uploaded: list[str] = []
    keys: list[str | None] = []

    def sent(r: Request) -> None:
        if r.method == "POST":
            uploaded.append(r.url)
            if "/evidence" in r.url:
                keys.append(r.headers.get("idempotency-key"))

    page.on("request", sent)
    photo = tmp_path / "foto-bukti.png"
    photo.write_bytes(PNG)
    letter = tmp_path / "surat-pengaduan.txt"
    letter.write_text("Surat pengaduan, ditulis tangan lalu diketik ulang.\n", encoding="utf-8")
    fake = tmp_path / "bukan-gambar.png"
    fake.write_bytes(b"<html><script>alert(1)</script></html>")
    page.get_by_label(label("Berkas")).set_input_files([str(photo), str(letter), str(fake)])
    page.get_by_role("button", name="Unggah").click()
    uploads = page.locator("#uploads li")
    expect(uploads).to_have_count(3)
    expect(uploads.filter(has_text="foto-bukti.png")).to_contain_text("Tersimpan", timeout=30_000)
    expect(uploads.filter(has_text="surat-pengaduan.txt")).to_contain_text("Tersimpan")
    refused = uploads.filter(has_text="bukan-gambar.png")
    expect(refused).to_contain_text("Ditolak")
    expect(refused.locator(".upload-state")).not_to_have_text("Ditolak: ")
    table = page.locator("#evidence-table")
    expect(table).to_contain_text("foto-bukti.png")
    expect(table).to_contain_text("surat-pengaduan.txt")
    expect(table).not_to_contain_text("bukan-gambar.png")
    # Download: a short-lived link from the evidence service, served as an attachment.
    with page.expect_download() as download:
        table.get_by_role("button", name="Unduh foto-bukti.png").click()
    saved = tmp_path / "unduhan.png"
    download.value.save_as(saved)
    assert saved.read_bytes() == PNG
    posts = [u for u in uploaded if "/evidence" in u]
    assert posts and all("/v1/complaints/by-number/" in u for u in posts), posts
    # One Idempotency-Key per chosen file (a retry would repeat its file's key).
    assert len(keys) == 3 and all(keys) and len(set(keys)) == 3, keys


def test_tracking_contact_ticket_mail_and_public_page(
    page: Page, console_stack: Stack, mail_inbox: MailInbox, shots: Path
) -> None:
    console_stack.need("notifier")
    page.context.add_init_script(path=str(AXE))  # axe-core on the complaint and tracking pages
    sign_in(page, console_stack)
    complaint_id, number = record(page, console_stack)
    page.goto(f"{console_stack.console}/pengaduan/{complaint_id}")
    expect(page.locator("#register-number")).to_have_text(number)
    address = f"pengadu-{uuid.uuid4().hex[:10]}@example.co.id"
    contact = page.locator("#contact-form")
    contact.get_by_label(label("E-mail pemantauan")).fill(address)
    contact.get_by_role("button", name="Simpan").click()
    expect(contact.locator("[data-status]")).to_have_text(re.compile("Tersimpan"))
    # SOP step 6: the register number was told in person.
    told = page.locator("#communication-form")
    told.get_by_role("radio", name="Nomor register sudah disampaikan").check()
    told.get_by_label(label("Cara penyampaian")).select_option("in_person")
    told.get_by_role("button", name="Simpan").click()
    expect(told.locator("[data-status]")).to_have_text(re.compile("Tersimpan"))

    mails = mail_inbox.wait_for(address, timeout=60)
    assert mails, f"no ticket e-mail reached {address}"
    text = mails[0].get("Text") or mails[0].get("HTML") or ""
    found = TICKET.search(text)
    assert found, "no ticket number in the e-mail"
    assert number in text

    # The complaint's timeline shows the ticket and the notification.
    expect(page.locator("#timeline")).to_contain_text("Nomor tiket terbit", timeout=30_000)
    expect(page.locator("#timeline")).to_contain_text("Notifikasi terkirim", timeout=30_000)
    expect(page.locator("#timeline")).to_contain_text("Nomor register disampaikan")
    page.screenshot(path=str(shots / "05-complaint.png"), full_page=True)
    axe(page, "complaint page with its timeline")

    public = page.context.new_page()
    public.goto(f"{console_stack.url('intake')}/lacak")
    public.get_by_label(label("Nomor tiket")).fill(found.group(0).lower())
    public.get_by_role("button", name="Lihat status").click()
    expect(public.locator("#track-status")).to_have_text("Tercatat")
    timeline = public.locator("#track-timeline")
    expect(timeline).to_contain_text("Diterima")
    body = public.locator("main").inner_text()
    for private in ("Ni Luh", "Sunset", address, number, "Budi"):
        assert private not in body
    public.screenshot(path=str(shots / "04-tracking.png"), full_page=True)
    axe(public, "tracking page with a status")


def test_office_list_shows_the_complaint(page: Page, console_stack: Stack, shots: Path) -> None:
    sign_in(page, console_stack)
    _, number = record(page, console_stack)
    page.goto(f"{console_stack.console}/daftar")
    row = page.locator("#complaints tbody tr").filter(has_text=number)
    expect(row).to_have_count(1, timeout=30_000)
    expect(row).to_contain_text("Datang langsung")
    expect(row).to_contain_text("Tercatat")
    expect(row.locator(".badge").last).to_have_text(re.compile("Berjalan|Terpenuhi|Terlampaui"))
    # Keyboard: the register number is a link reached with Tab and opens the complaint.
    link = row.get_by_role("link", name=number)
    link.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/konsol/pengaduan/"))
    expect(page.locator("#register-number")).to_have_text(number)


def test_english_switch(page: Page, console_stack: Stack) -> None:
    sign_in(page, console_stack)
    page.goto(f"{console_stack.console}/baru")
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Record a complaint")).to_be_visible()
    expect(page.get_by_label(label("Complainant's name"))).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto(f"{console_stack.console}/daftar")  # remembered
    expect(page.get_by_role("heading", name=re.compile("Office complaint list"))).to_be_visible()


def test_a_failed_notification_stands_out_in_the_list(
    page: Page, console_stack: Stack, shots: Path
) -> None:
    console_stack.need("notifier")
    assert console_stack.sms is not None
    sign_in(page, console_stack)
    complaint_id, number = record(page, console_stack)
    # The gateway refuses the next message for good (HTTP 400: permanent, no retry).
    httpx.post(f"{console_stack.sms.url}/control/fail", json={"count": 1, "status": 400})
    page.goto(f"{console_stack.console}/pengaduan/{complaint_id}")
    expect(page.locator("#register-number")).to_have_text(number)
    contact = page.locator("#contact-form")
    contact.get_by_label(label("Nomor HP pemantauan")).fill(f"0812 {uuid.uuid4().int % 10**8:08d}")
    contact.get_by_role("button", name="Simpan").click()
    expect(contact.locator("[data-status]")).to_have_text(re.compile("Tersimpan"))
    expect(page.locator("#timeline li.failed")).to_contain_text("Notifikasi gagal", timeout=30_000)

    page.goto(f"{console_stack.console}/daftar")
    page.get_by_label("Hanya notifikasi gagal").check()
    page.get_by_role("button", name="Saring").click()
    row = page.locator("#complaints tbody tr").filter(has_text=number)
    expect(row).to_have_count(1)
    expect(row).to_have_class(re.compile("row-failed"))
    expect(row).to_contain_text("GAGAL")
    page.get_by_label("Hanya notifikasi gagal").uncheck()
    page.get_by_role("button", name="Saring").click()
    expect(page.locator("#list-status")).to_contain_text("Jumlah")
    expect(page.locator("#complaints tbody tr")).not_to_have_count(1)  # all again, not just failed
    expect(page.locator("#complaints tbody tr.row-failed").filter(has_text=number)).to_be_visible()
    page.screenshot(path=str(shots / "03-list.png"), full_page=True)


def test_amendments_after_save_reach_the_timeline(page: Page, console_stack: Stack) -> None:
    sign_in(page, console_stack)
    complaint_id, number = record(page, console_stack)
    page.goto(f"{console_stack.console}/pengaduan/{complaint_id}")
    expect(page.locator("#register-number")).to_have_text(number)
    # Staff pages address the complaint by its register number once known (issue 20).
    written: list[str] = []
    page.on("request", lambda r: written.append(r.url) if r.method in ("POST", "PUT") else None)

    employees = page.locator("#employees-form")
    employees.get_by_label(label("Nama pegawai / pejabat")).fill("Siti Nurhaliza")
    employees.get_by_label(label("NIP (18 digit)")).fill("123")
    employees.get_by_role("button", name="Simpan").click()
    expect(employees.locator("#employees-0-nip-error")).to_be_visible()  # the API's message
    employees.get_by_label(label("NIP (18 digit)")).fill("198001012005011002")
    employees.get_by_role("button", name="Simpan").click()
    expect(employees.locator("[data-status]")).to_have_text(re.compile("Tersimpan"))

    supplement = page.locator("#supplement-form")
    supplement.get_by_role("radio", name="Ralat").check()
    supplement.get_by_label(label("Bagian yang diralat")).select_option("where")
    supplement.get_by_label(label("Isi tambahan / ralat")).fill("Ruang tunggu Terminal 2, bukan 3.")
    supplement.get_by_label(label("Alasan ralat")).fill("Pengadu mengoreksi lokasi kejadian.")
    supplement.get_by_role("button", name="Simpan").click()
    expect(supplement.locator("[data-status]")).to_have_text(re.compile("Tersimpan"))

    told = page.locator("#communication-form")
    told.get_by_role("radio", name="Pengadu tidak dapat dihubungi").check()
    told.get_by_label(label("Alasan")).select_option("not_answering")
    told.get_by_role("button", name="Simpan").click()
    expect(told.locator("[data-status]")).to_have_text(re.compile("Tersimpan"))

    recorded = page.locator("#recorded")
    expect(recorded).to_contain_text("Siti Nurhaliza", timeout=30_000)
    expect(recorded).to_contain_text("Ruang tunggu Terminal 2")
    expect(page.locator("#timeline")).to_contain_text("Pengadu tidak dapat dihubungi")
    amendments = [u for u in written if "/supplements" in u or "/reported-employees" in u]
    assert amendments and all("/v1/complaints/by-number/" in u for u in amendments), amendments


def test_a_landline_as_tracking_mobile_costs_neither_complaint_nor_email(
    page: Page, console_stack: Stack, mail_inbox: MailInbox, shots: Path
) -> None:
    """Issue 12 part 4: the SMS is refused with its reason, the complaint is saved, the e-mail
    is kept and the ticket e-mail is sent; on the complaint page a toll-free number is named
    as such under the mobile field while the e-mail is saved."""
    console_stack.need("notifier")
    sign_in(page, console_stack)
    page.goto(f"{console_stack.console}/baru")
    address = f"pengadu-{uuid.uuid4().hex[:10]}@example.co.id"
    fill_complaint(page, tracking_email=address, tracking_mobile="021 555 1234")
    page.get_by_role("button", name="Simpan").click()
    expect(page.locator("#register-number")).to_have_text(NUMBER, timeout=30_000)
    number = page.locator("#register-number").inner_text()
    notice = page.locator("#result-contact")
    expect(notice).to_be_visible()
    expect(notice).to_have_class(re.compile(r"\bwarn\b"))
    expect(notice).to_contain_text("Nomor tiket akan dikirim lewat e-mail.")
    expect(notice).to_contain_text("SMS ditolak")
    expect(notice).to_contain_text("telepon rumah/kantor")
    fix = page.get_by_role("link", name="Perbaiki kontak pemantauan pada halaman pengaduan")
    expect(fix).to_be_visible()
    page.screenshot(path=str(shots / "07-contact-refused.png"))

    mails = mail_inbox.wait_for(address, timeout=60)
    assert mails, f"no ticket e-mail reached {address}"
    text = mails[0].get("Text") or mails[0].get("HTML") or ""
    assert TICKET.search(text) and number in text

    fix.click()
    expect(page.locator("#register-number")).to_have_text(number)
    contact = page.locator("#contact-form")
    contact.get_by_label(label("E-mail pemantauan")).fill(address)
    contact.get_by_label(label("Nomor HP pemantauan")).fill("0800 1234 567")
    contact.get_by_role("button", name="Simpan").click()
    status = contact.locator("[data-status]")
    expect(status).to_contain_text("Nomor tiket akan dikirim lewat e-mail.")
    expect(status).to_contain_text("bebas pulsa")
    mobile_error = contact.locator("#con-mobile-error")
    expect(mobile_error).to_be_visible()
    expect(mobile_error).to_contain_text("bebas pulsa")
    expect(contact.get_by_label(label("Nomor HP pemantauan"))).to_have_attribute(
        "aria-invalid", "true"
    )
    expect(contact.locator("#con-email-error")).to_be_hidden()
    contact.screenshot(path=str(shots / "08-contact-toll-free.png"))
    assert page.js_errors == []  # type: ignore[attr-defined]


def test_staff_search_act_by_number_and_export(
    page: Page, console_stack: Stack, tmp_path: Path
) -> None:
    """Issue 20: compliance staff find a complaint by part of its number typed in lower case,
    act on it by register number (forward with destination and reference, undo as supervisor)
    and download the search as a CSV that opens in Excel."""
    roles = (Role.RECEIVER, Role.COMPLIANCE, Role.SUPERVISOR)
    sign_in(page, console_stack, roles)
    _, number = record(page, console_stack)
    page.goto(f"{console_stack.console}/staf")
    search = page.locator("#search-form")
    search.get_by_label(label("Nomor register (sebagian)")).fill(number[-13:].lower())
    search.get_by_role("button", name="Cari").click()
    result = page.locator("#results tbody tr").filter(has_text=number)
    expect(result).to_have_count(1, timeout=30_000)
    result.get_by_role("button", name=number).click()
    expect(page.locator("#panel-number")).to_contain_text(number)

    status = page.locator("#status-form")
    status.get_by_label(label("Status")).select_option("forwarded")
    status.get_by_label(label("Catatan")).fill("Di luar kewenangan unit.")
    status.get_by_label(label("Tujuan penerusan")).select_option("ITJEN-KEMENKEU")
    status.get_by_label(label("Nomor surat/referensi")).fill("S-12/KPU.01/2026")
    status.get_by_role("button", name="Simpan").click()
    history = page.locator("#history")
    expect(history).to_contain_text("S-12/KPU.01/2026", timeout=30_000)

    undo = page.locator("#correction-form")
    undo.get_by_label(label("Alasan")).fill("Salah pilih status.")
    undo.get_by_role("button", name="Batalkan perubahan terakhir (supervisor)").click()
    expect(history).to_contain_text("Dibatalkan", timeout=30_000)
    expect(page.locator("#panel-number")).to_contain_text("Tercatat")

    with page.expect_download() as waiting:
        page.get_by_role("button", name="Unduh CSV (Excel)").click()
    download = waiting.value
    assert download.suggested_filename.startswith(
        "pengaduan"
    ) and download.suggested_filename.endswith(".csv")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    content = saved.read_bytes()
    assert content.startswith(b"\xef\xbb\xbf") and number.encode() in content
    assert page.js_errors == []  # type: ignore[attr-defined]
