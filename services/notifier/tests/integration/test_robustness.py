"""Poison messages, racing replicas, crashes mid-attempt, SIGKILL mid-batch and SIGTERM."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.notifier.tests.support import (
    TRACKING_URL,
    NotifierProcess,
    address,
    all_consumed,
    encoded,
    inbox_messages,
    inbox_wait,
    mobile,
    outcomes,
    publish_raw,
    publish_tickets,
    records,
    settings_for,
    settle,
    ticket,
    ticket_topic,
)
from sipuma.notifier.domain import CLAIMED, SENDING, UNKNOWN_DETAIL, delivery_id
from sipuma.notifier.main import build
from sipuma.notifier.messages import MessageRenderer, TicketFacts
from sipuma.shared import topics
from sipuma.shared.offices import OfficeDirectory
from sipuma.shared.payloads import NotificationFailure
from tests.harness.sinks import sms_sink
from tests.harness.state import eventually

pytestmark = pytest.mark.integration


async def test_poison_message_goes_to_dead_letter_and_consumer_goes_on(
    settings, deliveries, sms_inbox
):
    good_number = mobile()
    good = ticket(None, good_number)
    key, body, headers = encoded(ticket(None, mobile()))
    poison = [
        (b"x", b"\xff not json at all", headers),  # headers fine, body garbage
        (key, body, [h for h in headers if h[0] != "ce_type"]),  # a CloudEvents header missing
    ]
    async with build(settings).running():
        await publish_raw(settings.kafka_bootstrap, ticket_topic(settings), poison)
        await publish_tickets(settings, good)
        assert len(await inbox_wait(sms_inbox, good_number)) == 1
        dead = await records(
            settings.kafka_bootstrap,
            settings.topic(topics.dead_letter_topic(settings.consumer_group)),
            2,
        )
    # Two keys, two partitions of the dead-letter topic: compare without order.
    found = {dict(r.headers)["x-sipuma-dead-letter-reason"]: r.value for r in dead}
    assert found == {b"invalid_payload": b"\xff not json at all", b"missing_headers": body}
    assert await deliveries.count_documents({}) == 1


async def test_two_replicas_racing_for_one_delivery_send_once(
    endpoints, settings, deliveries, tmp_path
):
    """Two notifiers (own owners, own clients) on the same delivery log get the same ticket at
    once, twice each: one records it, and of all four attempting it, one sends. (Not started:
    no consumer, no dispatcher, only the use cases; their outcome events wait in the log.)"""
    with sms_sink(tmp_path) as url:
        settings = settings_for(endpoints, settings.consumer_group, sms_gateway_url=f"{url}/sms")
        a, b = build(settings), build(settings)
        event = ticket(None, mobile())
        try:
            await a.deliveries.ensure_indexes()
            recorded = await asyncio.gather(*(r.notifier.receive(event) for r in (a, b, a, b)))
            [delivery] = [d for new in recorded for d in new]
            await asyncio.gather(*(r.notifier.attempt(delivery) for r in (a, b, a, b)))
        finally:
            for runtime in (a, b):
                await runtime.stop()
        inbox = httpx.get(f"{url}/messages").json()
    # the sink folds a repeated Idempotency-Key: a second send would show as a replay
    assert [m["to"] for m in inbox["messages"]] == [event.contact.mobile]
    assert inbox["replays"] == 0
    doc = await deliveries.find_one({"_id": delivery_id(event.ticket_number, "sms")})
    assert doc["state"] == "sent" and doc["attempts"] == 1


async def _crashed_mid_attempt(deliveries: Any, event: Any, channel: str, number: str) -> str:
    """The log as a replica leaves it when it dies during the provider call."""
    key = delivery_id(event.ticket_number, channel)
    past = datetime.now(UTC) - timedelta(minutes=5)
    await deliveries.insert_one(
        {
            "_id": key,
            "channel": channel,
            "state": SENDING,
            "attempts": 1,
            "owner": "dead-replica",
            "lease_until": past,
            "next_attempt_at": past,
            "created_at": past,
            "updated_at": past,
            "ticket_event_id": str(event.event_id),
            "complaint_id": str(event.complaint_id),
            "office_code": event.office_code,
            "correlation_id": event.correlation_id,
            "language": "id",
            "job": {
                "address": number,
                "ticket_number": event.ticket_number,
                "register_number": event.register_number,
            },
            "outbox_pending": False,
        }
    )
    return key


async def test_unknown_outcome_is_reported_not_resent_when_configured(
    endpoints, settings, deliveries, sms_inbox
):
    """`report` (the default only for SMS providers without an idempotency key): not resent,
    a final NotificationFailed ("outcome unknown") is published instead."""
    settings = settings_for(endpoints, settings.consumer_group, unknown_outcome_sms="report")
    number = mobile()
    event = ticket(None, number)
    key = await _crashed_mid_attempt(deliveries, event, "sms", number)
    async with build(settings).running():
        failed = await outcomes(settings, "failed", 1)
        await publish_tickets(settings, event)  # the redelivered event does not resend either
        await all_consumed(settings)  # the redelivery was handled
    assert failed[0].reason is NotificationFailure.OTHER and failed[0].detail == UNKNOWN_DETAIL
    assert failed[0].final and failed[0].ticket_event_id == event.event_id
    assert await inbox_messages(sms_inbox, number) == []
    doc = await deliveries.find_one({"_id": key})
    assert doc["state"] == "failed" and "job" not in doc


async def test_unknown_outcome_resent_by_default_and_the_gateway_folds_it(
    endpoints, settings, deliveries, tmp_path
):
    """The owner died right after the gateway accepted the SMS: recovery sends it again with
    the same Idempotency-Key, and the gateway answers with the first message's id instead of
    sending a second SMS. Exactly one SMS, recorded as sent."""
    with sms_sink(tmp_path) as url:
        settings = settings_for(endpoints, settings.consumer_group, sms_gateway_url=f"{url}/sms")
        number = mobile()
        event = ticket(None, number)
        key = await _crashed_mid_attempt(deliveries, event, "sms", number)
        reference = key.replace(":", "-")
        first = httpx.post(  # what the dead owner had sent
            f"{url}/sms",
            json={"to": number, "message": _sms_text(event), "reference": reference},
            headers={"Idempotency-Key": reference},
        ).json()
        async with build(settings).running():
            sent = await outcomes(settings, "sent", 1)
        inbox = httpx.get(f"{url}/messages").json()
    assert [m["to"] for m in inbox["messages"]] == [number] and inbox["replays"] == 1
    assert sent[0].attempts == 2
    doc = await deliveries.find_one({"_id": key})
    assert doc["state"] == "sent" and doc["provider_message_id"] == first["id"]


def _sms_text(event: Any) -> str:
    office = OfficeDirectory.load(None).get(event.office_code)
    facts = TicketFacts(
        ticket_number=event.ticket_number,
        register_number=event.register_number,
        office=office.name if office else event.office_code,
        tracking_url=TRACKING_URL,
    )
    return MessageRenderer().sms(facts, "id")


async def test_unknown_outcome_resent_for_email_with_the_same_message_id(
    endpoints, settings, deliveries, mail_inbox
):
    """E-mail has no idempotency key: the resend carries the same Message-ID (mailbox stores
    that suppress duplicates fold it; the SMTP server itself cannot)."""
    recipient = address()
    event = ticket(recipient, None)
    key = await _crashed_mid_attempt(deliveries, event, "email", recipient)
    async with build(settings).running():
        sent = await outcomes(settings, "sent", 1)
    mails = await inbox_wait(mail_inbox, recipient)
    assert (
        len(mails) == 1
        and mails[0]["MessageID"] == f"<{key.replace(':', '-')}@sipuma.beacukai.go.id>"
    )
    assert sent[0].attempts == 2


async def test_killed_mid_batch_and_restarted_no_duplicates_nothing_missed(
    endpoints, settings, deliveries, mail_inbox, tmp_path
):
    """A real `sipuma-notifier` process, SIGKILLed while working through 40 tickets (80
    deliveries), then started again. Every delivery ends `sent`, with exactly one SMS per number
    (attempts caught inside the gateway call at the kill are resent with the same
    Idempotency-Key, which the gateway folds) and exactly one e-mail Message-ID per address
    (an attempt caught after the SMTP server accepted DATA is sent again with the same
    Message-ID: such retransmissions are counted, never a second, different message)."""
    with sms_sink(tmp_path) as url:
        settings = settings_for(
            endpoints,
            settings.consumer_group,
            sms_gateway_url=f"{url}/sms",
            sms_rate_per_second=15.0,  # ~3 s of work: the kill lands mid-batch
            lease_seconds=3.0,
            smtp_timeout_seconds=2.0,
            sms_timeout_seconds=2.0,
        )
        events = [ticket(address("batch"), mobile()) for _ in range(40)]
        first = NotifierProcess(settings, tmp_path / "notifier.log")
        second = NotifierProcess(settings, tmp_path / "notifier.log")
        try:
            first.start()
            await asyncio.to_thread(first.wait_ready)
            await publish_tickets(settings, *events)

            def texts() -> list[dict[str, Any]]:
                messages: list[dict[str, Any]] = httpx.get(f"{url}/messages").json()["messages"]
                return messages

            async def some_sent() -> bool:
                return len(await asyncio.to_thread(texts)) >= 8

            await eventually("some SMS sent before the kill", some_sent)
            first.kill()
            at_kill = len(texts())
            assert at_kill < len(events), "the kill must land mid-batch"

            second.start()
            await asyncio.to_thread(second.wait_ready)

            async def all_final() -> bool:
                open_: int = await deliveries.count_documents(
                    {"state": {"$nin": ["sent", "failed"]}}
                )
                total: int = await deliveries.count_documents({})
                pending: int = await deliveries.count_documents({"outbox_pending": True})
                return total == 2 * len(events) and open_ == 0 and pending == 0

            try:
                await eventually("every delivery final and published", all_final)
            except AssertionError:
                raise AssertionError(await _open_deliveries(deliveries)) from None
            metrics = httpx.get(f"http://127.0.0.1:{second.port}/metrics").text
            assert 'sipuma_notifier_sent_total{channel="sms",provider="http-json"}' in metrics
            assert second.terminate(), "SIGTERM stops the notifier gracefully"
        finally:
            first.ensure_stopped()
            second.ensure_stopped()
        inbox = httpx.get(f"{url}/messages").json()
        sms_by_number: dict[str, int] = {}
        for message in inbox["messages"]:
            sms_by_number[message["to"]] = sms_by_number.get(message["to"], 0) + 1

    docs = {d["_id"]: d async for d in deliveries.find({})}
    assert {d["state"] for d in docs.values()} == {"sent"}, "nothing reported as unknown"
    # one listing (newest first) for all 40 addresses: the shared sink may hold many messages
    listing = httpx.get(f"{mail_inbox.api}/api/v1/messages", params={"limit": 500}, timeout=60)
    message_ids: dict[str, list[str]] = {}
    for summary in listing.json()["messages"]:
        for to in summary["To"]:
            message_ids.setdefault(to["Address"].lower(), []).append(summary["MessageID"])
    retransmitted = 0
    for event in events:
        email, number = event.contact.email, event.contact.mobile
        assert email is not None and number is not None  # every ticket here has both
        mails = message_ids.get(email.lower(), [])
        key = delivery_id(event.ticket_number, "email")
        assert set(mails) == {f"<{key.replace(':', '-')}@sipuma.beacukai.go.id>"}, (
            f"e-mail for {key}: {len(mails)} copies"
        )
        retransmitted += len(mails) - 1
        assert sms_by_number.get(number, 0) == 1, f"SMS for {event.ticket_number}"
    print(
        f"sms at kill: {at_kill}/{len(events)}; SMS resends folded by the gateway: "
        f"{inbox['replays']}; e-mail retransmissions (same Message-ID): {retransmitted}"
    )
    # Every outcome is on Kafka exactly once per delivery (re-publishing keeps the event id).
    # (all final and published, so reading both topics to their end sees every outcome)
    sent_events = await outcomes(settings, "sent")
    assert len({e.event_id for e in sent_events}) == len(docs)
    assert len({(e.ticket_event_id, e.channel) for e in sent_events}) == len(docs)
    assert await outcomes(settings, "failed") == []


async def _open_deliveries(deliveries: Any) -> str:
    """What is not final, with its attempt history: the failure message of the crash test."""
    lines = []
    async for doc in deliveries.find(
        {"$or": [{"state": {"$nin": ["sent", "failed"]}}, {"outbox_pending": True}]}
    ):
        doc.pop("job", None)
        found = doc.pop("history", [])
        lines.append(f"{doc}\n  attempts: {found}")
    return "\n".join(lines) or "all final"


async def test_sigterm_finishes_in_flight_work(endpoints, settings, deliveries, tmp_path):
    """SIGTERM: the ticket in hand is finished and committed; after a restart nothing is sent
    again (and nothing is left open)."""
    with sms_sink(tmp_path) as url:
        settings = settings_for(
            endpoints, settings.consumer_group, sms_gateway_url=f"{url}/sms", sms_rate_per_second=4
        )
        numbers = [mobile() for _ in range(6)]
        events = [ticket(None, number) for number in numbers]
        proc = NotifierProcess(settings, tmp_path / "notifier.log")
        try:
            proc.start()
            await asyncio.to_thread(proc.wait_ready)
            await publish_tickets(settings, *events)

            async def two_sent() -> bool:
                sent: int = await deliveries.count_documents({"state": "sent"})
                return sent >= 2

            await eventually("two SMS sent", two_sent)
            assert await asyncio.to_thread(proc.terminate), "graceful stop on SIGTERM"
            held = {"state": {"$in": [CLAIMED, SENDING]}}
            assert await deliveries.count_documents(held) == 0, "no attempt left open"
            proc.start()
            await asyncio.to_thread(proc.wait_ready)

            async def all_sent() -> bool:
                sent: int = await deliveries.count_documents({"state": "sent"})
                return sent == len(events)

            await eventually("every SMS sent after the restart", all_sent)
            messages = httpx.get(f"{url}/messages").json()["messages"]
        finally:
            proc.ensure_stopped()
    assert sorted(m["to"] for m in messages) == sorted(numbers)


async def test_outcome_survives_a_kafka_publish_failure(settings, deliveries, sms_inbox):
    """The outcome is in the log before it is published; when publishing fails it stays
    pending there and the dispatcher publishes it later, with the same event id."""
    number = mobile()
    event = ticket(None, number)
    async with build(settings).running() as runtime:
        real_publish = runtime.notifier.publish

        async def kafka_down(_: Any) -> None:
            raise ConnectionError("kafka unreachable")

        runtime.notifier.publish = kafka_down
        await publish_tickets(settings, event)
        key = delivery_id(event.ticket_number, "sms")

        async def recorded_unpublished() -> bool:
            doc = await deliveries.find_one({"_id": key})
            return bool(doc and doc["state"] == "sent" and doc["outbox_pending"])

        await eventually("the outcome recorded, not published", recorded_unpublished)
        runtime.notifier.publish = real_publish
        await settle(deliveries, 1)  # the dispatcher publishes it
        sent = await outcomes(settings, "sent")
        doc = await deliveries.find_one({"_id": key})
    assert len(sent) == 1 and str(sent[0].event_id) == doc["outbox"]["event_id"]
    assert doc["outbox_pending"] is False
    assert len(await inbox_messages(sms_inbox, number)) == 1
