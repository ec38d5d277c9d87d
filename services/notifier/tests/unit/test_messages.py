"""Message content: Indonesian by default, English on request, one SMS segment where possible."""

from __future__ import annotations

import pytest

from sipuma.notifier.messages import MessageRenderer, TicketFacts, fits_one_segment, gsm7_length
from sipuma.shared.offices import OfficeDirectory

pytestmark = pytest.mark.unit

URL = "https://sipuma.beacukai.go.id/lacak"
TICKET = "7KQ2-M9XD-4HBT-0RZC"


def facts(office: str = "KPU Bea dan Cukai Tipe A Tanjung Priok", **changes) -> TicketFacts:
    values = {
        "ticket_number": TICKET,
        "register_number": "PGD/KPUBC-TPK-TJPRIOK/2026/000123",
        "office": office,
        "tracking_url": URL,
    }
    values.update(changes)
    return TicketFacts(**values)


def test_email_in_indonesian_has_ticket_register_office_and_url():
    mail = MessageRenderer().email(facts(), "id")
    assert mail.subject == "Nomor tiket pengaduan Anda - SIPUMA Bea Cukai"
    for expected in (TICKET, "PGD/KPUBC-TPK-TJPRIOK/2026/000123", "Tanjung Priok", URL):
        assert expected in mail.text
    assert "Nomor register" in mail.text and "tidak dipungut biaya" in mail.text


def test_email_in_english():
    mail = MessageRenderer().email(facts(), "en")
    assert mail.subject == "Your complaint ticket number - SIPUMA Customs"
    assert "Register number" in mail.text and TICKET in mail.text and "free of charge" in mail.text


def test_email_without_register_number_leaves_the_line_out():
    mail = MessageRenderer().email(facts(register_number=None), "id")
    assert "Nomor register" not in mail.text and TICKET in mail.text


@pytest.mark.parametrize("language", ["id", "en"])
def test_sms_fits_one_gsm7_segment_for_every_configured_office(language):
    renderer = MessageRenderer()
    for office in OfficeDirectory.default().all():
        register = f"PGD/{office.code}/2026/000123"
        text = renderer.sms(facts(office.name, register_number=register), language)
        assert fits_one_segment(text), (len(text), text)
        assert TICKET in text and URL in text


def test_sms_keeps_office_and_register_when_they_fit():
    text = MessageRenderer().sms(facts("KPPBC Ambon", register_number="A/1"), "id")
    septets = gsm7_length(text)
    assert "(KPPBC Ambon)" in text and "A/1" in text and septets is not None and septets <= 160


def test_sms_drops_details_before_the_ticket_or_url():
    long_url = "https://pengaduan.beacukai.go.id/layanan/pelacakan-status-pengaduan-masyarakat"
    text = MessageRenderer().sms(facts(tracking_url=long_url), "id")
    assert TICKET in text and long_url in text
    assert "Tanjung Priok" not in text


def test_gsm7_counting():
    assert gsm7_length("abc") == 3
    assert gsm7_length("a{b}") == 6  # extension characters take two septets
    assert gsm7_length("Rp 10.000 ✓") is None  # needs UCS-2
    assert fits_one_segment("é" * 160) and not fits_one_segment("✓" * 71)
