"""SOP steps 5–8 on the real Kafka: each amendment is an event with CloudEvents headers, keyed by
the complaint id, carrying the request's correlation id."""

from __future__ import annotations

import json

import pytest

from services.intake.tests.support import OFFICE, OTHER_OFFICE, auth, complaint
from tests.harness.state import read_to_end

pytestmark = pytest.mark.integration


def _headers(record) -> dict[str, str]:
    return {k: v.decode() for k, v in record.headers}


async def test_amendments_are_published_with_cloudevents_headers(client, settings) -> None:
    created = await client.post(
        "/v1/complaints", json=complaint(), headers={**auth(), "X-Correlation-ID": "corr-abc.1"}
    )
    assert created.status_code == 201
    cid = created.json()["complaint_id"]
    assert created.headers["x-correlation-id"] == "corr-abc.1"

    calls = [
        ("POST", "supplements", {"kind": "addition", "text": "Ada saksi lain: sopir travel."}),
        (
            "POST",
            "supplements",
            {
                "kind": "correction",
                "text": "Kejadian pukul 14.00, bukan 10.00.",
                "corrects": "when",
                "reason": "Pengadu salah menyebut jam.",
            },
        ),
        (
            "POST",
            "reported-employees",
            {
                "employees": [
                    {
                        "name": "Agus Salim",
                        "nip": "198001012005011001",
                        "position": "Pemeriksa",
                        "unit": "P2",
                    }
                ]
            },
        ),
        ("PUT", "tracking-contact", {"email": "Ayu@Example.co.id", "mobile": "0812-3456-7890"}),
        ("POST", "register-number-communication", {"outcome": "told", "method": "in_person"}),
        (
            "POST",
            "register-number-communication",
            {"outcome": "unreachable", "reason": "not_answering", "note": "Dua kali ditelepon."},
        ),
    ]
    answers = []
    for method, path, body in calls:
        answer = await client.request(
            method,
            f"/v1/complaints/{cid}/{path}",
            json=body,
            headers={**auth(), "X-Correlation-ID": "corr-abc.1"},
        )
        assert answer.status_code == 201, (path, answer.text)
        assert answer.json()["status"] == "published"
        answers.append(answer.json())

    # Every answer said "published" (Kafka acknowledged): the topics read to their ends hold all.
    kafka = settings.kafka_bootstrap
    supplemented = await read_to_end(kafka, settings.topic_complaint_supplemented)
    contact = await read_to_end(kafka, settings.topic_contact_provided)
    told = await read_to_end(kafka, settings.topic_register_number_communicated)
    assert (len(supplemented), len(contact), len(told)) == (3, 1, 2)

    for record in [*supplemented, *contact, *told]:
        headers = _headers(record)
        assert headers["ce_specversion"] == "1.0"
        assert headers["ce_source"] == "/sipuma/intake"
        assert headers["ce_subject"] == cid
        assert headers["content-type"] == "application/json"
        assert headers["correlation_id"] == "corr-abc.1"
        assert record.key.decode() == cid
        event = json.loads(record.value)
        assert headers["ce_id"] == event["event_id"]
        assert event["office_code"] == OFFICE and event["complaint_id"] == cid

    kinds = sorted(json.loads(r.value)["kind"] for r in supplemented)
    assert kinds == ["addition", "correction", "reported_employee_added"]
    correction = next(json.loads(r.value) for r in supplemented if b'"correction"' in r.value)
    assert (
        correction["reason"] == "Pengadu salah menyebut jam." and correction["corrects"] == "when"
    )
    assert {_headers(r)["ce_type"] for r in supplemented} == {"sipuma.complaint.supplemented.v1"}

    given = json.loads(contact[0].value)["contact"]
    assert given == {"email": "Ayu@example.co.id", "mobile": "+6281234567890", "language": "id"}
    outcomes = sorted(json.loads(r.value)["outcome"] for r in told)
    assert outcomes == ["told", "unreachable"]
    unreachable = next(
        json.loads(r.value) for r in told if json.loads(r.value)["outcome"] == "unreachable"
    )
    assert unreachable["note"] == "Dua kali ditelepon."
    assert unreachable["unreachable_reason"] == "not_answering"


async def test_staff_find_a_complaint_by_register_number_and_a_correction_revokes(
    client, settings
) -> None:
    """Issue 20: staff use register numbers (any case), not UUIDs; a corrected tracking
    contact's answer says the earlier tickets are revoked."""
    created = await client.post("/v1/complaints", json=complaint(), headers=auth())
    assert created.status_code == 201
    number, cid = created.json()["register_number"], created.json()["complaint_id"]
    found = await client.get(f"/v1/complaints/by-number/{number.lower()}", headers=auth())
    assert found.status_code == 200 and found.json()["complaint_id"] == cid
    elsewhere = await client.get(
        f"/v1/complaints/by-number/{number}", headers=auth(office=OTHER_OFFICE)
    )
    assert elsewhere.status_code in (403, 404)
    unknown = await client.get("/v1/complaints/by-number/PGD/X/2026/999999", headers=auth())
    assert unknown.status_code == 404
    corrected = await client.put(
        f"/v1/complaints/{cid}/tracking-contact",
        json={"email": "benar@example.org"},
        headers=auth(),
    )
    contact = corrected.json()["tracking_contact"]
    assert contact["revokes_earlier_tickets"] is True and "dicabut" in contact["message"]["id"]
