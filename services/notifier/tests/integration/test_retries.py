"""Transient failures are retried with backoff until delivered exactly once; permanent ones are
not retried and are reported. Real servers: a throwaway aiosmtpd and our own SMS-sink process on
free ports (the shared ones are never stopped or made to fail)."""

from __future__ import annotations

import email
import email.policy
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from services.notifier.tests.support import (
    address,
    inbox_messages,
    mobile,
    outcomes,
    publish_tickets,
    settings_for,
    settle,
    ticket,
)
from sipuma.notifier.domain import ClaimLost, delivery_id
from sipuma.notifier.main import build
from sipuma.notifier.ports import OutgoingEmail, OutgoingSms
from sipuma.notifier.senders import JsonSmsGateway, SmtpEmailSender
from sipuma.shared.events import NotificationFailed
from sipuma.shared.payloads import NotificationFailure
from tests.harness.ports import free_port
from tests.harness.sinks import sms_sink
from tests.harness.state import eventually

pytestmark = pytest.mark.integration


class ScriptedSmtp:
    """aiosmtpd handler: records what it accepts; `rcpt_replies[address]` answers RCPT first."""

    def __init__(self) -> None:
        self.accepted: list[tuple[list[str], bytes]] = []
        self.rcpt_replies: dict[str, list[str]] = {}
        self.rcpt_seen: dict[str, int] = {}

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, addr: str, options: Any):
        self.rcpt_seen[addr] = self.rcpt_seen.get(addr, 0) + 1
        script = self.rcpt_replies.get(addr)
        if script:
            return script.pop(0)
        envelope.rcpt_tos.append(addr)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.accepted.append((list(envelope.rcpt_tos), envelope.original_content or b""))
        return "250 Message accepted"

    def to(self, addr: str) -> list[bytes]:
        return [raw for rcpts, raw in self.accepted if addr in rcpts]


async def test_smtp_down_then_up_delivers_exactly_once(
    endpoints, unique_name, deliveries, settings
):
    port = free_port()
    settings = settings_for(endpoints, settings.consumer_group, smtp_port=port)
    recipient = address()
    event = ticket(recipient)
    key = delivery_id(event.ticket_number, "email")
    smtp = ScriptedSmtp()
    controller = Controller(smtp, hostname="127.0.0.1", port=port)

    async def retried_twice() -> bool:
        doc = await deliveries.find_one({"_id": key})
        return bool(doc and doc["attempts"] >= 2 and doc["state"] == "pending")

    async with build(settings).running():
        await publish_tickets(settings, event)  # nothing listens on the port: refused
        await eventually("the refused attempts are scheduled as retries", retried_twice)
        doc = await deliveries.find_one({"_id": key})
        assert doc["last_error"]["kind"] == "transient"
        controller.start()  # the server comes back
        try:
            await settle(deliveries, 1)
            sent = await outcomes(settings, "sent")
            doc = await deliveries.find_one({"_id": key})
        finally:
            controller.stop()

    assert len(smtp.to(recipient)) == 1
    assert doc["state"] == "sent" and doc["attempts"] >= 3
    assert len(sent) == 1 and sent[0].attempts == doc["attempts"]
    mail = email.message_from_bytes(smtp.to(recipient)[0], policy=email.policy.default)
    assert event.ticket_number in mail.get_content()
    assert mail["Message-ID"] == f"<{key.replace(':', '-')}@sipuma.beacukai.go.id>"


async def test_smtp_4xx_is_retried_and_5xx_is_permanent(endpoints, deliveries, settings):
    port = free_port()
    settings = settings_for(endpoints, settings.consumer_group, smtp_port=port)
    busy, unknown = address("busy"), address("unknown")
    smtp = ScriptedSmtp()
    smtp.rcpt_replies[busy] = ["451 4.3.0 Try again later", "452 4.2.2 Mailbox full for now"]
    smtp.rcpt_replies[unknown] = ["550 5.1.1 No such mailbox"] * 5
    first, second = ticket(busy), ticket(unknown)
    controller = Controller(smtp, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        async with build(settings).running():
            await publish_tickets(settings, first, second)
            await settle(deliveries, 2)
            sent = await outcomes(settings, "sent")
            failed = await outcomes(settings, "failed")
    finally:
        controller.stop()

    assert len(smtp.to(busy)) == 1 and smtp.rcpt_seen[busy] == 3
    assert sent[0].attempts == 3 and sent[0].ticket_event_id == first.event_id
    assert smtp.to(unknown) == [] and smtp.rcpt_seen[unknown] == 1, "a 5xx is not retried"
    assert len(failed) == 1
    outcome = failed[0]
    assert isinstance(outcome, NotificationFailed)
    assert outcome.reason is NotificationFailure.INVALID_RECIPIENT
    assert outcome.final and outcome.attempts == 1 and outcome.channel == "email"
    assert unknown not in (outcome.detail or "")
    doc = await deliveries.find_one({"_id": delivery_id(second.ticket_number, "email")})
    assert doc["state"] == "failed" and "job" not in doc


async def test_gateway_500_then_200_delivers_once(endpoints, deliveries, settings, tmp_path):
    with sms_sink(tmp_path) as url:
        settings = settings_for(endpoints, settings.consumer_group, sms_gateway_url=f"{url}/sms")
        httpx.post(f"{url}/control/fail", json={"count": 2, "status": 500})
        number = mobile()
        event = ticket(None, number)
        async with build(settings).running():
            await publish_tickets(settings, event)
            await settle(deliveries, 1)
            sent = await outcomes(settings, "sent")
        messages = [m for m in httpx.get(f"{url}/messages").json()["messages"] if m["to"] == number]

    assert len(messages) == 1
    assert event.ticket_number in messages[0]["message"]
    reference = delivery_id(event.ticket_number, "sms").replace(":", "-")
    assert messages[0]["idempotency_key"] == reference
    assert len(sent) == 1 and sent[0].attempts == 3
    key = delivery_id(event.ticket_number, "sms")
    doc = await deliveries.find_one({"_id": key})
    assert doc["state"] == "sent" and doc["provider_message_id"] == messages[0]["id"]
    lines = doc["history"]
    assert [(h["attempt"], h["outcome"], h["by"]) for h in lines] == [
        (1, "retry", "owner"),
        (2, "retry", "owner"),
        (3, "sent", "owner"),
    ], "one append-only line per decided attempt"
    assert [h.get("error", {}).get("detail") for h in lines[:2]] == ["HTTP 500", "HTTP 500"]
    assert lines[2]["provider_message_id"] == messages[0]["id"]
    assert number not in str(lines) and event.ticket_number not in str(lines)


@pytest.mark.parametrize("status", [429, 503])
async def test_gateway_throttling_and_unavailable_are_transient(
    endpoints, deliveries, settings, tmp_path, status
):
    with sms_sink(tmp_path) as url:
        settings = settings_for(endpoints, settings.consumer_group, sms_gateway_url=f"{url}/sms")
        httpx.post(f"{url}/control/fail", json={"count": 1, "status": status})
        number = mobile()
        async with build(settings).running():
            await publish_tickets(settings, ticket(None, number))
            await settle(deliveries, 1)
            sent = await outcomes(settings, "sent")
        messages = [m for m in httpx.get(f"{url}/messages").json()["messages"] if m["to"] == number]
    assert len(messages) == 1 and len(sent) == 1 and sent[0].attempts == 2


async def test_gateway_400_fails_without_retry_and_is_reported(
    endpoints, deliveries, settings, tmp_path
):
    with sms_sink(tmp_path) as url:
        settings = settings_for(endpoints, settings.consumer_group, sms_gateway_url=f"{url}/sms")
        httpx.post(f"{url}/control/fail", json={"count": 1, "status": 400})
        number = mobile()
        event = ticket(None, number)
        async with build(settings).running():
            await publish_tickets(settings, event)
            # final: no attempt can follow; published: both topics read to their end are complete
            await settle(deliveries, 1)
            failed = await outcomes(settings, "failed")
            sent = await outcomes(settings, "sent")
        messages = [m for m in httpx.get(f"{url}/messages").json()["messages"] if m["to"] == number]

    assert messages == [], "no second attempt reached the gateway"
    assert sent == []
    assert len(failed) == 1
    outcome = failed[0]
    assert isinstance(outcome, NotificationFailed)
    assert outcome.channel == "sms" and outcome.attempts == 1 and outcome.final
    assert outcome.reason is NotificationFailure.REJECTED
    assert outcome.detail == "HTTP 400"
    assert outcome.ticket_event_id == event.event_id
    doc = await deliveries.find_one({"_id": delivery_id(event.ticket_number, "sms")})
    assert doc["state"] == "failed" and doc["attempts"] == 1 and "job" not in doc


async def test_retries_exhausted_are_reported(endpoints, deliveries, settings, tmp_path):
    with sms_sink(tmp_path) as url:
        settings = settings_for(
            endpoints, settings.consumer_group, sms_gateway_url=f"{url}/sms", retry_max_attempts=3
        )
        httpx.post(f"{url}/control/fail", json={"count": 10, "status": 502})
        async with build(settings).running():
            await publish_tickets(settings, ticket(None, mobile()))
            failed = await outcomes(settings, "failed", 1)
    assert len(failed) == 1
    assert failed[0].reason is NotificationFailure.RETRIES_EXHAUSTED and failed[0].attempts == 3


async def test_invalid_number_is_permanent_without_calling_the_gateway(
    endpoints, deliveries, settings, sms_inbox
):
    number = "+62800000000"  # passes the contract's shape check; not a valid mobile number
    event = ticket(None, number)
    async with build(settings).running():
        await publish_tickets(settings, event)
        failed = await outcomes(settings, "failed", 1)
    assert failed[0].reason is NotificationFailure.INVALID_RECIPIENT
    assert failed[0].attempts == 1
    assert number not in (failed[0].detail or "")
    assert await inbox_messages(sms_inbox, number) == []


async def test_nothing_reaches_the_servers_when_the_commit_is_refused(tmp_path):
    """Senders call `commit()` right before the irreversible step (SMTP DATA, the HTTP request);
    a refused commit (the attempt was released meanwhile) sends nothing."""

    async def refused() -> None:
        raise ClaimLost("x")

    port = free_port()
    smtp = ScriptedSmtp()
    controller = Controller(smtp, hostname="127.0.0.1", port=port)
    controller.start()
    recipient = address()
    try:
        sender = SmtpEmailSender("127.0.0.1", port, sender="no-reply@sipuma.beacukai.go.id")
        with pytest.raises(ClaimLost):
            await sender.send(OutgoingEmail(recipient, "S", "T", None, "id", "r-1"), refused)
        receipt = await sender.send(OutgoingEmail(recipient, "S", "T", None, "id", "r-2"))
    finally:
        controller.stop()
    assert smtp.rcpt_seen[recipient] == 2 and len(smtp.to(recipient)) == 1
    assert receipt.message_id == "<r-2@sipuma.beacukai.go.id>"

    with sms_sink(tmp_path) as url:
        async with httpx.AsyncClient() as client:
            gateway = JsonSmsGateway(f"{url}/sms", client)
            with pytest.raises(ClaimLost):
                await gateway.send(OutgoingSms("+6281234567890", "T", "r-3"), refused)
        assert httpx.get(f"{url}/messages").json()["messages"] == []


class CountingEhlo(ScriptedSmtp):
    def __init__(self) -> None:
        super().__init__()
        self.sessions = 0

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str, responses):
        self.sessions += 1
        session.host_name = hostname  # aiosmtpd: a handle_EHLO hook sets it itself
        return responses


async def test_smtp_connections_are_pooled_and_a_dropped_one_is_replaced():
    """Several messages share one connection (one EHLO); when the server went away meanwhile
    (a restart, an idle timeout), the next message notices at MAIL — before anything is sent —
    and goes out on a new connection instead of failing."""
    port = free_port()
    smtp = CountingEhlo()
    controller = Controller(smtp, hostname="127.0.0.1", port=port)
    controller.start()
    sender = SmtpEmailSender("127.0.0.1", port, sender="no-reply@sipuma.beacukai.go.id")
    recipients = [address("pool") for _ in range(6)]
    try:
        for n, to in enumerate(recipients[:5]):
            await sender.send(OutgoingEmail(to, "S", "T", None, "id", f"r-{n}"))
        assert smtp.sessions == 1, "one connection for five messages"
        controller.stop()  # the server goes away: the pooled connection is dead
        controller = Controller(smtp, hostname="127.0.0.1", port=port)
        controller.start()
        await sender.send(OutgoingEmail(recipients[5], "S", "T", None, "id", "r-5"))
    finally:
        await sender.aclose()
        controller.stop()
    assert [len(smtp.to(to)) for to in recipients] == [1] * 6
    assert smtp.sessions == 2


async def test_the_gateway_sink_honours_the_idempotency_key(tmp_path):
    """The generic gateway contract the resend after a crash relies on, as the local sink (and
    gateways that accept the header) implement it: a repeated key sends nothing and answers the
    first id; the same key for another message is refused; no key, no deduplication."""
    with sms_sink(tmp_path) as url:
        body = {"to": "+6281234567890", "message": "Tiket Anda: AB12"}
        key = {"Idempotency-Key": "sms-abc"}
        first = httpx.post(f"{url}/sms", json=body, headers=key)
        again = httpx.post(f"{url}/sms", json=body, headers=key)
        other = httpx.post(f"{url}/sms", json={**body, "message": "lain"}, headers=key)
        plain = [httpx.post(f"{url}/sms", json=body) for _ in range(2)]
        inbox = httpx.get(f"{url}/messages").json()
    assert first.status_code == 202 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.json()["replayed"] is True
    assert other.status_code == 422
    assert all(p.status_code == 202 for p in plain)
    assert len(inbox["messages"]) == 3 and inbox["replays"] == 1
