"""The SMTP server and the SMS-gateway sink are real network peers that keep what they get."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import httpx
import pytest

from tests.harness.endpoints import Endpoints
from tests.harness.inboxes import MailInbox, SmsInbox

pytestmark = pytest.mark.integration


def test_send_mail_and_read_it_back(endpoints: Endpoints, mail_inbox: MailInbox, unique_name):
    address = f"{unique_name('pengadu')}@example.test"
    msg = EmailMessage()
    msg["From"] = "sipuma@beacukai.example"
    msg["To"] = address
    msg["Subject"] = "Nomor tiket pengaduan Anda"
    msg.set_content("Nomor tiket: ABCD-EFGH-JKLM")
    with smtplib.SMTP(endpoints.smtp_host, endpoints.smtp_port, timeout=10) as smtp:
        smtp.send_message(msg)
    [received] = mail_inbox.wait_for(address)
    assert received["Subject"] == "Nomor tiket pengaduan Anda"
    assert "ABCD-EFGH-JKLM" in received["Text"]


def test_post_sms_and_read_it_back(endpoints: Endpoints, sms_inbox: SmsInbox, unique_name):
    number = "+62812" + str(abs(hash(unique_name("n"))))[:7].ljust(7, "0")
    answer = httpx.post(f"{endpoints.sms_url}/sms", json={"to": number, "message": "Tiket: X"})
    assert answer.status_code == 202
    [received] = sms_inbox.wait_for(number)
    assert received["message"] == "Tiket: X"
