"""Provider adapters' wire shape, against httpx's mock transport (the real sink is used by the
integration tests; the Zenziva-shaped API has no local server)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import httpx
import pytest

from sipuma.notifier.ports import OutgoingEmail, OutgoingSms
from sipuma.notifier.retry import DeliveryError, Kind
from sipuma.notifier.senders import JsonSmsGateway, SmtpEmailSender, ZenzivaSmsGateway
from sipuma.shared.payloads import NotificationFailure

pytestmark = pytest.mark.unit
SMS = OutgoingSms("+6281234567890", "Nomor tiket ...", "sms-abc")


def client(handler) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def test_json_gateway_sends_json_with_idempotency_key_and_token():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["body"] = json.loads(request.content)
        seen["headers"] = request.headers
        return httpx.Response(202, json={"id": "m-1", "status": "queued"})

    receipt = await JsonSmsGateway("http://gw/sms", client(handler), api_key="k").send(SMS)
    assert receipt.message_id == "m-1" and receipt.provider == "http-json"
    assert seen["body"] == {
        "to": "+6281234567890",
        "message": "Nomor tiket ...",
        "reference": "sms-abc",
    }
    assert seen["headers"]["Idempotency-Key"] == "sms-abc"
    assert seen["headers"]["Authorization"] == "Bearer k"


@pytest.mark.parametrize(
    ("status", "kind"), [(503, Kind.TRANSIENT), (429, Kind.TRANSIENT), (400, Kind.PERMANENT)]
)
async def test_json_gateway_classifies_http_status(status, kind):
    gateway = JsonSmsGateway("http://gw/sms", client(lambda r: httpx.Response(status)))
    with pytest.raises(DeliveryError) as caught:
        await gateway.send(SMS)
    assert caught.value.kind is kind


async def test_zenziva_shape_form_fields_and_success():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["form"] = parse_qs(request.content.decode())
        return httpx.Response(
            200, json={"messageId": "z-9", "to": "6281234567890", "status": "1", "text": "Success"}
        )

    gateway = ZenzivaSmsGateway(
        "https://zenziva/api/sendsms/", client(handler), user_key="u", pass_key="p"
    )
    receipt = await gateway.send(SMS)
    assert receipt.message_id == "z-9" and receipt.provider == "zenziva"
    assert seen["form"] == {
        "userkey": ["u"],
        "passkey": ["p"],
        "to": ["6281234567890"],
        "message": ["Nomor tiket ..."],
    }


@pytest.mark.parametrize(
    ("text", "kind", "reason"),
    [
        ("Nomor tujuan tidak valid", Kind.PERMANENT, NotificationFailure.INVALID_RECIPIENT),
        ("Saldo tidak cukup", Kind.TRANSIENT, NotificationFailure.UNAVAILABLE),
        ("Pesan ditolak", Kind.PERMANENT, NotificationFailure.REJECTED),
    ],
)
async def test_zenziva_status_zero_is_classified(text, kind, reason):
    answer = {"messageId": "", "to": "6281234567890", "status": "0", "text": text}
    gateway = ZenzivaSmsGateway(
        "https://z/", client(lambda r: httpx.Response(200, json=answer)), user_key="u", pass_key="p"
    )
    with pytest.raises(DeliveryError) as caught:
        await gateway.send(SMS)
    assert caught.value.kind is kind and caught.value.reason is reason
    assert "628" not in caught.value.detail


def test_smtp_message_headers():
    sender = SmtpEmailSender(
        "h", 25, sender="no-reply@sipuma.beacukai.go.id", sender_name="SIPUMA Bea Cukai"
    )
    mail = sender.build(OutgoingEmail("a@example.com", "Subjek", "Isi", None, "id", "email-abc"))
    assert mail["Message-ID"] == "<email-abc@sipuma.beacukai.go.id>"
    assert mail["Content-Language"] == "id" and mail["Auto-Submitted"] == "auto-generated"
    assert mail["From"] == "SIPUMA Bea Cukai <no-reply@sipuma.beacukai.go.id>"
