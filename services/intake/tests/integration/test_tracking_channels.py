"""One bad tracking channel must not cost the other (SOP: the ticket by e-mail and/or SMS): a
landline or a toll-free 0800 number as mobile is refused on its own, with the reason in the
answer; the complaint is saved and the e-mail kept — the event on the real Kafka carries the
e-mail only. Both channels bad: the complaint is still saved, without a contact."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.intake.tests.support import auth, complaint
from tests.harness.state import read_to_end

pytestmark = pytest.mark.integration

EMAIL = "ayu@example.co.id"


def refused_sms(answer_contact: dict[str, Any], code: str, name: str) -> None:
    assert answer_contact["channels"] == ["email"]
    [refused] = answer_contact["refused"]
    assert (refused["channel"], refused["name"], refused["code"]) == ("sms", name, code)
    assert "SMS" in refused["messages"]["id"] and "SMS" in refused["messages"]["en"]
    assert answer_contact["message"]["id"].startswith("Nomor tiket akan dikirim lewat e-mail.")
    assert answer_contact["message"]["en"].startswith("The ticket number will be sent by e-mail.")


@pytest.mark.parametrize(
    ("mobile", "code"), [("021 555 1234", "mobile_landline"), ("0800 1234 567", "mobile_toll_free")]
)
async def test_a_complaint_keeps_its_email_when_the_mobile_cannot_take_sms(
    client, settings, mobile: str, code: str
) -> None:
    body = complaint(tracking_contact={"email": EMAIL, "mobile": mobile})
    answer = await client.post("/v1/complaints", json=body, headers=auth())
    assert answer.status_code == 201, answer.text  # saved, with its register number
    saved = answer.json()
    assert saved["status"] == "registered" and saved["register_number"]
    refused_sms(saved["tracking_contact"], code, "tracking_contact.mobile")
    if code == "mobile_toll_free":
        assert "bebas pulsa" in saved["tracking_contact"]["refused"][0]["messages"]["id"]
        assert "toll-free" in saved["tracking_contact"]["refused"][0]["messages"]["en"]

    # Answered after Kafka's ack: the topic read to its end holds the event.
    [record] = await read_to_end(settings.kafka_bootstrap, settings.topic_complaint_received)
    event = json.loads(record.value)
    assert event["complaint_id"] == saved["complaint_id"]
    assert event["tracking_contact"]["email"] == EMAIL
    assert event["tracking_contact"].get("mobile") is None  # the refused number never travels


async def test_a_complaint_with_both_channels_bad_is_saved_without_a_contact(
    client, settings
) -> None:
    body = complaint(tracking_contact={"email": "ayu@", "mobile": "021 555 1234"})
    answer = await client.post("/v1/complaints", json=body, headers=auth())
    assert answer.status_code == 201, answer.text
    contact = answer.json()["tracking_contact"]
    assert contact["channels"] == []
    assert [(r["channel"], r["code"]) for r in contact["refused"]] == [
        ("email", "email_invalid"),
        ("sms", "mobile_landline"),
    ]
    assert "tidak disimpan" in contact["message"]["id"]
    assert "not saved" in contact["message"]["en"]
    [record] = await read_to_end(settings.kafka_bootstrap, settings.topic_complaint_received)
    assert json.loads(record.value)["tracking_contact"] is None


async def test_a_complaint_without_a_contact_has_no_contact_answer(client) -> None:
    answer = await client.post("/v1/complaints", json=complaint(), headers=auth())
    assert answer.status_code == 201
    assert answer.json()["tracking_contact"] is None


async def test_put_keeps_the_email_and_refuses_the_landline(client, settings) -> None:
    created = await client.post("/v1/complaints", json=complaint(), headers=auth())
    cid = created.json()["complaint_id"]
    url = f"/v1/complaints/{cid}/tracking-contact"
    answer = await client.put(
        url, json={"email": EMAIL, "mobile": "(021) 555-1234"}, headers=auth()
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "published"
    refused_sms(answer.json()["tracking_contact"], "mobile_landline", "mobile")

    [record] = await read_to_end(settings.kafka_bootstrap, settings.topic_contact_provided)
    event = json.loads(record.value)
    assert event["complaint_id"] == cid
    assert event["contact"] == {"email": EMAIL, "mobile": None, "language": "id"}

    # Both channels refused: nothing to save, nothing published, both named.
    both = await client.put(url, json={"email": "x@", "mobile": "0800 1234 567"}, headers=auth())
    assert both.status_code == 422
    assert {(p["name"], p["code"]) for p in both.json()["invalid-params"]} == {
        ("email", "email_invalid"),
        ("mobile", "mobile_toll_free"),
    }
    assert len(await read_to_end(settings.kafka_bootstrap, settings.topic_contact_provided)) == 1


async def test_a_replayed_answer_still_names_the_refused_channel(client) -> None:
    created = await client.post("/v1/complaints", json=complaint(), headers=auth())
    url = f"/v1/complaints/{created.json()['complaint_id']}/tracking-contact"
    headers = {**auth(), "Idempotency-Key": "contact-retry-1"}
    body = {"email": EMAIL, "mobile": "0800 1234 567"}
    first = await client.put(url, json=body, headers=headers)
    again = await client.put(url, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["tracking_contact"] == first.json()["tracking_contact"]
    assert first.json()["tracking_contact"]["refused"][0]["code"] == "mobile_toll_free"
