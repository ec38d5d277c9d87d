"""Whatever intake accepts must be registrable: the registry dead-letters a ComplaintReceived for
an office that is not configured, so intake refuses it at the edge (and every amendment or
status request for such an office) — with a clear 403, both languages, nothing published. The
same for an officer id no event can carry (it was a 500)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from services.intake.tests.support import (
    RegistryDouble,
    auth,
    complaint,
    running_intake,
)
from sipuma.intake import outbound
from sipuma.intake.models import ComplaintIn
from sipuma.intake.publisher import record_of
from tests.harness.state import eventually, read_to_end

pytestmark = pytest.mark.integration

NOWHERE = "KPPBC-NOWHERE"  # a well-formed code that is not in the offices file
AMENDMENTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "supplements", {"kind": "addition", "text": "Ada saksi lain di lokasi."}),
    ("POST", "reported-employees", {"employees": [{"name": "Budi"}]}),
    ("PUT", "tracking-contact", {"email": "ayu@example.co.id"}),
    ("POST", "register-number-communication", {"outcome": "told", "method": "in_person"}),
    ("GET", "status", None),
]


def assert_office_refused(answer, office: str = NOWHERE) -> None:
    assert answer.status_code == 403, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["code"] == "office_not_configured"
    assert office in problem["messages"]["id"] and "tidak terdaftar" in problem["messages"]["id"]
    assert office in problem["messages"]["en"] and "not configured" in problem["messages"]["en"]


async def test_a_complaint_for_an_unconfigured_office_is_refused_not_lost(
    settings, registry: RegistryDouble
) -> None:
    async with running_intake(settings) as client, registry.running():
        # No office_code in the body: the office comes from the token (it used to answer 202).
        answer = await client.post("/v1/complaints", json=complaint(), headers=auth(NOWHERE))
        assert_office_refused(answer)
        with_key = await client.post(
            "/v1/complaints",
            json=complaint(),
            headers={**auth(NOWHERE), "Idempotency-Key": "unconfigured-1"},
        )
        assert_office_refused(with_key)
        # Given in the body, the same office is a field error naming office_code.
        named = await client.post(
            "/v1/complaints", json=complaint(office_code=NOWHERE), headers=auth(NOWHERE)
        )
        assert named.status_code == 422
        assert [(p["name"], p["code"]) for p in named.json()["invalid-params"]] == [
            ("office_code", "unknown_office")
        ]
    assert await read_to_end(settings.kafka_bootstrap, settings.topic_complaint_received) == []


async def test_every_endpoint_refuses_an_unconfigured_office(settings) -> None:
    """A complaint of such an office, recorded by an older intake, is known to the status book:
    no amendment for it may be accepted either (the registry has no complaint to attach it to)."""
    async with running_intake(settings) as client:
        cid = str(uuid.uuid4())
        body = complaint()
        body["complainant"]["phone"] = "+6281234567890"  # as intake stores it
        event = outbound.complaint_received(
            cid,
            NOWHERE,
            "198001",
            ComplaintIn.model_validate(body),
            "corr-old-intake",
            datetime.now(UTC),
        )
        old = record_of(settings.topic_complaint_received, event)
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(
                old.topic, old.value, key=old.key, headers=list(old.headers)
            )
        finally:
            await producer.stop()
        book = client.runtime.book
        await eventually("intake's book knows the complaint", lambda: book.get(cid))

        for method, path, amendment in AMENDMENTS:
            answer = await client.request(
                method, f"/v1/complaints/{cid}/{path}", json=amendment, headers=auth(NOWHERE)
            )
            assert_office_refused(answer)
            keyed = await client.request(
                method,
                f"/v1/complaints/{cid}/{path}",
                json=amendment,
                headers={**auth(NOWHERE), "Idempotency-Key": f"k-{path}"},
            )
            assert_office_refused(keyed)

    for topic in (
        settings.topic_complaint_supplemented,
        settings.topic_contact_provided,
        settings.topic_register_number_communicated,
    ):
        assert await read_to_end(settings.kafka_bootstrap, topic) == [], topic


async def test_an_officer_id_no_event_can_carry_is_refused_not_a_500(settings) -> None:
    async with running_intake(settings) as client:
        answer = await client.post(
            "/v1/complaints", json=complaint(), headers=auth(officer="Budi Santoso")
        )
        assert answer.status_code == 403, answer.text
        problem = answer.json()
        assert problem["code"] == "officer_id_invalid"
        assert problem["messages"]["id"] and problem["messages"]["en"]
        too_long = await client.post(
            "/v1/complaints", json=complaint(), headers=auth(officer="1" * 65)
        )
        assert too_long.status_code == 403
    assert await read_to_end(settings.kafka_bootstrap, settings.topic_complaint_received) == []
