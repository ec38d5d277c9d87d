"""`sipuma-registry` as a process on the real Kafka and store: a schema-invalid event goes to the
dead-letter topic and the consumer goes on; a redelivered event changes nothing; the outbox
events reach their topics with CloudEvents headers; readiness and graceful SIGTERM."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from registry_testkit.events import OFFICES, contact_provided, publish, received
from registry_testkit.process import RegistryProcess, registry_env

from sipuma.registry.store import Store
from sipuma.shared import payloads as p
from tests.harness.endpoints import Endpoints

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


async def _read(bootstrap: str, topic: str, expect: int, timeout: float = 60) -> list[Any]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    found: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while len(found) < expect and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            found += [r for rs in batch.values() for r in rs]
    finally:
        await consumer.stop()
    return found


async def test_dead_letter_dedupe_outbox_and_graceful_stop(
    endpoints: Endpoints, unique_name, tmp_path: Path
) -> None:
    prefix = unique_name("reg") + "."
    database = unique_name("reg").replace("-", "_")
    registry = RegistryProcess(
        registry_env(endpoints, prefix, database, SIPUMA_LOG_LEVEL="INFO"), tmp_path / "reg.log"
    ).start()
    registry.wait_ready()
    producer = AIOKafkaProducer(
        bootstrap_servers=endpoints.kafka_bootstrap, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        good = received(OFFICES[0], contact=p.TrackingContact(email="pengadu@example.org"))
        poison = received(OFFICES[0])
        body = json.loads(poison.model_dump_json())
        del body["elements"]  # schema-invalid: a required field is missing
        await publish(producer, poison, prefix, value=json.dumps(body).encode())
        unknown_office = received(OFFICES[0]).model_copy(update={"office_code": "KPPBC-NOWHERE"})
        await publish(producer, unknown_office, prefix)
        await publish(producer, good, prefix)
        await publish(producer, good, prefix)  # redelivered / published twice
        later = contact_provided(good.office_code, good.complaint_id)
        await publish(producer, later, prefix)
        await publish(producer, later, prefix)

        dead = await _read(
            endpoints.kafka_bootstrap, prefix + "sipuma.dead-letter.registry.v1", expect=2
        )
        reasons = sorted(dict(r.headers)["x-sipuma-dead-letter-reason"].decode() for r in dead)
        assert reasons == ["invalid_payload", "unknown_office"]
        detail = [dict(r.headers)["x-sipuma-dead-letter-detail"].decode() for r in dead]
        assert any("elements" in d for d in detail)

        registered = await _read(
            endpoints.kafka_bootstrap, prefix + "sipuma.complaint.registered.v1", expect=1
        )
        assert len(registered) == 1  # the consumer went on past the poison; one number only
        event = json.loads(registered[0].value)
        assert event["register_number"] == f"PGD/{OFFICES[0]}/2026/000001"
        headers = {k: v.decode() for k, v in registered[0].headers}
        assert headers["ce_type"] == "sipuma.complaint.registered.v1"
        assert headers["ce_id"] == event["event_id"]
        assert headers["ce_subject"] == str(good.complaint_id)
        assert registered[0].key == str(good.complaint_id).encode()
        assert "Siti" not in registered[0].value.decode()  # analytics topic: no personal data

        issued = await _read(endpoints.kafka_bootstrap, prefix + "sipuma.ticket.issued.v1", 2)
        assert len(issued) == 2  # one per contact; the repeated contact event adds nothing
        await asyncio.sleep(1)
        tickets_topic = prefix + "sipuma.ticket.issued.v1"
        assert len(await _read(endpoints.kafka_bootstrap, tickets_topic, 3, 3)) == 2

        ready = httpx.get(f"{registry.url}/readyz").json()
        assert ready == {"status": "ready", "checks": {"kafka": "ok", "store": "ok"}}
        assert (
            httpx.get(f"{registry.url}/openapi.json").json()["info"]["title"] == "SIPUMA Registry"
        )
    finally:
        await producer.stop()
        code = registry.terminate()
        store = Store.connect(endpoints.mongo_uri, database)
        await store.client.drop_database(database)
        await store.close()
    log = registry.log.read_text()
    assert code in (0, -15) and "Application shutdown complete" in log
    for secret in ("Siti", "pengadu@example.org", "Merdeka"):
        assert secret not in log  # personal data never reaches the logs
