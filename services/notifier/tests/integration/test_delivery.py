"""Both channels on the real SMTP server and HTTP SMS sink, content in Indonesian and English,
outcomes on the real Kafka, and one message per ticket and channel however often it comes."""

from __future__ import annotations

import uuid

import pytest

from services.notifier.tests.support import (
    OFFICE_NAME,
    TRACKING_URL,
    address,
    all_consumed,
    inbox_messages,
    inbox_wait,
    mobile,
    outcomes,
    publish_tickets,
    settle,
    ticket,
)
from sipuma.notifier.domain import delivery_id
from sipuma.notifier.main import build
from sipuma.notifier.messages import fits_one_segment
from sipuma.shared.events import NotificationSent
from sipuma.shared.payloads import Language

pytestmark = pytest.mark.integration


async def test_both_channels_delivered_in_indonesian_by_default(
    settings, deliveries, mail_inbox, sms_inbox
):
    email, number = address(), mobile()
    event = ticket(email, number)
    async with build(settings).running():
        await publish_tickets(settings, event)
        mails = await inbox_wait(mail_inbox, email)
        texts = await inbox_wait(sms_inbox, number)
        sent = await outcomes(settings, "sent", 2)

    assert len(mails) == 1
    mail = mails[0]
    assert mail["Subject"] == "Nomor tiket pengaduan Anda - SIPUMA Bea Cukai"
    body = mail["Text"]
    for expected in (event.ticket_number, event.register_number, OFFICE_NAME, TRACKING_URL):
        assert expected in body
    assert "Yth. Pengadu" in body and "jangan berikan kepada orang lain" in body
    assert number not in body and "Dear" not in body

    assert len(texts) == 1
    sms = texts[0]["message"]
    assert event.ticket_number in sms and TRACKING_URL in sms and "Tiket pengaduan Anda" in sms
    assert fits_one_segment(sms), (len(sms), sms)
    assert email not in sms

    assert sorted(e.channel for e in sent) == ["email", "sms"]
    assert all(isinstance(e, NotificationSent) and e.attempts == 1 for e in sent)
    assert {e.ticket_event_id for e in sent} == {event.event_id}
    assert {e.complaint_id for e in sent} == {event.complaint_id}

    stored = {d["_id"]: d async for d in deliveries.find({})}
    assert set(stored) == {
        delivery_id(event.ticket_number, "email"),
        delivery_id(event.ticket_number, "sms"),
    }
    for doc in stored.values():
        assert doc["state"] == "sent" and doc["attempts"] == 1
        assert "job" not in doc, "personal data is dropped once the delivery is final"
        assert doc["outbox_pending"] is False
    assert stored[delivery_id(event.ticket_number, "sms")]["provider_message_id"] == texts[0]["id"]


async def test_english_on_request(settings, deliveries, mail_inbox, sms_inbox):
    email, number = address(), mobile()
    english = ticket(email, number)
    event = english.model_copy(
        update={"contact": english.contact.model_copy(update={"language": Language.EN})}
    )
    async with build(settings).running():
        await publish_tickets(settings, event)
        mails = await inbox_wait(mail_inbox, email)
        texts = await inbox_wait(sms_inbox, number)
        await outcomes(settings, "sent", 2)

    assert len(mails) == 1 and len(texts) == 1
    assert mails[0]["Subject"] == "Your complaint ticket number - SIPUMA Customs"
    body = mails[0]["Text"]
    assert "Dear complainant" in body and event.ticket_number in body
    assert event.register_number in body and TRACKING_URL in body
    sms = texts[0]["message"]
    assert sms.startswith("Customs (DJBC): your complaint ticket number is " + event.ticket_number)
    assert fits_one_segment(sms)


async def test_only_the_channels_given(settings, deliveries, sms_inbox):
    number = mobile()
    event = ticket(None, number)
    async with build(settings).running():
        await publish_tickets(settings, event)
        assert len(await inbox_wait(sms_inbox, number)) == 1
        await settle(deliveries, 1)
        sent = await outcomes(settings, "sent")
    assert [e.channel for e in sent] == ["sms"]
    assert await deliveries.count_documents({}) == 1


async def test_same_ticket_twice_gives_one_message_per_channel(
    settings, deliveries, mail_inbox, sms_inbox
):
    email, number = address(), mobile()
    event = ticket(email, number)
    # The same event redelivered, and the same ticket re-announced under a new event id.
    again = event.model_copy(update={"event_id": uuid.uuid4()})
    async with build(settings).running() as runtime:
        await publish_tickets(settings, event, event)
        await publish_tickets(settings, again)
        await inbox_wait(mail_inbox, email)
        await inbox_wait(sms_inbox, number)
        await all_consumed(settings)  # all three events handled
        await settle(deliveries, 2)
        sent = await outcomes(settings, "sent")
        # Even a direct second call (a second replica that got the event) has nothing to send.
        assert await runtime.notifier.receive(event) == []

    assert len(await inbox_messages(mail_inbox, email)) == 1
    assert len(await inbox_messages(sms_inbox, number)) == 1
    assert sorted(e.channel for e in sent) == ["email", "sms"]
    assert await deliveries.count_documents({}) == 2
