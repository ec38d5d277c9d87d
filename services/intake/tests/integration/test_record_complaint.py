"""Recording a complaint on the real Kafka, with a registry double on the real topics."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from services.intake.tests.support import OFFICE, RegistryDouble, auth, complaint, running_intake
from sipuma.shared import events as ev
from tests.harness.state import eventually, read_to_end

pytestmark = pytest.mark.integration


def double_for(settings) -> RegistryDouble:
    return RegistryDouble(
        settings.kafka_bootstrap,
        settings.topic_complaint_received,
        settings.topic_complaint_registered,
    )


async def test_201_with_register_number(settings) -> None:
    async with running_intake(settings) as client, double_for(settings).running() as registry:
        answer = await client.post("/v1/complaints", json=complaint(), headers=auth())
        assert answer.status_code == 201, answer.text
        body = answer.json()
        assert body["status"] == "registered"
        assert body["register_number"] == registry.numbers[body["complaint_id"]]
        assert "Nomor register" in body["message"]["id"]
        assert answer.headers["location"] == body["status_url"]

        status = await client.get(body["status_url"], headers=auth())
        assert status.status_code == 200
        assert status.json()["register_number"] == body["register_number"]

    # The 201 came after Kafka's ack: the record is below the topic's high-water mark.
    records = await read_to_end(settings.kafka_bootstrap, settings.topic_complaint_received)
    assert len(records) == 1
    record = records[0]
    headers = dict(record.headers)
    assert headers["ce_type"] == b"sipuma.complaint.received.v1"
    assert headers["ce_subject"].decode() == body["complaint_id"]
    assert record.key.decode() == body["complaint_id"]
    event = json.loads(record.value)
    assert event["complainant"]["phone"] == "+6281234567890"  # stored as E.164
    assert event["office_code"] == OFFICE


async def test_201_carries_the_possible_duplicate_hint(settings) -> None:
    """The registry's hint (restricted topic, right after the number) rides on the answer; a
    number at another office is counted, not named, unless the caller is a supervisor."""
    now = datetime.now(UTC)
    here = ev.DuplicateHint(office_code=OFFICE, received_at=now, register_number="PGD/A/2026/1")
    there = ev.DuplicateHint(
        office_code="KPPBC-TMP-NGURAHRAI", received_at=now, register_number="PGD/B/2026/7"
    )
    async with running_intake(settings) as client, double_for(settings).running() as registry:
        alone = await client.post("/v1/complaints", json=complaint(), headers=auth())
        assert alone.status_code == 201, alone.text
        assert alone.json()["possible_duplicates"] == []

        registry.hints["*"] = [here, there]
        answer = await client.post("/v1/complaints", json=complaint(), headers=auth())
        assert answer.status_code == 201, answer.text
        hints = answer.json()["possible_duplicates"]
        assert [(h["register_number"], h["visible"]) for h in hints] == [
            ("PGD/A/2026/1", True),
            (None, False),
        ]
        assert hints[1]["office_code"] == "KPPBC-TMP-NGURAHRAI"


async def test_202_then_status_url_shows_the_number(settings) -> None:
    settings = settings.model_copy(update={"register_wait_s": 0.3})
    async with running_intake(settings) as client:
        double = double_for(settings)
        double.pause()
        async with double.running():
            answer = await client.post("/v1/complaints", json=complaint(), headers=auth())
            assert answer.status_code == 202, answer.text
            body = answer.json()
            assert body["status"] == "received"
            assert body["register_number"] is None

            pending = await client.get(body["status_url"], headers=auth())
            assert pending.status_code == 200
            assert pending.json()["status"] == "received"

            double.resume()

            async def registered() -> bool:
                status = await client.get(body["status_url"], headers=auth())
                return bool(status.json()["status"] == "registered")

            await eventually("the status URL shows the register number", registered)
            status = (await client.get(body["status_url"], headers=auth())).json()
            assert status["register_number"] == double.numbers[body["complaint_id"]]
